"""Keyset pagination of any query expression: the next page after the last row seen, in an
ordering that ends with the primary key — no OFFSET, no COUNT (spec §12.9)."""

from __future__ import annotations

from .errors import QueryError
from .fetch import to_dicts
from .order_by import order_item, total_order
from .sql.fragments import as_double
from .sql.keyset import keyset_after
from .types import SINGLE_PRECISION_TYPES, base_name
from .values import DEFAULT, encode


def ordering(expr, order_by=None) -> list[tuple[str, bool]]:
    """``[(attribute, descending)]``: ``order_by`` (see :mod:`.order_by`) followed by the
    primary-key attributes not already in it, so the order is total.

    Raises:
        UnknownAttributeError: an attribute not in the heading. QueryError: a bad item.
    """
    return total_order(order_by, expr.heading)


def page(
    expr,
    order_by=None,
    after: dict | None = None,
    limit: int = 100,
    *,
    lazy: bool = False,
    timeout: float | None = None,
) -> tuple[list[dict], dict | None]:
    """One page of ``expr`` in ``order_by`` order (completed by the primary key), starting
    after the row whose ordering values are ``after``.

    Fetches ``limit + 1`` rows to know whether a next page exists; NULLs sort first in
    ascending and last in descending order, as in MySQL/MariaDB. The server sends
    single-precision (``float32``) values rounded to 6 digits, which may not identify the
    stored number, so the cursor holds those attributes exactly (as the double each one
    widens to) and may differ in the last digits from the row shown.

    Args:
        after: the ``cursor`` returned with the previous page (the ordering attributes'
            values of its last row), or None for the first page.
        limit: rows per page (1 or more).
        lazy: stored values as lazy references (see :func:`.fetch.to_dicts`).
        timeout: seconds the query may run (QueryTimeoutError beyond).
    Returns:
        ``(rows, cursor)``; ``cursor`` is None on the last page.
    Raises:
        QueryError: ``after`` lacks an ordering attribute, or limit < 1.
        InvalidValueError: a value of ``after`` does not fit its attribute.
    """
    if not isinstance(limit, int) or limit < 1:
        raise QueryError(f"page limit must be a positive integer, not {limit!r}")
    order = ordering(expr, order_by)
    if after is not None:
        missing = [name for name, _ in order if name not in after]
        if missing:
            raise QueryError(f"page cursor lacks `{missing[0]}`", attribute=missing[0])
        heading = expr.heading
        values = []
        for name, _ in order:
            attr = heading[name]
            value = after[name] if attr.type == "expression" else encode(attr, after[name])
            values.append(None if value is DEFAULT else value)
        expr = expr & keyset_after(order, values, heading)
    exact = _exact_names(expr.heading, order)
    if exact:
        expr = expr.proj(..., **{hidden: as_double(name) for name, hidden in exact.items()})
    rows = to_dicts(
        expr,
        order_by=[order_item(n, d) for n, d in order],
        limit=limit + 1,
        lazy=lazy,
        timeout=timeout,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = {name: rows[-1][exact.get(name, name)] for name, _ in order} if more and rows else None
    for row in rows if exact else ():
        for hidden in exact.values():
            del row[hidden]
    return rows, cursor


def _exact_names(heading, order) -> dict[str, str]:
    """``{float32 ordering attribute: name of a hidden attribute holding it as a double}``."""
    names = [n for n, _ in order if base_name(heading[n].type) in SINGLE_PRECISION_TYPES]
    return {name: _unused(heading, f"labbook_exact_{i}") for i, name in enumerate(names)}


def _unused(heading, name: str) -> str:
    while name in heading:
        name += "_"
    return name
