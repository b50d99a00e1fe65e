"""The page of one row (issue 14, part 3): its values, the parent row of each foreign key,
the child rows that reference it (one COUNT per child table and foreign key), and part
rows under their master.

Values are fetched as table pages fetch them (:func:`.browse.preview_expression`: no store
read, in-table blobs as :class:`~.browse.BlobPreview` from their first 64 KiB), then the
in-table blobs worth showing whole (1-D traces, structures; not images, which are drawn by
the thumbnail view) are fetched whole in one more query when they hold at most
:data:`ROW_VALUE_BYTES`. Larger values and stored values are read only when asked
(:func:`load_attribute`).

Child tables are listed from the server's foreign keys (:func:`~pipeline_core.datamodel.
dependencies.children_of`), in the schemas the user may view; a renamed foreign key
(``-> Subject.proj(reviewer="subject_id")``) restricts the child by its own attribute
names. Each COUNT runs under :data:`COUNT_TIMEOUT`; one that takes longer is reported as
unknown, not as an error.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.dependencies import children_of
from pipeline_core.datamodel.fetch import count
from pipeline_core.datamodel.heading import ForeignKey, TableInfo
from pipeline_core.display import shown
from pipeline_core.keys import key_label

from .access import NotFoundError, connection, may_view, table_info
from .browse import BlobPreview, part_tables, preview_expression, preview_row
from .files import load_value

#: In-table blobs holding at most this many bytes (stored and unpacked) are fetched whole
#: for the row page (1-D traces are drawn, structures shown); larger ones on demand.
ROW_VALUE_BYTES = 8_000_000
#: Part rows shown under their master row (the rest are on the part table's page).
PART_ROWS = 25
#: Seconds one COUNT of child or part rows may take before it is given up (unknown count).
COUNT_TIMEOUT = 2.0
#: Children (child table × foreign key) counted while the page is built; with more, the
#: page asks for the counts in a second request (htmx, when the section loads).
CHILDREN_INLINE = 10


@dataclasses.dataclass(frozen=True)
class ParentRow:
    """The parent row one foreign key of the row points at.

    Attributes:
        info: the parent table.
        fk: the foreign key (``fk.attr_map``: this table's attribute -> the parent's).
        key: the parent's primary key taken from the row's values (renamed attributes
            mapped back), or None when one of them is NULL (a nullable foreign key).
        viewable: the user may view the parent's schema (else it is neither linked nor
            looked up).
        exists: the parent row exists; None when not looked up (no key, not viewable).
            False only for data entered without the foreign key's check (legacy data).
    """

    info: TableInfo
    fk: ForeignKey
    key: dict | None
    viewable: bool
    exists: bool | None


@dataclasses.dataclass(frozen=True)
class ChildRows:
    """The rows of one child table referencing the row through one foreign key.

    Attributes:
        info: the child table.
        fk: the child's foreign key to the row's table.
        restriction: child attribute -> value: the row's key through ``fk.attr_map``.
        count: the number of such rows; None when not counted (:data:`CHILDREN_INLINE`)
            or the COUNT took longer than :data:`COUNT_TIMEOUT` (``timed_out``).
        timed_out: the COUNT was given up.
    """

    info: TableInfo
    fk: ForeignKey
    restriction: dict
    count: int | None = None
    timed_out: bool = False


@dataclasses.dataclass(frozen=True)
class PartRows:
    """The rows of one part table belonging to a master row.

    Attributes:
        info: the part table.
        restriction: part attribute -> value (the master's key).
        rows: at most :data:`PART_ROWS` rows in primary-key order, as
            :func:`.browse.preview_row` gives them.
        count: all the part rows of the master row; None when the COUNT timed out.
    """

    info: TableInfo
    restriction: dict
    rows: list[dict]
    count: int | None


@dataclasses.dataclass(frozen=True)
class RowPage:
    """Everything the page of one row shows.

    Attributes:
        info: the table; key: the row's primary key (checked, in heading order).
        row: attribute -> value (heading order), fetched lazily as described in the module
            docstring: stored values as references, in-table blobs as ``BlobPreview``
            (``decoded`` with ``value`` when small or fetched whole).
        parents: one :class:`ParentRow` per foreign key of the table.
        children: one :class:`ChildRows` per child table and foreign key (part tables of
            this table excluded: they are in ``parts``), in viewable schemas.
        counted: the children's rows were counted (see :data:`CHILDREN_INLINE`).
        parts: one :class:`PartRows` per part table (a master's page).
        master: ``(master table, master key)`` for a part table's row, else None.
    """

    info: TableInfo
    key: dict
    row: dict
    parents: list[ParentRow]
    children: list[ChildRows]
    counted: bool
    parts: list[PartRows]
    master: tuple[TableInfo, dict] | None


def row_key(info: TableInfo, key: dict) -> dict:
    """``key`` checked to hold exactly the table's primary key, in heading order.

    Raises:
        QueryError: an attribute of the primary key is missing, or one is not in it (400).
    """
    primary = info.heading.primary_key
    if not primary:
        raise dm.QueryError(
            f"{info.full_name} has no primary key: its rows cannot be named one by one",
            table=info.full_name,
        )
    missing = [name for name in primary if name not in key]
    extra = [name for name in key if name not in primary]
    if missing or extra:
        problem = f"lacks `{missing[0]}`" if missing else f"holds {shown(extra[0])}, not in it"
        raise dm.QueryError(
            f"{info.full_name}: a row key holds exactly the primary key "
            f"({', '.join(primary)}); this one {problem}",
            table=info.full_name,
            attribute=(missing or [None])[0],
        )
    return {name: key[name] for name in primary}


def _restricted(info: TableInfo, key: dict) -> dm.QueryExpression:
    return dm.FreeTable(connection(), info.ref) & key


def fetch_row(schema: str, table: str, key: dict) -> tuple[TableInfo, dict, dict]:
    """``(info, key, row)`` of the row with primary key ``key`` (see :class:`RowPage`).

    Raises:
        NotFoundError: no such table, or no row with this key (404);
        QueryError / InvalidValueError: not exactly the primary key, or a value its
            attribute cannot hold (400).
    """
    info = table_info(schema, table)
    key = row_key(info, key)
    try:
        rows = (preview_expression(info) & key).to_dicts(limit=1, lazy=True)
    except dm.InvalidValueError as exc:
        raise dm.InvalidValueError(
            f"{info.full_name}: the row key {key_label(key)} is not valid: {exc}",
            table=info.full_name,
            attribute=exc.attribute,
        ) from None
    if not rows:
        raise NotFoundError(
            f"{info.full_name} has no row with key {key_label(key)}", table=info.full_name
        )
    row = preview_row(info, rows[0])
    whole = [name for name, value in row.items() if _fetch_whole(value)]
    if whole:
        try:
            full = _restricted(info, key).proj(*whole).to_dicts(limit=1, lazy=True)
        except dm.DataJointError:  # unreadable now: keep the previews (they say why)
            full = []
        for name, value in (full[0] if full else {}).items():
            if name in whole:
                row[name] = dataclasses.replace(row[name], decoded=True, value=value)
    return info, key, row


def _fetch_whole(value: Any) -> bool:
    """An in-table blob described from its prefix only that the row page shows whole: not
    an image (drawn by the thumbnail view) and small enough (:data:`ROW_VALUE_BYTES`)."""
    if not isinstance(value, BlobPreview) or value.decoded or value.error or not value.summary:
        return False
    summary = value.summary
    shape = summary.shape
    if summary.kind == "array" and shape is not None and len(shape) >= 2 and min(shape) > 1:
        return False  # images and matrices: shape and dtype are enough
    return max(value.size, summary.packed_size or 0) <= ROW_VALUE_BYTES


def load_attribute(schema: str, table: str, key: dict, attribute: str) -> Any:
    """The whole value of one attribute of a row (a stored blob or ``<npy@>`` array read
    from its store, an in-table blob unpacked), for the row page's "load" control.

    Raises:
        as :func:`fetch_row` and :func:`.files.load_value` (StoreError: 503).
    """
    info = table_info(schema, table)
    return load_value(schema, table, row_key(info, key), attribute)


def parent_rows(info: TableInfo, row: dict, user) -> list[ParentRow]:
    """One :class:`ParentRow` per foreign key of ``info``; one query per viewable parent
    row to see that it exists."""
    catalog = catalog_of(connection())
    found = []
    for fk in info.foreign_keys:
        parent = catalog.get(fk.parent)
        values = {p: row[c] for c, p in fk.attr_map}
        key = None if any(v is None for v in values.values()) else values
        viewable = may_view(user, parent.database)
        exists = None
        if key is not None and viewable:
            exists = bool(_restricted(parent, key))
        found.append(ParentRow(parent, fk, key, viewable, exists))
    return found


def child_tables(info: TableInfo, user) -> list[tuple[TableInfo, ForeignKey]]:
    """``(child table, its foreign key to info)`` of every table referencing ``info`` in a
    schema the user may view, except ``info``'s own part tables; several foreign keys of
    one child to ``info`` give one entry each."""
    conn = connection()
    catalog = catalog_of(conn)
    found = []
    for ref in children_of(conn, info.ref):
        if ref.master == info.ref or not may_view(user, ref.database):
            continue
        child = catalog.get(ref)
        found.extend((child, fk) for fk in child.foreign_keys if fk.parent == info.ref)
    return found


def _count(expr: dm.QueryExpression) -> int | None:
    """The number of rows of ``expr``, or None when counting takes longer than
    :data:`COUNT_TIMEOUT`."""
    try:
        return count(expr, timeout=COUNT_TIMEOUT)
    except dm.QueryTimeoutError:
        return None


def child_rows(
    info: TableInfo, row: dict, children: list[tuple[TableInfo, ForeignKey]], *, counted: bool
) -> list[ChildRows]:
    """One :class:`ChildRows` per ``children`` entry (:func:`child_tables`), with one
    COUNT each when ``counted``."""
    found = []
    for child, fk in children:
        restriction = {c: row[p] for c, p in fk.attr_map}
        number = _count(_restricted(child, restriction)) if counted else None
        found.append(ChildRows(child, fk, restriction, number, counted and number is None))
    return found


def row_children(schema: str, table: str, key: dict, user) -> list[ChildRows]:
    """The counted :class:`ChildRows` of the row ``key`` (the children section loaded on
    its own). Only the key is needed: foreign keys reference the primary key.

    Raises:
        NotFoundError: no such table; QueryError: not exactly the primary key.
    """
    info = table_info(schema, table)
    key = row_key(info, key)
    children = child_tables(info, user)
    values = key
    if any(p not in key for _, fk in children for _, p in fk.attr_map):
        # a foreign key to a unique index that is not the primary key (not DataJoint's)
        values = fetch_row(schema, table, key)[2]
    return child_rows(info, values, children, counted=True)


def _master_fk(part: TableInfo, master: TableInfo) -> dict:
    """Master attribute -> part attribute (``-> master``; identity when not found)."""
    for fk in part.foreign_keys:
        if fk.parent == master.ref:
            return {p: c for c, p in fk.attr_map}
    return {name: name for name in master.heading.primary_key}


def part_rows(info: TableInfo, row: dict) -> list[PartRows]:
    """The rows of each part table of ``info`` belonging to ``row`` (at most
    :data:`PART_ROWS` each, and their count)."""
    found = []
    for part in part_tables(info.database, info.table_name):
        restriction = {c: row[p] for p, c in _master_fk(part, info).items()}
        fetched = (preview_expression(part) & restriction).to_dicts(
            order_by="KEY", limit=PART_ROWS + 1, lazy=True
        )
        number = len(fetched)
        if number > PART_ROWS:
            number = _count(_restricted(part, restriction))
        rows = [preview_row(part, r) for r in fetched[:PART_ROWS]]
        found.append(PartRows(part, restriction, rows, number))
    return found


def master_row(info: TableInfo, row: dict) -> tuple[TableInfo, dict] | None:
    """``(master table, master key)`` of a part table's row; None for other tables."""
    if not info.master:
        return None
    master = catalog_of(connection()).table(info.database, info.master)
    return master, {p: row[c] for p, c in _master_fk(info, master).items()}


def row_page(
    schema: str, table: str, key: dict, user, *, count_children: bool | None = None
) -> RowPage:
    """The :class:`RowPage` of the row ``key`` as ``user`` may see it.

    Args:
        count_children: count the child rows (one COUNT per child); None: only when there
            are at most :data:`CHILDREN_INLINE` children.
    Raises:
        as :func:`fetch_row`.
    """
    info, key, row = fetch_row(schema, table, key)
    children = child_tables(info, user)
    counted = len(children) <= CHILDREN_INLINE if count_children is None else count_children
    return RowPage(
        info=info,
        key=key,
        row=row,
        parents=parent_rows(info, row, user),
        children=child_rows(info, row, children, counted=counted),
        counted=counted,
        parts=part_rows(info, row),
        master=master_row(info, row),
    )
