"""Browsing: schemas grouped by tier, table pages, pages of rows, single values."""

from __future__ import annotations

from typing import Any

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.fetch import page_after
from pipeline_core.datamodel.heading import TableInfo

from .access import NotFoundError, check_schema, connection, split_full_name, table_info, visible_schemas

#: Rows per page of a table page.
PAGE_SIZE = 100
TIER_ORDER = ("Lookup", "Manual", "Imported", "Computed")


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
        groups.setdefault(entry[0].tier if entry[0].tier in TIER_ORDER else "Other", []).append(entry)
    return {tier: tables for tier, tables in groups.items() if tables}


def list_schemas() -> list[dict]:
    """Visible schemas with their tables: ``[{name, tables: [TableInfo], tiers: {tier: n}}]``
    (``tiers`` counts every tier, Part included)."""
    catalog = catalog_of(connection())
    result = []
    for name in visible_schemas():
        tables = catalog.tables(name)
        tiers = {tier: 0 for tier in TIER_ORDER + ("Part",)}
        for info in tables:
            tiers[info.tier or "Other"] = tiers.get(info.tier or "Other", 0) + 1
        result.append({"name": name, "tables": tables, "tiers": tiers})
    return result


def dependency_graph(schema: str) -> dm.DependencyGraph:
    """The dependency graph of a visible schema, with the schemas around it."""
    return dm.DependencyGraph(connection(), [check_schema(schema)])


def table_page(schema: str, table: str) -> dict:
    """What a table page shows besides its rows.

    Returns:
        dict with ``info``, ``attributes`` (list of ``(Attribute, parent TableInfo or None)``),
        ``parents`` and ``children`` (TableInfo lists), ``parts`` (TableInfo list),
        ``master`` (TableInfo or None), ``enterable`` (bool) and ``auto`` (bool).
    """
    info = table_info(schema, table)
    conn = connection()
    catalog = catalog_of(conn)
    parent = {fk.parent: catalog.table(*split_full_name(fk.parent)) for fk in info.foreign_keys}
    parents = list(parent.values())
    parent_of = {c: parent[fk.parent] for fk in info.foreign_keys for c in fk.columns}
    graph = dm.DependencyGraph(conn, [schema])
    children = [graph.table(c) for c in graph.children(info.full_name)]
    parts = part_tables(schema, table)
    master = catalog.table(schema, info.master) if info.master else None
    return dict(info=info, attributes=[(a, parent_of.get(a.name)) for a in info.heading],
                parents=parents, children=[c for c in children if c.master != info.table_name],
                parts=parts, master=master, enterable=info.tier in ("Manual", "Lookup"),
                auto=info.tier in ("Computed", "Imported"))


def part_tables(schema: str, table: str) -> list[TableInfo]:
    """The part tables of a visible table (empty unless it is a master)."""
    info = table_info(schema, table)
    return [t for t in catalog_of(connection()).tables(schema) if t.master == info.table_name]


def rows_page(schema: str, table: str, after: dict | None = None,
              limit: int = PAGE_SIZE) -> tuple[list[dict], dict | None]:
    """One page of decoded rows ordered by primary key, after the key ``after``.

    Fetched lazily: no store is read. Stored blobs (``<blob@s>``, ``<hash@s>``) come back
    as ``BlobRef``, stored attachments as ``Attachment`` read only on first access,
    ``<object@s>``/``<filepath@s>`` as ``ObjectRef`` and ``<npy@s>`` as ``NpyRef`` (all
    from :mod:`pipeline_core.datamodel.stores`), described by their column metadata.

    Returns:
        ``(rows, next_after)``; ``next_after`` is None on the last page.
    Raises:
        QueryError / InvalidValueError: ``after`` is not a key of the table.
    """
    info = table_info(schema, table)
    return page_after(dm.FreeTable(connection(), info.full_name), after=after, limit=limit,
                      lazy=True)


def fetch_value(schema: str, table: str, key: dict, attribute: str, *, lazy: bool = False) -> Any:
    """The decoded value of ``attribute`` in the row with primary key ``key``; with
    ``lazy``, stored values come back as references without reading the store (as in
    :func:`rows_page`).

    Raises:
        NotFoundError: no such row; UnknownAttributeError: no such attribute;
        QueryError: the key lacks a primary-key attribute; StoreError (not lazy): the
        stored value cannot be read.
    """
    info = table_info(schema, table)
    info.heading[attribute]  # raises UnknownAttributeError naming the attribute
    missing = [k for k in info.heading.primary_key if k not in key]
    if missing:
        raise dm.QueryError(f"{info.full_name}: the row key lacks `{missing[0]}`",
                            table=info.full_name, attribute=missing[0])
    key = {k: key[k] for k in info.heading.primary_key}
    rows = (dm.FreeTable(connection(), info.full_name) & key).proj(attribute).to_dicts(
        limit=1, lazy=lazy)
    if not rows:
        raise NotFoundError(f"{info.full_name}: no row with key {key}", table=info.full_name)
    return rows[0][attribute]


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
