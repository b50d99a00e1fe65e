"""What surrounds the rows of a table page: the column headers (sort links, filter controls),
the pager (First, Previous, Next, Last), the page's label and its row count.

Page numbers are shown only when known (see :mod:`.table_state`): the first page, and pages
walked from it by Next and Previous links. A page reached from the end (Last) or by a hand-
written cursor is labelled without numbers ("The last 100 rows"); no rows are counted to
number it.
"""

from __future__ import annotations

import dataclasses

from pipeline_core import services

from .filters import ColumnFilter, chips, column_filter
from .headers import header_html
from .links import url_for
from .table_state import TableState


@dataclasses.dataclass(frozen=True)
class Header:
    """One column header.

    Attributes:
        name: the attribute; pk: it is in the primary key.
        sort_url: the first page sorted by it (ascending, or descending when it is sorted
            ascending now); None when it cannot be sorted by.
        aria_sort: ``ascending``/``descending`` for the attribute the rows are sorted by
            first, else "".
        filter: its filter control, or None (blobs, json, stored values).
    """

    name: str
    pk: bool
    sort_url: str | None
    aria_sort: str
    filter: ColumnFilter | None


def headers(state: TableState, info) -> list[Header]:
    """The headers of the rows table, in heading order."""
    primary_key = info.heading.primary_key
    first, descending = (
        state.order[0] if state.order else (primary_key[0] if primary_key else None, False)
    )
    found = []
    for attr in info.heading:
        control = column_filter(attr, state.where)
        sort_url = None
        if control is not None:  # sortable: the same attributes as the filterable ones
            flip = attr.name == first and not descending
            sort_url = state.url(order=("-" if flip else "") + attr.name)  # the first page
        direction = ("descending" if descending else "ascending") if attr.name == first else ""
        found.append(Header(attr.name, attr.in_key, sort_url, direction, control))
    return found


def order_text(state: TableState) -> str:
    """The ordering in words: ``ordered by primary key`` or ``ordered by score (descending),
    name, then primary key``."""
    if not state.order:
        return "ordered by primary key"
    names = ", ".join(f"{n} (descending)" if d else n for n, d in state.order)
    return f"ordered by {names}, then primary key"


def page_number(state: TableState, found) -> int | None:
    """The number of the page shown when it is known: 1 when it starts at the first row,
    the verified ``page`` of a page walked to, else None."""
    if not found.more_before:
        return 1
    return state.page if (state.after is not None or state.before is not None) else None


def pager(state: TableState, found, page_size: int) -> dict:
    """The pager's URLs and the page's label.

    Returns:
        ``first_url``, ``previous_url``, ``next_url``, ``last_url`` (None where there is
        no such page), ``label`` ("Rows 201–300", "The last 100 rows", "100 rows"),
        ``number`` (or None) and ``first_row`` (or None).
    """
    number = page_number(state, found)
    count = len(found.rows)
    first_row = (number - 1) * page_size + 1 if number else None
    if number:
        label = f"Rows {first_row:,}–{first_row + count - 1:,}" if count else "No rows"
    elif state.last:
        label = f"The last {count:,} row{'s' if count != 1 else ''}"
    else:
        label = f"{count:,} row{'s' if count != 1 else ''}"
    before = found.more_before and found.first is not None
    after = found.more_after and found.last is not None
    return {
        "number": number,
        "first_row": first_row,
        "label": label,
        # an empty page after a cursor past the end still links to the first and last pages
        "first_url": state.first_url() if found.more_before else None,
        "previous_url": state.previous_url(found.first, number - 1 if number else None)
        if before
        else None,
        "next_url": state.next_url(found.last, number + 1 if number else None) if after else None,
        "last_url": state.last_url() if after or (found.more_before and not count) else None,
    }


def row_count(state: TableState, info, found, number: int | None, page_size: int) -> dict:
    """What the page says about the number of rows.

    Returns:
        ``text``: exact when every row is on this page ("37 rows") or on the pages walked
        to this last one; for a whole table the
        server's estimate ("~1,000,000 rows"), or "more than N rows" when the estimate is
        below what the pages walked have shown; "" for a restricted table (not counted).
        ``count_url``: the exact count on demand (None when the text is exact).
    """
    rows = len(found.rows)
    if not found.more_before and not found.more_after:
        return {"text": f"{rows:,} row{'s' if rows != 1 else ''}", "count_url": None}
    seen = ((number - 1) * page_size if number else 0) + rows
    if number and not found.more_after:  # the last page, walked to from the first
        return {"text": f"{seen:,} rows", "count_url": None}
    count_url = state.url(url_for("web:count", info.database, info.table_name))
    if state.where is not None:
        return {"text": "", "count_url": count_url}
    estimate = services.row_estimate(info.database, info.table_name)
    text = f"~{estimate:,} rows" if estimate > seen else f"more than {seen:,} rows"
    return {"text": text, "count_url": count_url}


#: Header rows made lately: (TableInfo id, path, where, order) -> (TableInfo, HTML). A
#: TableInfo is immutable (a new one comes with new introspection) and kept with its HTML,
#: so its id is not reused while the entry lives. At most HEADER_CACHE entries.
HEADER_CACHE = 256
_made: dict[tuple, tuple] = {}


def _header_html(state: TableState, info):
    """:func:`.headers.header_html` of the page, made once per table, restriction and
    order (paging through rows shows the same headers)."""
    key = (id(info), state.base, state.where_token, state.order_text)
    found = _made.get(key)
    if found is not None and found[0] is info:
        return found[1]
    html = header_html(headers(state, info), state.base, state.where_token, state.order_text)
    if len(_made) >= HEADER_CACHE:
        _made.clear()
    _made[key] = (info, html)
    return html


def context(state: TableState, info, found, page_size: int) -> dict:
    """Everything around the rows, for the template: ``header_html`` (the ``<th>`` elements,
    :mod:`.headers`), ``chips``, ``clear_url``, ``order_text``, ``count`` and the
    :func:`pager` keys."""
    links = pager(state, found, page_size)
    return {
        **links,
        "header_html": _header_html(state, info),
        "chips": chips(state),
        "clear_url": state.with_changes(where=None).first_url() if state.where else None,
        "order_text": order_text(state),
        "count": row_count(state, info, found, links["number"], page_size),
    }
