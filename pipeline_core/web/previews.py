"""How values look on table pages: short text for scalars and structures, dtype and shape
for arrays, and PNG thumbnails (made with Pillow) for 2-D arrays and RGB(A) images.

Stored values (fetched lazily) are shown from their metadata only, never read here:
a stored blob as ``stored blob · 1.2 MB`` with a "load" control, an attachment or stored
file as its name and size linked to its download, a folder as ``folder · N files · size``
and an ``<npy@>`` array as ``int16 2×3 · npy`` (with a thumbnail when 2-D numeric).

In-table blobs arrive as :class:`~pipeline_core.services.browse.BlobPreview` (their
header peek and length, see :func:`preview_cell`): ``float64 512×512 · 2.1 MB``, with a
thumbnail (made on demand from the whole value) when the dtype and shape say image.

1-D numeric arrays of more than :data:`SHORT_VECTOR` samples (waveforms, traces) are drawn
as small line charts (:func:`.sparkline.line_svg`): inline when the page holds the value
(a small in-table blob), through the thumbnail route for ``<npy@>`` arrays (an SVG), and
behind a "plot" load control for larger in-table blobs. Dicts and lists (decoded blobs,
json attributes) show their summary, expandable to their contents (:func:`structure_text`).
"""

from __future__ import annotations

import datetime
import decimal
import io
import json
import posixpath
import uuid

import numpy as np

from pipeline_core.datamodel.codecs.blob import BlobSummary
from pipeline_core.datamodel.stores import Attachment, BlobRef, NpyRef, ObjectRef
from pipeline_core.services.browse import BlobPreview

from .sparkline import CELL_CHART, is_trace, line_svg

#: Largest side of a thumbnail as displayed in a table cell (CSS pixels).
CELL_SIZE = 96
#: Longest text shown in a cell before it is cut.
MAX_TEXT = 120
#: 1-D arrays of at most this many samples are shown as their values (``[1, 2, 3]``), longer
#: ones as line charts.
SHORT_VECTOR = 8
#: Longest text of an expanded structure (dict, list) in a cell, in characters.
MAX_STRUCTURE = 4000
#: Deepest nesting of an expanded structure shown (deeper levels show as ``…``).
MAX_DEPTH = 12


def is_chart(value) -> bool:
    """A value drawn as a line chart: a 1-D numeric array (see :func:`.sparkline.is_trace`)
    of more than :data:`SHORT_VECTOR` samples."""
    return is_trace(value) and value.size > SHORT_VECTOR


def is_chart_shape(shape, dtype) -> bool:
    """:func:`is_chart` from an array's shape and dtype alone (a header peek, ``<npy@>``
    metadata)."""
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        return False
    if kind not in "iuf" or not shape or len(shape) > 2:
        return False
    size = int(np.prod(shape))
    return max(shape) == size and size > SHORT_VECTOR


def chart_cell(value: np.ndarray, text: str, title: str = "") -> dict:
    """The cell of a value drawn inline as a line chart (kind ``trace``, ``svg``: escaped
    markup made by :func:`.sparkline.line_svg`)."""
    return {
        "kind": "trace",
        "svg": line_svg(value, CELL_CHART, label=summary(value)),
        "text": text,
        "title": title or summary(value),
    }


def structure_text(value, limit: int = MAX_STRUCTURE) -> str:
    """The contents of a dict or list (a decoded blob, a json value) as indented JSON-like
    text: arrays of at most 16 items as lists, larger ones as their summary, bytes as their
    length, other values as :func:`text`; cut at ``limit`` characters (``…``)."""

    def plain(item, depth: int):
        if depth > MAX_DEPTH:
            return "…"
        if isinstance(item, dict):
            return {str(k): plain(v, depth + 1) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [plain(v, depth + 1) for v in item]
        if isinstance(item, np.ndarray):
            if item.dtype.names or item.size > 16 or item.dtype.kind not in "biufUS":
                return summary(item)
            return plain(item.tolist(), depth) if item.ndim else plain(item.item(), depth)
        if isinstance(item, np.generic):
            item = item.item()
        if isinstance(item, float):
            return item if np.isfinite(item) else str(item)
        if item is None or isinstance(item, (str, int, bool)):
            return item
        if isinstance(item, (bytes, bytearray, memoryview)):
            return f"{len(item)} bytes"
        return text(item)

    shown = json.dumps(plain(value, 0), indent=1, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def structure_cell(value, text: str, title: str = "") -> dict:
    """The cell of a dict or list: kind ``tree``, its summary expandable to
    :func:`structure_text` (``detail``)."""
    return {
        "kind": "tree",
        "text": text,
        "title": title or summary(value),
        "detail": structure_text(value),
    }


def is_image(value) -> bool:
    """True for numeric 2-D arrays (at least 2x2) and H x W x 3/4 arrays (RGB, RGBA)."""
    return isinstance(value, np.ndarray) and is_image_shape(value.shape, value.dtype)


def is_image_shape(shape: tuple, dtype) -> bool:
    """:func:`is_image` from an array's shape and dtype alone (e.g. an ``<npy@>`` array's
    metadata or a blob's header peek, without reading it); False for a dtype name numpy
    does not know."""
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        return False
    if kind not in "biuf" or not shape or 0 in shape:
        return False
    if len(shape) == 2:
        return min(shape) >= 2
    return len(shape) == 3 and shape[2] in (3, 4) and min(shape[:2]) >= 2


def format_size(size: int | None) -> str:
    """A byte count as people read it, in decimal units: ``512 B``, ``46 kB``, ``1.2 MB``
    (empty for None)."""
    if size is None:
        return ""
    if size < 1000:
        return f"{int(size)} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        text = f"{value:.1f}" if round(value, 1) < 10 else f"{value:.0f}"
        if float(text) < 1000 or unit == "TB":  # rounded first: 999,600 B is 1.0 MB
            return f"{text} {unit}"


def _shape(shape: tuple) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def summary(value) -> str:
    """One-line description of a decoded value: ``uint8 512×512``, ``dict (3 keys)``."""
    if isinstance(value, np.ndarray):
        kind = "struct" if value.dtype.names else value.dtype.name
        return f"{kind} {_shape(value.shape)}"
    if isinstance(value, dict):
        return f"dict ({len(value)} keys)"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} ({len(value)} items)"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"{len(value)} bytes"
    return type(value).__name__


def text(value) -> str:
    """Display text of a (non-image) value."""
    if isinstance(value, (float, np.floating)):
        return format(float(value), ".6g")
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, decimal.Decimal, uuid.UUID, int, str, np.integer)):
        return str(value.isoformat() if isinstance(value, datetime.date) else value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return text(value.item())
    if (
        isinstance(value, np.ndarray)
        and value.size <= 8
        and value.ndim == 1
        and not value.dtype.names
    ):
        return "[" + ", ".join(text(v) for v in value.tolist()) + "]"
    return summary(value)


def display_size(shape: tuple, box: int = CELL_SIZE) -> tuple[int, int]:
    """(width, height) of an image of array shape ``shape`` scaled to fit ``box``."""
    rows, cols = shape[0], shape[1]
    scale = min(box / cols, box / rows, 1.0 if max(rows, cols) >= box else box / max(rows, cols))
    return max(1, round(cols * scale)), max(1, round(rows * scale))


def cell(
    value,
    thumb_url: str | None = None,
    *,
    load_url: str | None = None,
    download_url: str | None = None,
    codec: str | None = None,
) -> dict:
    """What a table cell shows: ``{"kind", "text", "title", "alt", "thumb", "width",
    "height", "detail", "href", "load"}`` (keys present as needed).

    ``kind`` is ``null``, ``image`` (with ``thumb`` URL and display size), ``trace`` (a
    1-D array as a line chart: ``svg``, or ``thumb`` for an ``<npy@>`` array, see
    :func:`is_chart`), ``tree`` (a dict or list, ``detail`` its contents), ``blob`` (an
    array described by type and shape; an in-table blob of a page of rows arrives as a
    ``BlobPreview``, see :func:`preview_cell`), ``value``, or for stored values (see
    :func:`stored_cell`) ``stored``, ``file``, ``folder`` or ``npy``. ``thumb_url``
    (``...?key=<token>``; the template adds ``&size=``) is used for images,
    ``load_url`` for blobs read whole on demand, ``download_url`` for attachments and
    object files;
    ``codec`` is the attribute's codec (``hash`` values are called bytes, not blobs).
    """
    if value is None:
        return {"kind": "null", "text": "NULL", "title": ""}
    if isinstance(value, (BlobRef, Attachment, ObjectRef, NpyRef)):
        return stored_cell(
            value, thumb_url, load_url=load_url, download_url=download_url, codec=codec
        )
    if isinstance(value, BlobPreview):
        return preview_cell(value, thumb_url, load_url=load_url)
    if is_chart(value):
        return chart_cell(value, summary(value))
    if isinstance(value, (dict, list, tuple)):
        return structure_cell(value, summary(value))
    if is_image(value) and thumb_url:
        width, height = display_size(value.shape)
        return {
            "kind": "image",
            "text": summary(value),
            "title": summary(value),
            "thumb": thumb_url,
            "width": width,
            "height": height,
        }
    if isinstance(value, (np.ndarray, dict, list, tuple, bytes, bytearray, memoryview)):
        shown = text(value)
        return {"kind": "blob", "text": shown, "title": summary(value)}
    shown = text(value)
    full = str(value)
    if len(shown) > MAX_TEXT:
        shown = shown[: MAX_TEXT - 1] + "…"
    return {"kind": "value", "text": shown, "title": full if full != shown else ""}


def _joined(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def describe(summary: BlobSummary) -> str:
    """One-line description of a blob from its header peek, in the words of
    :func:`summary`: ``float64 512×512``, ``struct 1×1``, ``dict (3 keys)``, ``list (4
    items)``, ``str (12 bytes)``; just the kind when the peek did not reach the details."""
    kind, shape, length = summary.kind, summary.shape, summary.length
    if kind == "array":
        return f"{summary.dtype or 'array'} {_shape(shape)}" if shape is not None else "array"
    if kind in ("recarray", "struct", "cell"):
        return (
            f"{'struct' if kind == 'recarray' else kind} {_shape(shape)}"
            if shape is not None
            else kind
        )
    if kind == "dict":
        return "dict" if length is None else f"dict ({length} keys)"
    if kind in ("tuple", "list", "set"):
        return kind if length is None else f"{kind} ({length} items)"
    if kind in ("str", "bytes"):
        return kind if length is None else f"{kind} ({length} bytes)"
    if kind == "scalar":
        return summary.dtype or "scalar"
    if kind == "sparse":
        return "sparse matrix"
    return {"none": "None", "unknown": "blob"}.get(kind, kind)


def preview_cell(
    preview: BlobPreview, thumb_url: str | None = None, *, load_url: str | None = None
) -> dict:
    """The cell of an in-table blob from its :class:`BlobPreview` (nothing more is read).

    A small blob's 1-D array is drawn as a line chart (``trace``) and its dict or list is
    expandable (``tree``); a larger blob that the peek says is a 1-D array gets ``load``
    (``load_url``, labelled ``plot``: the value read whole and drawn on demand).

    Returns:
        ``image`` (``text`` = ``describe · size``, ``alt`` = the description, ``thumb``,
        ``width``, ``height``) when the dtype and shape are those of :func:`is_image` and
        ``thumb_url`` is given; else ``blob``: ``float64 3×4×5 · 480 B``, a small blob's
        value as :func:`text` shows it (``[1, 2, 3]``, ``3.5``), or ``N bytes`` for raw
        bytes and values that are not DataJoint blobs. ``title`` adds the stored and
        unpacked sizes, compression and struct field names.
    """
    size = format_size(preview.size)
    if preview.error is not None:
        return {
            "kind": "blob",
            "text": f"{preview.size} bytes",
            "title": f"not a readable DataJoint blob ({size}): {preview.error}",
        }
    if preview.summary is None:
        return {"kind": "blob", "text": f"{preview.size} bytes", "title": size}
    peeked = preview.summary
    unpacked = (
        f"{format_size(peeked.packed_size)} unpacked"
        if peeked.compressed and peeked.packed_size
        else ""
    )
    details = _joined(
        f"{size} stored",
        "compressed" if peeked.compressed else "",
        unpacked,
        f"fields {', '.join(peeked.fields)}" if peeked.fields else "",
    )
    if preview.decoded and preview.value is not None:  # a blob of None: "None · 5 B" below
        value = preview.value
        if is_image(value) and thumb_url:
            width, height = display_size(value.shape)
            return {
                "kind": "image",
                "text": _joined(summary(value), size),
                "alt": summary(value),
                "title": _joined(summary(value), details),
                "thumb": thumb_url,
                "width": width,
                "height": height,
            }
        described, title = _joined(summary(value), size), _joined(summary(value), details)
        if is_chart(value):
            return chart_cell(value, described, title)
        if isinstance(value, (dict, list, tuple)):
            return structure_cell(value, described, title)
        shown = text(value)
        if len(shown) > MAX_TEXT:
            shown = shown[: MAX_TEXT - 1] + "…"
        return {
            "kind": "blob",
            "text": _joined(shown, size) if shown == summary(value) else shown,
            "title": _joined(summary(value), details),
        }
    described = describe(peeked)
    if (
        peeked.kind == "array"
        and peeked.shape is not None
        and thumb_url
        and is_image_shape(peeked.shape, peeked.dtype)
    ):
        width, height = display_size(peeked.shape)
        return {
            "kind": "image",
            "text": _joined(described, size),
            "alt": described,
            "title": _joined(described, details),
            "thumb": thumb_url,
            "width": width,
            "height": height,
        }
    cell = {"kind": "blob", "text": _joined(described, size), "title": _joined(described, details)}
    if (
        load_url
        and peeked.kind == "array"
        and peeked.shape is not None
        and is_chart_shape(peeked.shape, peeked.dtype)
    ):
        cell.update(load=load_url, load_label="plot")
    return cell


def stored_cell(
    value,
    thumb_url: str | None = None,
    *,
    load_url: str | None = None,
    download_url: str | None = None,
    codec: str | None = None,
) -> dict:
    """The cell of a stored value made from its metadata alone: no store is read (a lazy
    attachment's name lives in the store, so it is shown only once known).

    Args:
        value: a ``BlobRef``, ``Attachment``, ``ObjectRef`` or ``NpyRef``.
        thumb_url, load_url, download_url, codec: as in :func:`cell`.
    Returns:
        ``stored`` (``text``, ``load``), ``file`` (``text`` = name, ``detail`` = size,
        ``href``), ``folder`` (``text``) or ``npy`` / ``image`` (``text``; ``thumb``,
        ``width``, ``height`` when 2-D numeric and ``thumb_url`` is given) / ``trace``
        (``text``, ``thumb``: the chart drawn by the thumbnail route, for a 1-D array).
    """
    if isinstance(value, BlobRef):
        text = _joined(f"stored {'bytes' if codec == 'hash' else 'blob'}", format_size(value.size))
        title = f"in store {value.store}" + (f": {value.path}" if value.path else "")
        return {"kind": "stored", "text": text, "title": title, "load": load_url}
    if isinstance(value, Attachment):
        # An inline (or loaded) attachment knows its name; a stored one reads it with the
        # contents, so only the size recorded in the column is shown (name + contents).
        name = value.known_name
        return {
            "kind": "file",
            "text": name or "attachment",
            "detail": format_size(value.size),
            "title": f"download {name}" if name else "download the attachment",
            "href": download_url,
        }
    if isinstance(value, ObjectRef):
        title = f"{value.store}:{value.path}" if value.store else value.path
        if value.is_dir:
            count = value.item_count
            files = f"{count} file{'s' if count != 1 else ''}" if count is not None else ""
            return {
                "kind": "folder",
                "text": _joined("folder", files, format_size(value.size)),
                "title": title,
            }
        return {
            "kind": "file",
            "text": posixpath.basename(value.path.rstrip("/")) or value.path,
            "detail": format_size(value.size),
            "title": title,
            "href": download_url,
        }
    text = _joined(f"{value.dtype.name} {_shape(value.shape)}", "npy")
    title = _joined(text, format_size(value.nbytes))
    if thumb_url and is_chart_shape(value.shape, value.dtype):
        return {"kind": "trace", "text": text, "title": title, "thumb": thumb_url}
    if thumb_url and is_image_shape(value.shape, value.dtype):
        width, height = display_size(value.shape)
        return {
            "kind": "image",
            "text": text,
            "title": title,
            "thumb": thumb_url,
            "width": width,
            "height": height,
        }
    return {"kind": "npy", "text": text, "title": title}


def _as_uint8(array: np.ndarray) -> np.ndarray:
    """Scale an array to uint8 (min..max -> 0..255; NaN -> 0); uint8 and RGB floats in
    [0, 1] are kept as they are."""
    if array.dtype == np.uint8:
        return array
    data = array.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(array.shape, dtype=np.uint8)
    low, high = float(data[finite].min()), float(data[finite].max())
    if array.ndim == 3 and low >= 0.0 and high <= 1.0 and array.dtype.kind == "f":
        low, high = 0.0, 1.0
    scaled = (data - low) / (high - low) if high > low else np.zeros_like(data)
    return np.where(finite, np.round(scaled * 255), 0).astype(np.uint8)


def thumbnail_png(array: np.ndarray, size: int) -> bytes:
    """A PNG of ``array`` (see :func:`is_image`) no larger than ``size`` on either side.

    Raises:
        ValueError: the value is not an image.
    """
    from PIL import Image

    if not is_image(array):
        raise ValueError("only 2-D arrays and H×W×3/4 arrays can be shown as images")
    data = _as_uint8(np.ascontiguousarray(array))
    image = Image.fromarray(data)  # L, RGB or RGBA from the shape
    if max(image.size) > size:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    elif max(image.size) < size // 2:  # tiny arrays: enlarge without blurring
        factor = max(1, size // max(image.size))
        image = image.resize(
            (image.width * factor, image.height * factor), Image.Resampling.NEAREST
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
