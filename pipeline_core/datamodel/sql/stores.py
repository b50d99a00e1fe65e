"""SELECTs about stored values: 0.14 ``~external_<store>`` rows (spec §11) and whether a
column's JSON names an object path (spec §5). Values are parameters."""

from __future__ import annotations

from .quoting import full_name, quote


def select_external_rows(database: str, store: str, count: int) -> str:
    """``SELECT hash, size, attachment_name, filepath FROM `db`.`~external_<store>`
    WHERE hash IN (%s, ...)`` for ``count`` 16-byte hashes."""
    holders = ", ".join(["%s"] * count)
    return (
        f"SELECT `hash`, `size`, `attachment_name`, `filepath` "
        f"FROM {full_name(database, '~external_' + store)} WHERE `hash` IN ({holders})"
    )


def referenced_paths_among(database: str, table: str, column: str, count: int) -> str:
    """``SELECT DISTINCT JSON_VALUE(col, '$.path') ... WHERE JSON_VALUE(col, '$.path') IN
    (%s, ...)``: which of ``count`` object paths (the parameters) rows of the table name
    (MySQL and MariaDB)."""
    path = f"JSON_VALUE({quote(column)}, '$.path')"
    holders = ", ".join(["%s"] * count)
    return f"SELECT DISTINCT {path} FROM {full_name(database, table)} WHERE {path} IN ({holders})"


def select_column_json(database: str, table: str, column: str) -> str:
    """``SELECT col FROM t WHERE col IS NOT NULL``: every JSON value of a stored column
    (garbage collection reads the paths from them)."""
    return (
        f"SELECT {quote(column)} FROM {full_name(database, table)} "
        f"WHERE {quote(column)} IS NOT NULL"
    )
