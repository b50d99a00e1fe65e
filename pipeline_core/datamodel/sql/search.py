"""Conditions for searching a table as people type (foreign-key pickers, pasted text):
``LIKE`` with the user's text escaped (``%`` and ``_`` literal), integer prefixes as index
ranges, and batched equality. Every value is a driver parameter; every identifier is
validated and quoted by :func:`.quoting.quote`."""

from __future__ import annotations

from collections.abc import Sequence

from ..condition import RawSQL
from .quoting import quote

#: The ``LIKE`` escape character: not ``\``, whose meaning in a string literal depends on
#: the server's ``NO_BACKSLASH_ESCAPES`` mode.
LIKE_ESCAPE = "|"


def escape_like(text: str) -> str:
    """``text`` with ``LIKE``'s wildcards (``%``, ``_``) and the escape character made
    literal (escaped with :data:`LIKE_ESCAPE`)."""
    return "".join(LIKE_ESCAPE + c if c in "%_" + LIKE_ESCAPE else c for c in text)


def like(column: str, text: str, *, contains: bool = False) -> RawSQL:
    """```col` LIKE 'text%'`` (a prefix, which an index on the column serves), or
    ``'%text%'`` with ``contains``; the text's wildcards are literal."""
    pattern = ("%" if contains else "") + escape_like(text) + "%"
    return RawSQL(f"{quote(column)} LIKE %s ESCAPE '{LIKE_ESCAPE}'", [pattern])


def between_any(column: str, ranges: Sequence[tuple[int, int]]) -> RawSQL:
    """```col` BETWEEN lo AND hi OR ...``: index ranges (an integer prefix, see
    :func:`pipeline_core.datamodel.fk_search.integer_prefix_ranges`); FALSE when empty."""
    if not ranges:
        return RawSQL("FALSE")
    column = quote(column)
    sql = " OR ".join(f"{column} BETWEEN %s AND %s" for _ in ranges)
    return RawSQL(f"({sql})", [v for pair in ranges for v in pair])


def equals_any(column: str, values: Sequence) -> RawSQL:
    """```col` IN (%s, ...)`` (compared as the column's collation compares); FALSE when
    ``values`` is empty."""
    if not values:
        return RawSQL("FALSE")
    return RawSQL(f"{quote(column)} IN ({', '.join(['%s'] * len(values))})", list(values))


def rows_equal_any(columns: Sequence[str], rows: Sequence[Sequence]) -> RawSQL:
    """``(`a` = %s AND `b` = %s) OR ...``: any of ``rows`` (values in ``columns`` order),
    for compound keys; FALSE when ``rows`` is empty."""
    if not rows:
        return RawSQL("FALSE")
    one = "(" + " AND ".join(f"{quote(c)} = %s" for c in columns) + ")"
    return RawSQL(" OR ".join([one] * len(rows)), [v for row in rows for v in row])


def any_of(conditions: Sequence[RawSQL]) -> RawSQL:
    """The disjunction of conditions (FALSE when there are none)."""
    if not conditions:
        return RawSQL("FALSE")
    return RawSQL(
        " OR ".join(f"({c.sql})" for c in conditions), [p for c in conditions for p in c.params]
    )
