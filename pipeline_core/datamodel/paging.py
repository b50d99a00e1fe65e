"""Keyset pagination of any query expression: the page after (or before) a row seen, in an
ordering that ends with the primary key — no OFFSET, no COUNT (spec §12.9).

:func:`page` walks forwards; :func:`window` also walks backwards (the rows before a row,
and the last rows) by reversing the ordering, so that every page is one index range."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Window:
    """One page of rows and what lies around it (see :func:`window`).

    Attributes:
        rows: the rows, in the ordering (first to last), as dicts in heading order.
        first: the ordering attributes' values of the first row (exact, see :func:`page`),
            or None when there are no rows: the cursor to pass as ``before`` for the page
            before this one.
        last: the same for the last row: the cursor to pass as ``after`` for the next page.
        more_before: rows come before the first one. Walking forwards from ``after`` this
            is True without being checked (rows up to the cursor were seen).
        more_after: rows come after the last one (True without being checked walking
            backwards from ``before``).
    """

    rows: list[dict]
    first: dict | None
    last: dict | None
    more_before: bool
    more_after: bool


def window(
    expr,
    order_by=None,
    *,
    after: dict | None = None,
    before: dict | None = None,
    from_end: bool = False,
    limit: int = 100,
    lazy: bool = False,
    timeout: float | None = None,
) -> Window:
    """A page of ``expr`` in ``order_by`` order (completed by the primary key): the first
    ``limit`` rows, those right after the row whose ordering values are ``after``, those
    right before the row ``before``, or (``from_end``) the last ``limit`` rows.

    Rows before a row and the last rows are read in the reversed ordering (every direction
    flipped, so NULLs, which sort first ascending and last descending, are mirrored too)
    and given back in the ordering: one index range either way, no OFFSET.

    Args:
        after, before: cursors (:attr:`Window.last` / :attr:`Window.first` of a page);
            at most one of ``after``, ``before`` and ``from_end``.
        limit: rows per page (1 or more).
        lazy: stored values as lazy references (see :func:`.fetch.to_dicts`).
        timeout: seconds the query may run (QueryTimeoutError beyond).
    Returns:
        a :class:`Window`.
    Raises:
        QueryError: a cursor lacks an ordering attribute, more than one of ``after``,
            ``before`` and ``from_end``, or limit < 1.
        InvalidValueError: a cursor value does not fit its attribute.
    """
    if not isinstance(limit, int) or limit < 1:
        raise QueryError(f"page limit must be a positive integer, not {limit!r}")
    if sum((after is not None, before is not None, bool(from_end))) > 1:
        raise QueryError("a page starts after a row, before a row or at the end: one of them")
    order = ordering(expr, order_by)
    backwards = before is not None or bool(from_end)
    walk = [(name, not descending) for name, descending in order] if backwards else order
    cursor = before if before is not None else after
    if cursor is not None:
        expr = expr & _after(expr.heading, walk, cursor)
    exact = _exact_names(expr.heading, order)
    if exact:
        expr = expr.proj(..., **{hidden: as_double(name) for name, hidden in exact.items()})
    rows = to_dicts(
        expr,
        order_by=[order_item(n, d) for n, d in walk],
        limit=limit + 1,
        lazy=lazy,
        timeout=timeout,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    ends = [{n: row[exact.get(n, n)] for n, _ in order} for row in rows[:1] + rows[-1:]]
    for row in rows if exact else ():
        for hidden in exact.values():
            del row[hidden]
    return Window(
        rows=rows,
        first=ends[0] if ends else None,
        last=ends[-1] if ends else None,
        more_before=more if backwards else after is not None,
        more_after=before is not None or (more if not backwards else False),
    )


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
    found = window(expr, order_by, after=after, limit=limit, lazy=lazy, timeout=timeout)
    return found.rows, found.last if found.more_after else None


def _after(heading, order: list[tuple[str, bool]], cursor: dict):
    """The keyset condition: rows strictly after ``cursor`` in ``order``.

    Raises:
        QueryError: the cursor lacks an ordering attribute (named).
        InvalidValueError: a value does not fit its attribute.
    """
    missing = [name for name, _ in order if name not in cursor]
    if missing:
        raise QueryError(f"page cursor lacks `{missing[0]}`", attribute=missing[0])
    values = []
    for name, _ in order:
        attr = heading[name]
        value = cursor[name] if attr.type == "expression" else encode(attr, cursor[name])
        values.append(None if value is DEFAULT else value)
    return keyset_after(order, values, heading)


def _exact_names(heading, order) -> dict[str, str]:
    """``{float32 ordering attribute: name of a hidden attribute holding it as a double}``."""
    names = [n for n, _ in order if base_name(heading[n].type) in SINGLE_PRECISION_TYPES]
    return {name: _unused(heading, f"labbook_exact_{i}") for i, name in enumerate(names)}


def _unused(heading, name: str) -> str:
    while name in heading:
        name += "_"
    return name
