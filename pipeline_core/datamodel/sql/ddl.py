"""DDL text: CREATE DATABASE / TABLE from a :class:`TablePlan`, DROP, and ``~lineage``
maintenance (spec §3.5, §7). Identifiers are quoted by :func:`quote`; the only literals
(defaults, comments) are escaped by :func:`literal` because DDL takes no parameters.

Comments (table and column) are stored exactly as the definition writes them. DataJoint
2.3.5 differs there, and is not followed: it puts them between double quotes escaping only
``"`` (not at all in a table comment or in a comment copied from a parent's key), so the
server reads backslash escapes in them (``\\n`` becomes a newline), PyMySQL ``%``-formats the
statement (a ``%`` fails) and a ``"`` in a table comment is a syntax error."""

from __future__ import annotations

from collections.abc import Sequence

from ..declare import ColumnPlan, TablePlan
from .quoting import full_name, literal, quote

LINEAGE_TABLE = "~lineage"


def create_database(database: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS `db``` (server default charset, as DataJoint)."""
    return f"CREATE DATABASE IF NOT EXISTS {quote(database)}"


def drop_database(database: str) -> str:
    return f"DROP DATABASE IF EXISTS {quote(database)}"


def drop_table(database: str, table: str) -> str:
    return f"DROP TABLE IF EXISTS {full_name(database, table)}"


def _column(column: ColumnPlan) -> str:
    parts = [quote(column.name), column.sql_type]
    if column.default is None:
        if not column.nullable:
            parts.append("NOT NULL")
    elif column.default[0] == "null":
        parts.append("DEFAULT NULL")
    elif column.default[0] == "expression":
        parts.append(f"NOT NULL DEFAULT {column.default[1]}")
    else:
        parts.append(f"NOT NULL DEFAULT {literal(column.default[1])}")
    if column.comment:
        parts.append(f"COMMENT {literal(column.comment)}")
    return " ".join(parts)


def _columns(names: Sequence[str]) -> str:
    return ", ".join(quote(n) for n in names)


def create_table(plan: TablePlan) -> str:
    """The ``CREATE TABLE IF NOT EXISTS`` statement of a plan, laid out as DataJoint's
    (spec §3.5): columns, PRIMARY KEY, FOREIGN KEYs, indexes, then table options."""
    clauses = [_column(c) for c in plan.columns]
    clauses.append(f"PRIMARY KEY ({_columns(plan.primary_key)})")
    clauses.extend(
        f"FOREIGN KEY ({_columns(fk.columns)}) REFERENCES "
        f"{full_name(fk.parent_database, fk.parent_table)} ({_columns(fk.parent_columns)}) "
        "ON UPDATE CASCADE ON DELETE RESTRICT"
        for fk in plan.foreign_keys
    )
    for columns, unique in plan.indexes:
        clauses.append(f"{'UNIQUE ' if unique else ''}INDEX ({_columns(columns)})")
    options = "ENGINE=InnoDB" + (f" COMMENT={literal(plan.comment)}" if plan.comment else "")
    return (
        f"CREATE TABLE IF NOT EXISTS {full_name(plan.database, plan.table_name)} (\n  "
        + ",\n  ".join(clauses)
        + f"\n) {options}"
    )


def create_lineage_table(database: str) -> str:
    """The ``~lineage`` table exactly as DataJoint 2.x creates it (spec §7)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {full_name(database, LINEAGE_TABLE)} (\n"
        "  `table_name` VARCHAR(64) NOT NULL COMMENT 'table name within the schema',\n"
        "  `attribute_name` VARCHAR(64) NOT NULL COMMENT 'attribute name',\n"
        "  `lineage` VARCHAR(255) NOT NULL COMMENT 'origin: schema.table.attribute',\n"
        "  PRIMARY KEY (`table_name`, `attribute_name`)\n) ENGINE=InnoDB"
    )


def delete_lineage(database: str) -> str:
    """Statement with one parameter (table_name) deleting a table's lineage rows."""
    return f"DELETE FROM {full_name(database, LINEAGE_TABLE)} WHERE `table_name` = %s"


def insert_lineage(database: str, n_rows: int) -> str:
    """Multi-row upsert of ``(table_name, attribute_name, lineage)`` parameter triples."""
    values = ", ".join(["(%s, %s, %s)"] * n_rows)
    return (
        f"INSERT INTO {full_name(database, LINEAGE_TABLE)} "
        f"(`table_name`, `attribute_name`, `lineage`) VALUES {values} "
        "ON DUPLICATE KEY UPDATE `lineage` = VALUES(`lineage`)"
    )


def column_sql(column: ColumnPlan) -> str:
    """The column clause of a :class:`ColumnPlan` (as in CREATE TABLE)."""
    return _column(column)


def alter_table(database: str, table: str, steps, comment: str | None) -> str:
    """``ALTER TABLE`` with DROP / ADD / MODIFY / CHANGE clauses from :mod:`..alter` steps and
    an optional ``COMMENT``."""
    clauses = []
    for step in steps:
        after = f" AFTER {quote(step.after)}" if step.after else ""
        if step.op == "drop":
            clauses.append(f"DROP {quote(step.old_name)}")
        elif step.op == "add":
            clauses.append(f"ADD {_column(step.column)}{after}")
        elif step.op == "modify":
            clauses.append(f"MODIFY {_column(step.column)}{after}")
        elif step.op == "change":
            clauses.append(f"CHANGE {quote(step.old_name)} {_column(step.column)}{after}")
        else:
            raise ValueError(f"unknown alter step {step.op}")
    if comment is not None:
        clauses.append(f"COMMENT = {literal(comment)}")
    return f"ALTER TABLE {full_name(database, table)} " + ", ".join(clauses)
