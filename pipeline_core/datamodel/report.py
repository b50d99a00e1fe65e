"""Introspection reports: a JSON-ready description of whole schemas (issue #3 CLI
``manage.py pipeline inspect``), built from the catalog (spec §14). No SQL here."""

from __future__ import annotations

from collections.abc import Iterable

from .catalog import catalog_of
from .describe import class_namer, describe_table
from .errors import DataJointError
from .heading import TableInfo
from .sql import introspection


def table_report(info: TableInfo, row_count: int | None) -> dict:
    """One table as a dict of plain JSON values.

    ``attributes[].type`` is the declared type (resolved through foreign keys);
    ``default`` is the default value as text without quotes, or None when there is none
    (a nullable attribute's default is NULL: see ``nullable``)."""
    return {
        "table_name": info.table_name,
        "class_name": info.class_name,
        "tier": info.tier,
        "master": info.master,
        "comment": info.comment,
        "primary_key": info.heading.primary_key,
        "attributes": [
            {
                "name": a.name,
                "in_key": a.in_key,
                "type": a.type,
                "sql_type": a.sql_type,
                "nullable": a.nullable,
                "default": a.default,
                "comment": a.comment,
                "codec": a.codec,
                "store": a.store,
            }
            for a in info.heading
        ],
        "foreign_keys": [
            {
                "parent": str(fk.parent),
                "attr_map": dict(fk.attr_map),
                "primary": fk.primary,
                "nullable": fk.nullable,
                "unique": fk.unique,
            }
            for fk in info.foreign_keys
        ],
        "indexes": [{"columns": list(i.columns), "unique": i.unique} for i in info.indexes],
        "row_count": row_count,
    }


def schemas_report(conn, schemas: Iterable[str], *, row_counts: bool = True) -> dict:
    """``{"schemas": {name: {"tables": [...], "hidden_tables": [...]}}}`` for the schemas.

    Raises:
        DataJointError: a schema does not exist.
    """
    schemas = list(dict.fromkeys(schemas))
    missing = sorted(set(schemas) - set(introspection.list_databases(conn)))
    if missing:
        raise DataJointError(f"Schema `{missing[0]}` does not exist")
    catalog = catalog_of(conn)
    catalog.load(schemas)
    tables = {s: catalog.tables(s) for s in schemas}
    counts = (
        introspection.row_counts(
            conn, [(t.database, t.table_name) for ts in tables.values() for t in ts]
        )
        if row_counts
        else {}
    )
    return {
        "schemas": {
            s: {
                "tables": [
                    table_report(t, counts.get((t.database, t.table_name))) for t in tables[s]
                ],
                "hidden_tables": catalog.hidden_tables(s),
            }
            for s in schemas
        }
    }


def schemas_text(conn, schemas: Iterable[str]) -> str:
    """Each table's ``describe()`` under a ``# `db`.`table` (Tier)`` heading line."""
    catalog = catalog_of(conn)
    blocks = []
    for schema in dict.fromkeys(schemas):
        namer = class_namer(schema, None)
        blocks.extend(
            f"## {info.full_name} ({info.tier or 'no tier'})\n" + describe_table(info, namer)
            for info in catalog.tables(schema)
        )
    return "\n".join(blocks)
