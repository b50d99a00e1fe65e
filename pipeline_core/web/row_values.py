"""How one row's values look on its page (:mod:`.rowpage`): in full, not cut to a cell.

* scalars and text whole; ``NULL`` marked;
* 2-D numeric arrays and RGB(A) images as thumbnails (bigger than in table cells,
  :data:`ROW_IMAGE`), drawn by the thumbnail view from the stored value;
* 1-D numeric arrays (traces) as SVG line charts (:func:`.sparkline.line_svg`,
  :data:`~.sparkline.ROW_CHART`);
* other arrays by dtype and shape (and their values when few);
* structures (dicts, lists, MATLAB structs, JSON values) as an expandable tree;
* in-table blobs too large to fetch with the page, stored blobs and ``<npy@>`` arrays by
  their metadata with a "load" control (the row page with ``?load=<attribute>``), files
  and attachments with their download link.

Each value becomes a dict (``kind`` and what the template ``row.html#value`` shows of it).
"""

from __future__ import annotations

import json

import numpy as np
from django.utils.safestring import mark_safe

from pipeline_core.datamodel.stores import Attachment, BlobRef, NpyRef, ObjectRef
from pipeline_core.services.browse import BlobPreview

from . import previews
from .sparkline import ROW_CHART, is_trace, line_svg

#: Largest side of an image shown on a row page (CSS pixels); drawn at twice that size.
ROW_IMAGE = 320
#: Lines of a structure's tree shown before it is cut.
MAX_TREE_LINES = 400
#: Items of one list, dict or array level shown in a tree before "… N more".
MAX_TREE_ITEMS = 50
#: Nesting levels of a tree shown.
MAX_TREE_DEPTH = 8


def value_view(value, urls: dict[str, str], *, codec: str | None = None) -> dict:
    """What the row page shows of one value.

    Args:
        value: the value as :func:`pipeline_core.services.row_page` fetched it (or as
            :func:`~pipeline_core.services.load_attribute` read it whole).
        urls: ``thumb`` (thumbnail URL with ``?key=``), ``load`` (this row page with
            ``?load=<attribute>``), ``download`` (file download with ``?key=``), each
            present only where the attribute's values may use it.
        codec: the attribute's codec (``hash`` values are bytes, not blobs).
    Returns:
        ``{"kind", "text", ...}``: ``null``; ``text`` (``text``, ``long``: multi-line or
        long text); ``image`` (``thumb``, ``width``, ``height``, ``text``); ``chart``
        (``svg``: safe markup, ``text``); ``array`` (``text``, ``values``); ``structure``
        (``text``, ``tree``); ``described`` (an in-table blob not fetched whole: ``text``,
        ``load``); or the stored kinds of :func:`.previews.stored_cell` (``stored``,
        ``file``, ``folder``, ``npy``, ``image``) with ``load``/``href``.
    """
    if value is None:
        return {"kind": "null", "text": "NULL"}
    if isinstance(value, (BlobRef, Attachment, ObjectRef, NpyRef)):
        shown = previews.stored_cell(
            value,
            urls.get("thumb"),
            load_url=urls.get("load"),
            download_url=urls.get("download"),
            codec=codec,
        )
        if shown["kind"] == "image":
            shown.update(_image_box(value.shape))
        elif isinstance(value, NpyRef):
            shown["load"] = urls.get("load")
        return shown
    if isinstance(value, BlobPreview):
        return _preview_view(value, urls)
    return decoded_view(value, urls)


def _joined(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def _image_box(shape: tuple) -> dict:
    width, height = previews.display_size(shape, ROW_IMAGE)
    return {"width": width, "height": height}


def _preview_view(preview: BlobPreview, urls: dict[str, str]) -> dict:
    """An in-table blob: its whole value when fetched (``decoded``), else its description
    from the header peek, as an image when its shape says so."""
    size = previews.format_size(preview.size)
    if preview.error is not None:
        return {"kind": "array", "text": f"{size}: not a readable DataJoint blob ({preview.error})"}
    if preview.summary is None:
        return {"kind": "array", "text": f"{preview.size} bytes"}
    if preview.decoded:
        shown = decoded_view(preview.value, urls)
        shown["text"] = _joined(shown.get("text", ""), f"{size} stored")
        return shown
    peeked = preview.summary
    described = previews.describe(peeked)
    if (
        peeked.kind == "array"
        and peeked.shape is not None
        and urls.get("thumb")
        and previews.is_image_shape(peeked.shape, peeked.dtype)
    ):
        return {
            "kind": "image",
            "text": _joined(described, f"{size} stored"),
            "thumb": urls["thumb"],
            **_image_box(peeked.shape),
        }
    return {
        "kind": "described",
        "text": _joined(described, f"{size} stored"),
        "load": urls.get("load"),
    }


def decoded_view(value, urls: dict[str, str]) -> dict:
    """A decoded value (scalar, text, array, structure) as the row page shows it."""
    if isinstance(value, np.ndarray) and not value.dtype.names:
        summary = previews.summary(value)
        if previews.is_image(value) and urls.get("thumb"):
            return {
                "kind": "image",
                "text": summary,
                "thumb": urls["thumb"],
                **_image_box(value.shape),
            }
        if is_trace(value):
            return {
                "kind": "chart",
                "svg": mark_safe(line_svg(value, ROW_CHART, label=summary)),
                "text": _joined(summary, _range(value)),
            }
        if value.ndim == 0:
            return {"kind": "text", "text": previews.text(value)}
        values = previews.text(value) if value.size <= 8 and value.ndim == 1 else ""
        return {"kind": "array", "text": summary, "values": "" if values == summary else values}
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        return {"kind": "structure", "text": previews.summary(value), "tree": tree(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"kind": "array", "text": previews.summary(value)}
    text = previews.text(value)
    return {"kind": "text", "text": text, "long": len(text) > 80 or "\n" in text}


def _range(values: np.ndarray) -> str:
    """``min … max`` of a trace's finite values (empty when it has none)."""
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return ""
    return f"{previews.text(finite.min())} … {previews.text(finite.max())}"


def tree(value) -> str:
    """A structure as indented text, one item a line (``key: value``; nested structures
    below their key), arrays by dtype and shape (their values when few), at most
    :data:`MAX_TREE_ITEMS` items per level, :data:`MAX_TREE_DEPTH` levels and
    :data:`MAX_TREE_LINES` lines."""
    lines: list[str] = []
    _tree_lines(value, 0, lines)
    if len(lines) > MAX_TREE_LINES:
        lines = [*lines[:MAX_TREE_LINES], f"… {len(lines) - MAX_TREE_LINES} more lines"]
    return "\n".join(lines)


def _items(value) -> list[tuple[str, object]] | None:
    """``(label, item)`` pairs of a structure, or None for a leaf."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray) and value.dtype.names:
        records = value.ravel()
        if records.size == 1:
            return [(name, records[0][name]) for name in value.dtype.names]
        return [(f"[{i}]", {n: r[n] for n in value.dtype.names}) for i, r in enumerate(records)]
    if isinstance(value, np.void) and value.dtype.names:
        return [(name, value[name]) for name in value.dtype.names]
    return None


def _leaf(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, np.ndarray) and value.dtype.kind == "O" and value.size == 1:
        return _leaf(value.ravel()[0])
    return previews.text(value)


def _summary(value) -> str:
    """:func:`.previews.summary`, a MATLAB struct's record (``numpy.void``) called struct."""
    return "struct" if isinstance(value, np.void) else previews.summary(value)


def _tree_lines(value, depth: int, lines: list[str]) -> None:
    items = _items(value)
    indent = "  " * depth
    if items is None:
        lines.append(indent + _leaf(value))
        return
    for label, item in items[:MAX_TREE_ITEMS]:
        nested = _items(item)
        if nested is None:
            lines.append(f"{indent}{label}: {_leaf(item)}")
        elif depth + 1 >= MAX_TREE_DEPTH:
            lines.append(f"{indent}{label}: {_summary(item)} …")
        else:
            lines.append(f"{indent}{label}: {_summary(item)}")
            _tree_lines(item, depth + 1, lines)
        if len(lines) > MAX_TREE_LINES:
            return
    if len(items) > MAX_TREE_ITEMS:
        lines.append(f"{indent}… {len(items) - MAX_TREE_ITEMS} more")
