"""Browsing: schemas grouped by tier, table pages, pages of rows, single values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.codecs import blob
from pipeline_core.datamodel.codecs.blob_peek import PEEK_LIMIT
from pipeline_core.datamodel.dependencies import children_of, graph_around
from pipeline_core.datamodel.heading import Attribute, Heading, TableInfo
from pipeline_core.datamodel.paging import page
from pipeline_core.datamodel.sql import fragments as sql
from pipeline_core.datamodel.stores import Attachment

from .access import (
    NotFoundError,
    attribute_of,
    check_schema,
    connection,
    table_info,
    viewable_schemas,
)

#: Rows per page of a table page.
PAGE_SIZE = 100
TIER_ORDER = ("Lookup", "Manual", "Imported", "Computed")
#: Bytes of each in-table blob a page of rows fetches: what the header peek may read.
PREVIEW_BYTES = PEEK_LIMIT
#: In-table blobs fetched whole (at most ``PREVIEW_BYTES`` stored) that unpack to at most
#: this many bytes come with their decoded value (scalars and short vectors are shown).
SMALL_BLOB = PEEK_LIMIT
#: Bytes of an in-table ``<attach>`` value a page reads: enough for its file name.
ATTACH_NAME_BYTES = 1024


def schema_tables(schema: str) -> dict[str, list[tuple[TableInfo, list[TableInfo]]]]:
    """Tables of a visible schema grouped by tier (Lookup, Manual, Imported, Computed, then
    'Other'), each as ``(info, [part infos])``: part tables nested under their masters."""
    check_schema(schema)
    infos = catalog_of(connection()).tables(schema)
    masters = {t.table_name: (t, []) for t in infos if t.tier != "Part"}
    orphans = []
    for info in infos:
        if info.tier == "Part":
            (masters[info.master][1] if info.master in masters else orphans).append(info)
    groups: dict[str, list] = {tier: [] for tier in TIER_ORDER}
    for entry in list(masters.values()) + [(t, []) for t in orphans]:
        groups.setdefault(entry[0].tier if entry[0].tier in TIER_ORDER else "Other", []).append(
            entry
        )
    return {tier: tables for tier, tables in groups.items() if tables}


def list_schemas(user) -> list[dict]:
    """Visible schemas that ``user`` may view (:mod:`pipeline_core.roles`), with their
    tables: ``[{name, tables: [TableInfo], tiers: {tier: n}}]`` (``tiers`` counts every
    tier, Part included)."""
    catalog = catalog_of(connection())
    result = []
    for name in viewable_schemas(user):
        tables = catalog.tables(name)
        tiers = dict.fromkeys((*TIER_ORDER, "Part"), 0)
        for info in tables:
            tiers[info.tier or "Other"] = tiers.get(info.tier or "Other", 0) + 1
        result.append({"name": name, "tables": tables, "tiers": tiers})
    return result


def dependency_graph(schema: str) -> dm.DependencyGraph:
    """The dependency graph of a visible schema with the schemas around it: those holding
    its tables' parents and children (not the whole downstream closure: a diagram of the
    schema draws its direct neighbours only)."""
    return graph_around(connection(), check_schema(schema))


def graph_version(graph: dm.DependencyGraph) -> tuple | None:
    """``((database, fingerprint), ...)`` of every database of ``graph`` as this request
    checked them: equal versions, equal graphs (see :meth:`Catalog.version`). None when
    one of them was read too soon after a DDL statement to tell."""
    catalog = catalog_of(connection())
    versions = []
    for database in sorted(graph.databases):
        version = catalog.version(database)
        if version is None:
            return None
        versions.append((database, version))
    return tuple(versions)


def table_page(schema: str, table: str) -> dict:
    """What a table page shows besides its rows.

    Returns:
        dict with ``info``, ``attributes`` (list of ``(Attribute, parent TableInfo or None)``),
        ``parents`` (TableInfo list), ``children`` (TableInfo list of names only: the
        tables with a foreign key to this one, read live), ``parts`` (TableInfo list),
        ``master`` (TableInfo or None), ``enterable`` (bool) and ``auto`` (bool).
    """
    info = table_info(schema, table)
    conn = connection()
    catalog = catalog_of(conn)
    parent = {fk.parent: catalog.get(fk.parent) for fk in info.foreign_keys}
    parents = list(parent.values())
    parent_of = {c: parent[fk.parent] for fk in info.foreign_keys for c in fk.columns}
    # live from the server's list of foreign keys; shown by name (nothing else is read)
    children = [_named(ref) for ref in children_of(conn, info.ref)]
    parts = part_tables(schema, table)
    master = catalog.table(schema, info.master) if info.master else None
    return dict(
        info=info,
        attributes=[(a, parent_of.get(a.name)) for a in info.heading],
        parents=parents,
        children=[c for c in children if c.ref.master != info.ref],
        parts=parts,
        master=master,
        enterable=info.tier in ("Manual", "Lookup"),
        auto=info.tier in ("Computed", "Imported"),
    )


def _named(ref: dm.TableRef) -> TableInfo:
    """A TableInfo holding only a table's names (what a link to its page needs)."""
    return TableInfo(ref.database, ref.table, "", Heading([]), (), ())


def part_tables(schema: str, table: str) -> list[TableInfo]:
    """The part tables of a visible table (empty unless it is a master)."""
    info = table_info(schema, table)
    return [t for t in catalog_of(connection()).tables(schema) if t.master == info.table_name]


@dataclass(frozen=True)
class BlobPreview:
    """An in-table blob on a page of rows, described from its first ``PREVIEW_BYTES``
    bytes and its length, never fetched whole (see :func:`rows_page`).

    Attributes:
        size: bytes stored in the column (``LENGTH``; compressed size for a ``ZL123`` blob).
        summary: the header peek (:func:`~pipeline_core.datamodel.codecs.blob.peek`) of
            a DataJoint blob; None for raw bytes (a native blob column in a 2.x database,
            or an unmarked 0.14 blob that holds no DataJoint blob) and unreadable blobs.
        decoded: the whole blob was fetched (``size <= PREVIEW_BYTES``), unpacks to at
            most ``SMALL_BLOB`` bytes, and ``value`` is its decoded value.
        value: the decoded value when ``decoded``, else None.
        error: why a ``<blob>`` value cannot be read (not a DataJoint blob, corrupt), or None.
    """

    size: int
    summary: blob.BlobSummary | None = None
    decoded: bool = False
    value: Any = field(default=None, compare=False)  # arrays do not compare to a bool
    error: str | None = None


def _blob_preview(attr: Attribute, prefix: bytes | None, size: int) -> BlobPreview:
    """The :class:`BlobPreview` of one in-table value from its prefix and length (same
    fallbacks as :func:`pipeline_core.datamodel.values.decode`: an unmarked legacy blob
    that is not a DataJoint blob is raw bytes)."""
    if prefix is None:  # raw bytes column: only the length is fetched
        return BlobPreview(size)
    legacy = attr.codec is None
    try:
        summary = blob.peek(prefix, size)
    except blob.BlobError as exc:
        return BlobPreview(size, error=None if legacy else str(exc))
    if size > len(prefix) or (summary.packed_size or size) > SMALL_BLOB:
        return BlobPreview(size, summary)
    try:
        return BlobPreview(size, summary, decoded=True, value=blob.unpack(prefix))
    except blob.BlobError as exc:
        return BlobPreview(size, error=None if legacy else str(exc))


def rows_page(
    schema: str, table: str, after: dict | None = None, limit: int = PAGE_SIZE
) -> tuple[list[dict], dict | None]:
    """One page of rows ordered by primary key, after the key ``after``.

    Fetched lazily: no store is read. Stored blobs (``<blob@s>``, ``<hash@s>``) come back
    as ``BlobRef``, stored attachments as ``Attachment`` read only on first access,
    ``<object@s>``/``<filepath@s>`` as ``ObjectRef`` and ``<npy@s>`` as ``NpyRef`` (all
    from :mod:`pipeline_core.datamodel.stores`), described by their column metadata.

    In-table blobs are never fetched whole: a DataJoint blob (``<blob>``, an unmarked
    0.14 blob) comes back as a :class:`BlobPreview` made from its first
    ``PREVIEW_BYTES`` (64 KiB) and its length, a raw bytes column (native blob in a 2.x
    database) as a ``BlobPreview`` of its length alone; NULL stays None.

    Returns:
        ``(rows, next_after)``: rows as dicts in heading order; ``next_after`` (a primary
        key) is None on the last page.
    Raises:
        QueryError / InvalidValueError: ``after`` is not a key of the table.
    """
    info = table_info(schema, table)
    rows, next_after = page(preview_expression(info), None, after, limit, lazy=True)
    return preview_rows(info, rows), next_after


def preview_rows(info: TableInfo, rows: list[dict]) -> list[dict]:
    """Rows fetched from :func:`preview_expression` as :func:`rows_page` gives them: each
    in-table blob as a :class:`BlobPreview`, each in-table attachment as an ``Attachment``
    read on first access, dicts in heading order."""
    previewed = _previewed(info)
    if not previewed:  # nothing to describe: the rows as fetched (heading order already)
        return rows
    return [preview_row(info, row, previewed) for row in rows]


def preview_row(info: TableInfo, row: dict, previewed: dict | None = None) -> dict:
    """A row fetched (lazily) from :func:`preview_expression` as pages show it: the
    heading's attributes in order, each in-table blob a :class:`BlobPreview`, an in-table
    attachment an ``Attachment`` whose contents are read on first access (see
    :func:`rows_page`). ``previewed`` is ``_previewed(info)``, computed once per page."""
    if previewed is None:
        previewed = _previewed(info)
    out = {}
    for attr in info.heading:
        if attr.name not in previewed:
            out[attr.name] = row[attr.name]
            continue
        prefix_name, size_name = previewed[attr.name]
        size = row[size_name]
        prefix = (
            None if prefix_name is None or row[prefix_name] is None else bytes(row[prefix_name])
        )
        if size is None:
            out[attr.name] = None
        elif attr.codec == "attach":
            key = {k: row[k] for k in info.heading.primary_key}
            out[attr.name] = _attachment_preview(
                info.database, info.table_name, key, attr.name, prefix, int(size)
            )
        else:
            out[attr.name] = _blob_preview(attr, prefix, int(size))
    return out


def _attachment_preview(
    schema: str, table: str, key: dict, attribute: str, prefix: bytes, size: int
) -> Attachment:
    """An in-table ``<attach>`` value (file name, a NUL byte, contents; spec §5.5) from its
    first bytes and its length: the name and the contents' size now, the contents (and a
    name longer than the prefix) read on first access."""
    name, found, _ = prefix.partition(b"\0")

    def load() -> tuple[str, bytes]:
        value = fetch_value(schema, table, key, attribute, lazy=True)  # never saved locally
        return value.name, value.contents

    if not found:  # a name longer than the prefix: read it with the contents
        return Attachment(size=None, loader=load)
    return Attachment(name.decode("utf-8", "replace"), size=size - len(name) - 1, loader=load)


def _previewed(info: TableInfo) -> dict[str, tuple[str | None, str]]:
    """Secondary in-table blob attributes (``<blob>``, in-table ``<attach>``, raw bytes)
    -> the names of their computed prefix (None for raw bytes: length only) and length
    attributes. Hidden columns start with ``_``, so ``_peek<i>``/``_size<i>`` never clash
    with the heading."""
    names = {}
    for i, attr in enumerate(info.heading):
        if attr.in_key:
            continue
        if attr.is_blob or (attr.codec == "attach" and attr.store is None):
            names[attr.name] = (f"_peek{i}", f"_size{i}")
        elif attr.is_bytes:
            names[attr.name] = (None, f"_size{i}")
    return names


def preview_expression(
    info: TableInfo, table: dm.QueryExpression | None = None
) -> dm.QueryExpression:
    """The table as a page of rows fetches it: each in-table blob attribute replaced by
    ``SUBSTRING(col, 1, PREVIEW_BYTES)`` and ``LENGTH(col)`` (raw bytes: the length only;
    an in-table attachment: its first ``ATTACH_NAME_BYTES`` bytes, which hold the name),
    every other attribute kept (its ``make_sql()`` is the page's SQL without the keyset
    condition). SQL text is built from quoted, validated identifiers only.

    Args:
        table: the table restricted (same heading), or None for the whole table.
    """
    previewed = _previewed(info)
    keep = [n for n in info.heading.secondary_attributes if n not in previewed]
    computed = {}
    for name, (prefix_name, size_name) in previewed.items():
        if prefix_name is not None:
            length = ATTACH_NAME_BYTES if info.heading[name].codec == "attach" else PREVIEW_BYTES
            computed[prefix_name] = sql.prefix(name, length)
        computed[size_name] = sql.byte_length(name)
    if table is None:
        table = dm.FreeTable(connection(), info.ref)
    return table.proj(*keep, **computed) if computed else table


def fetch_value(schema: str, table: str, key: dict, attribute: str, *, lazy: bool = True) -> Any:
    """The decoded value of ``attribute`` in the row with primary key ``key``; ``lazy``
    (the default) gives stored values as references without reading the store (as in
    :func:`rows_page`) and attachments as ``Attachment`` values. ``lazy=False`` is a plain
    DataJoint fetch: an attachment is saved into ``config["download_path"]`` and its path
    (``str``) returned (spec §5.5), which a server never wants.

    Raises:
        NotFoundError: no such table, row or attribute;
        QueryError: the key lacks a primary-key attribute; StoreError (not lazy): the
        stored value cannot be read.
    """
    info, row = _row(schema, table, key, attribute)
    rows = row.proj(attribute).to_dicts(limit=1, lazy=lazy)
    if not rows:
        raise NotFoundError(f"{info.full_name}: no row with key {key}", table=info.full_name)
    return rows[0][attribute]


def value_fingerprint(schema: str, table: str, key: dict, attribute: str) -> str:
    """The MD5 (hex) of the stored column value of ``attribute`` in the row ``key``,
    computed by the server (nothing else is transferred): the in-table bytes, or the JSON
    metadata of a stored value (which names its object). ``"null"`` for NULL. For HTTP
    caching of derived views (thumbnails).

    Raises:
        as :func:`fetch_value`.
    """
    info, row = _row(schema, table, key, attribute)
    rows = row.proj(_fingerprint=sql.md5(attribute)).to_dicts(limit=1)
    if not rows:
        raise NotFoundError(f"{info.full_name}: no row with key {key}", table=info.full_name)
    return rows[0]["_fingerprint"] or "null"


def _row(
    schema: str, table: str, key: dict, attribute: str
) -> tuple[TableInfo, dm.QueryExpression]:
    """The table restricted to the row ``key`` (checked: the whole primary key, a known
    attribute)."""
    info = table_info(schema, table)
    attribute_of(info, attribute)  # NotFoundError naming the attribute
    missing = [k for k in info.heading.primary_key if k not in key]
    if missing:
        raise dm.QueryError(
            f"{info.full_name}: the row key lacks `{missing[0]}`",
            table=info.full_name,
            attribute=missing[0],
        )
    key = {k: key[k] for k in info.heading.primary_key}
    return info, dm.FreeTable(connection(), info.ref) & key


def inspect_schemas(schemas: list[str], row_counts: bool = True) -> dict:
    """The introspection report of any schemas on the server (not limited to the visible
    prefix: this is for administrators at the command line); see
    :func:`pipeline_core.datamodel.report.schemas_report`."""
    from pipeline_core.datamodel.report import schemas_report

    return schemas_report(connection(), schemas, row_counts=row_counts)


def describe_schemas(schemas: list[str]) -> str:
    """Each table's describe() for any schemas on the server."""
    from pipeline_core.datamodel.report import schemas_report, schemas_text

    schemas_report(connection(), schemas, row_counts=False)  # raises for a missing schema
    return schemas_text(connection(), schemas)
