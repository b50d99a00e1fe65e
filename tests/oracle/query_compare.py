"""Comparing query results of datajoint and LabBook: library-independent row values."""

from __future__ import annotations

import datetime
import decimal
import warnings

import numpy as np


def canonical(value):
    """A hashable, library-independent form of a fetched value."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (np.generic,)):
        return canonical(value.item())
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, decimal.Decimal):
        return ("decimal", str(value.normalize()) if value == value.to_integral() else str(value))
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, (datetime.date, str, int, bytes, type(None))):
        return value
    return repr(value)


def rows_of(expr) -> list[tuple]:
    """The rows of ``expr`` (either library) as sorted ``(name, canonical value)`` tuples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [tuple(sorted((k, canonical(v)) for k, v in row.items())) for row in expr.to_dicts()]


def evaluate_expression(build):
    """``("ok", names, primary key, rows)`` for the expression ``build()`` makes, or
    ``("error", exception)`` when building or running it raises."""
    try:
        expr = build()
        if isinstance(expr, type):
            expr = expr()
        return "ok", list(expr.heading.names), list(expr.primary_key), rows_of(expr)
    except Exception as exc:
        return "error", exc
