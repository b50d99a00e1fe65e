"""The rows of a table page: restricted by a condition of the JSON query description (the
``where`` the query builder and the column filters write), ordered by any sortable
attribute (completed by the primary key), a keyset page at a time forwards or backwards
(:func:`~pipeline_core.datamodel.paging.window`), and counted: approximately from the
server's statistics (reused for a while), exactly on demand within the query time limit.

Rows are fetched as :func:`.browse.rows_page` fetches them (in-table blobs from a prefix and
their length, stored values lazily). Queries run under ``LABBOOK_QUERY_TIMEOUT``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import query_json
from pipeline_core.datamodel.errors import QueryDescriptionError
from pipeline_core.datamodel.fetch import count
from pipeline_core.datamodel.heading import Attribute, TableInfo
from pipeline_core.datamodel.order_by import order_item
from pipeline_core.datamodel.paging import Window, window
from pipeline_core.datamodel.sql import introspection
from pipeline_core.datamodel.types import comparable

from .access import connection, table_info
from .browse import PAGE_SIZE, preview_expression, preview_rows
from .query import viewable_resolver

#: Seconds a table's row estimate is reused (see :func:`row_estimate`).
ESTIMATE_SECONDS = 30


def sortable(attr: Attribute) -> bool:
    """Whether a table page may be ordered (and filtered) by ``attr``: not a blob, json,
    stored value or other codec, not raw bytes (:func:`~pipeline_core.datamodel.types.
    comparable`)."""
    return comparable(attr)


def sort_order(info: TableInfo, items: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    """The ordering a table page's ``order`` parameter asks for: ``name`` ascending,
    ``-name`` descending; each item may hold several separated by commas
    (``["-score,name"]`` = ``["-score", "name"]``) unless the whole item names one (a legacy
    column ``a,b``); empty items are skipped.

    Returns:
        ``((attribute, descending), ...)``, not completed by the primary key.
    Raises:
        UnknownAttributeError: a name not in the table's heading (named).
        QueryError: an attribute that cannot be sorted by (blob, json, stored), or one
            named twice.
    """
    order: list[tuple[str, bool]] = []
    for item in items:
        whole = item.strip().removeprefix("-").strip() in info.heading  # a name with commas
        for part in [item] if whole else item.split(","):
            part = part.strip()
            if not part:
                continue
            descending = part.startswith("-")
            name = part[1:].strip() if descending else part
            if name not in info.heading:
                raise dm.UnknownAttributeError(
                    f"{info.full_name}: cannot sort by `{name}`: no such attribute",
                    table=info.full_name,
                    attribute=name,
                )
            attr = info.heading[name]
            if not sortable(attr):
                raise dm.QueryError(
                    f"{info.full_name}: cannot sort by `{name}` ({attr.type}): blobs, json and "
                    "stored values have no order",
                    table=info.full_name,
                    attribute=name,
                )
            if name in (n for n, _ in order):
                raise dm.QueryError(
                    f"{info.full_name}: `{name}` is sorted by twice",
                    table=info.full_name,
                    attribute=name,
                )
            order.append((name, descending))
    return tuple(order)


def restricted(info: TableInfo, where: Any, user) -> dm.QueryExpression:
    """The table restricted by ``where``, a condition of the JSON query description (its
    ``where`` form; None: the whole table); tables it names (``matching``) must be ones
    ``user`` may view.

    Raises:
        QueryDescriptionError: an invalid condition (``path`` from ``where``, attribute).
        NotFoundError: a table it matches against is not visible to ``user``.
    """
    table = dm.FreeTable(connection(), info.ref)
    if where is None:
        return table
    try:
        return query_json.restrict(
            table,
            where,
            {"schema": info.database, "table": info.table_name},
            connection(),
            resolve=viewable_resolver(user),
        )
    except QueryDescriptionError as exc:
        exc.table = exc.table or info.full_name  # the page's table, when no other is named
        raise


def _timeout() -> float | None:
    return settings.LABBOOK_QUERY_TIMEOUT or None


def rows_window(
    schema: str,
    table: str,
    user,
    *,
    where: Any = None,
    order: Sequence[tuple[str, bool]] = (),
    after: dict | None = None,
    before: dict | None = None,
    last: bool = False,
    limit: int = PAGE_SIZE,
) -> Window:
    """A page of a table's rows for its page: restricted by ``where``, in ``order``
    (completed by the primary key); the first page, the page after the cursor ``after``,
    the page before the cursor ``before`` or (``last``) the last page.

    A page before a cursor that finds fewer than ``limit`` rows there is the first page:
    it is given whole instead (the first ``limit`` rows), so pages stay full.

    Returns:
        a :class:`~pipeline_core.datamodel.paging.Window` whose rows are as
        :func:`.browse.rows_page` gives them; ``more_before`` False means the page starts
        at the first row.
    Raises:
        as :func:`restricted` and :func:`~pipeline_core.datamodel.paging.window` (a cursor
        lacking an ordering attribute, a value that does not fit it); QueryTimeoutError:
        the query ran longer than ``LABBOOK_QUERY_TIMEOUT`` (applied to restricted or
        sorted pages; the whole table in primary-key order reads one index range).
    """
    info = table_info(schema, table)
    expr = preview_expression(info, restricted(info, where, user))
    order_by = [order_item(n, d) for n, d in order] or None
    # the whole table in primary-key order is one bounded index range: no time limit needed
    timeout = _timeout() if where is not None or order else None
    options = {"limit": limit, "lazy": True, "timeout": timeout}
    found = window(expr, order_by, after=after, before=before, from_end=last, **options)
    if before is not None and not found.more_before and len(found.rows) < limit:
        found = window(expr, order_by, **options)
    return dataclasses.replace(found, rows=preview_rows(info, found.rows))


def row_estimate(schema: str, table: str) -> int:
    """The server's estimate of the rows of a visible table (InnoDB's ``TABLE_ROWS``
    statistic: may be off by half, and lags behind recent writes, which the server counts
    again only now and then), reused for :data:`ESTIMATE_SECONDS` (per web process,
    Django's cache): paging through a table asks the server once."""
    key = f"labbook.row_estimate.{schema}.{table}"
    found = cache.get(key)  # put there only for a visible table (below)
    if found is None:
        found = introspection.row_estimate(connection(), table_info(schema, table).ref)
        cache.set(key, found, ESTIMATE_SECONDS)
    return found


def count_rows(schema: str, table: str, user, where: Any = None) -> int:
    """The exact number of rows of a table restricted by ``where`` (see :func:`restricted`).

    Raises:
        QueryTimeoutError: counting took longer than ``LABBOOK_QUERY_TIMEOUT``.
        as :func:`restricted`.
    """
    return count(restricted(table_info(schema, table), where, user), timeout=_timeout())
