"""How values look on table pages: short text for scalars and structures, dtype and shape
for arrays, and PNG thumbnails (made with Pillow) for 2-D arrays and RGB(A) images."""

from __future__ import annotations

import datetime
import decimal
import io
import uuid

import numpy as np

#: Largest side of a thumbnail as displayed in a table cell (CSS pixels).
CELL_SIZE = 96
#: Longest text shown in a cell before it is cut.
MAX_TEXT = 120


def is_image(value) -> bool:
    """True for numeric 2-D arrays (at least 2x2) and H x W x 3/4 arrays (RGB, RGBA)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.size == 0:
        return False
    if value.ndim == 2:
        return min(value.shape) >= 2
    return value.ndim == 3 and value.shape[2] in (3, 4) and min(value.shape[:2]) >= 2


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
    if isinstance(value, float) or isinstance(value, np.floating):
        return format(float(value), ".6g")
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, decimal.Decimal, uuid.UUID, int, str, np.integer)):
        return str(value.isoformat() if isinstance(value, datetime.date) else value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return text(value.item())
    if isinstance(value, np.ndarray) and value.size <= 8 and value.ndim == 1 and not value.dtype.names:
        return "[" + ", ".join(text(v) for v in value.tolist()) + "]"
    return summary(value)


def display_size(shape: tuple, box: int = CELL_SIZE) -> tuple[int, int]:
    """(width, height) of an image of array shape ``shape`` scaled to fit ``box``."""
    rows, cols = shape[0], shape[1]
    scale = min(box / cols, box / rows, 1.0 if max(rows, cols) >= box else box / max(rows, cols))
    return max(1, round(cols * scale)), max(1, round(rows * scale))


def cell(value, thumb_url: str | None = None) -> dict:
    """What a table cell shows: ``{"kind", "text", "title", "thumb", "width", "height"}``.

    ``kind`` is ``null``, ``image`` (with ``thumb`` URL and display size), ``blob`` (an
    array or structure described by type and shape) or ``value``.
    """
    if value is None:
        return {"kind": "null", "text": "NULL", "title": ""}
    if is_image(value) and thumb_url:
        width, height = display_size(value.shape)
        return {"kind": "image", "text": summary(value), "title": summary(value),
                "thumb": thumb_url, "width": width, "height": height}
    if isinstance(value, (np.ndarray, dict, list, tuple, bytes, bytearray, memoryview)):
        shown = text(value)
        return {"kind": "blob", "text": shown, "title": summary(value)}
    shown = text(value)
    full = str(value)
    if len(shown) > MAX_TEXT:
        shown = shown[:MAX_TEXT - 1] + "…"
    return {"kind": "value", "text": shown, "title": full if full != shown else ""}


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
    if array.ndim == 3 and 0.0 <= low and high <= 1.0 and array.dtype.kind == "f":
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
        image = image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
