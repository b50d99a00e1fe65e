"""1-D numeric arrays (waveforms, traces) drawn as small SVG line charts.

Long arrays are reduced to at most two points per horizontal pixel (the minimum and the
maximum of each bucket, in their order), so a spike survives the reduction and the SVG stays
small whatever the array's length. NaN samples break the line. The SVG is self-contained
(stroke set by attributes, ``currentColor``) and carries its own ``<title>``, so it can be
inlined in a page under a strict Content-Security-Policy.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

#: Default size of a chart in a table cell, CSS pixels (width, height).
CELL_CHART = (120, 28)
#: Default size of a chart on a row page, CSS pixels (width, height).
ROW_CHART = (480, 120)


def is_trace(value) -> bool:
    """True for a numeric (bool excluded) 1-D ndarray of at least 2 samples, or a 2-D one with
    a single row or column (a trace stored as 1×n or n×1)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        return False
    return value.ndim in (1, 2) and value.size >= 2 and max(value.shape) == value.size


def _reduced(values: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: sample positions and values, at most ``2 * buckets`` of them (min and max
    of each bucket, in sample order; an all-NaN bucket gives one NaN at its start).
    Vectorised: buckets (all of ``n // buckets`` or one more samples) are laid out as the
    rows of a padded matrix, so the cost does not grow with a Python loop per bucket."""
    n = values.size
    if n <= 2 * buckets:
        return np.arange(n, dtype=float), values.astype(float)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    starts, stops = edges[:-1], edges[1:]
    width = int((stops - starts).max())
    index = starts[:, None] + np.arange(width)[None, :]
    inside = index < stops[:, None]
    chunks = values[np.minimum(index, n - 1)]
    missing = np.isnan(chunks) | ~inside
    lo = np.argmin(np.where(missing, np.inf, chunks), axis=1)
    hi = np.argmax(np.where(missing, -np.inf, chunks), axis=1)
    empty = missing.all(axis=1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    pairs = np.stack([starts + first, starts + second], axis=1).astype(float)
    keep = np.stack([np.ones(buckets, bool), second != first], axis=1)
    keep[empty, 1] = False
    pairs[empty, 0] = starts[empty]
    xs = pairs[keep]
    ys = values[xs.astype(int)].astype(float)
    ys[np.repeat(empty, keep.sum(axis=1))] = np.nan
    return xs, ys


def line_svg(values: np.ndarray, size: tuple[int, int] = CELL_CHART, *, label: str = "") -> str:
    """An inline ``<svg>`` line chart of a 1-D numeric array.

    Args:
        values: numeric array accepted by :func:`is_trace` (flattened); any length.
        size: ``(width, height)`` of the chart in CSS pixels.
        label: text of the chart's ``<title>`` (escaped here), e.g. ``float64 (5000,)``.
    Returns:
        SVG markup (a string; every text in it is escaped).
    Raises:
        ValueError: ``values`` is not a trace (see :func:`is_trace`).
    """
    if not is_trace(values):
        raise ValueError("a line chart needs a numeric 1-D array of at least 2 samples")
    width, height = size
    flat = np.asarray(values, dtype=float).ravel()
    flat = np.where(np.isfinite(flat), flat, np.nan)
    xs, ys = _reduced(flat, max(1, width))
    finite = ys[~np.isnan(ys)]
    title = f"<title>{escape(label)}</title>" if label else ""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f"{f' aria-label={chr(34)}{escape(label)}{chr(34)}' if label else ''}>{title}"
    )
    if finite.size == 0:
        return head + "</svg>"
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo or 1.0
    pad = 1.0
    x_scale = (width - 2 * pad) / max(1.0, flat.size - 1)
    y_scale = (height - 2 * pad) / span
    runs: list[list[str]] = [[]]
    for x, y in zip(xs.tolist(), ys.tolist()):  # Python floats: the same numbers, faster
        if math.isnan(y):
            if runs[-1]:
                runs.append([])
            continue
        px = pad + x * x_scale
        py = height - pad - ((y - lo) * y_scale if hi > lo else (height - 2 * pad) / 2)
        runs[-1].append(f"{px:.1f},{py:.1f}")
    lines = "".join(
        f'<polyline fill="none" stroke="currentColor" stroke-width="1" points="{" ".join(run)}"/>'
        for run in runs
        if len(run) > 1
    )
    dots = "".join(
        f'<circle r="1" fill="currentColor" cx="{run[0].split(",")[0]}" '
        f'cy="{run[0].split(",")[1]}"/>'
        for run in runs
        if len(run) == 1
    )
    return head + lines + dots + "</svg>"
