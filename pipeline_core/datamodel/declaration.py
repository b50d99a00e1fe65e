"""Declaring and altering tables on the server (spec §3.5, §3.6, §7): the DDL that a
:class:`~.schema.Schema`, a jobs table and ``Table.alter`` send.

A declaration sends ``CREATE TABLE`` and then replaces the table's ``~lineage`` rows; if
writing lineage fails the new table is dropped, so a failed declaration leaves nothing. No
DDL runs inside a transaction (it would commit it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .alter import plan_alter
from .catalog import catalog_of
from .declare import plan_table
from .definition import TableDefinition
from .describe import class_namer, describe_table
from .errors import DataJointError, TransactionError
from .heading import TableInfo
from .sql import ddl
from .tableref import TableRef


def declare_plan(
    conn,
    database: str,
    table_name: str,
    definition: TableDefinition,
    resolve: Callable[[str], TableInfo],
) -> None:
    """Plan and create one table with its ``~lineage`` rows (spec §3.5, §7).

    Raises:
        DefinitionError: invalid definition (nothing is created).
        TransactionError: called inside a transaction (DDL would commit it).
    """
    ref = TableRef(database, table_name)
    if conn.in_transaction:
        raise TransactionError(f"Cannot declare {ref} inside a transaction", table=ref)
    plan = plan_table(database, table_name, definition, resolve)
    conn.query(ddl.create_table(plan), table=ref)
    try:
        conn.query(ddl.create_lineage_table(database))
        conn.query(ddl.delete_lineage(database), [table_name])
        rows = [value for attr, origin in plan.lineage for value in (table_name, attr, origin)]
        if rows:
            conn.query(ddl.insert_lineage(database, len(plan.lineage)), rows)
    except BaseException:
        conn.query(ddl.drop_table(database, table_name))
        raise
    finally:
        catalog_of(conn).invalidate(database)


def alter_table(cls, context: dict) -> str | None:
    """Alter ``cls``'s table to match ``cls.definition`` (secondary attributes and table
    comment only, spec §3.6). Returns the statement run, or None when nothing changed.

    Raises:
        DefinitionError: the change is not allowed (primary key, foreign keys, indexes).
    """
    conn = cls._connection_
    info = catalog_of(conn).table(cls.database, cls._compute_table_name())
    namer = class_namer(cls.database, context)
    current = describe_table(info, namer)
    names = {namer(fk.parent): fk.parent for fk in info.foreign_keys}

    def resolve(reference: str) -> TableInfo:
        if reference in names:
            return catalog_of(conn).get(names[reference])
        return resolve_reference(reference, context)

    steps, comment = plan_alter(info, current, cls.definition, resolve)
    if not steps and comment is None:
        return None
    if conn.in_transaction:
        raise TransactionError(f"Cannot alter {info.full_name} inside a transaction")
    sql = ddl.alter_table(cls.database, info.table_name, steps, comment)
    conn.query(sql, table=info.full_name)
    catalog_of(conn).invalidate(cls.database)
    return sql


def resolve_reference(reference: str, context: dict) -> TableInfo:
    """The table a definition's ``-> Name`` or ``-> module.Name.Part`` names, looked up in
    ``context`` without eval.

    Raises:
        DataJointError: the name is not defined, or not a table.
    """
    head, *rest = reference.split(".")
    if head not in context:
        raise DataJointError(f"`{head}` is not defined")
    obj: Any = context[head]
    for name in rest:
        if not hasattr(obj, name):
            raise DataJointError(f"`{reference}` is not defined")
        obj = getattr(obj, name)
    table_info = getattr(obj, "table_info", None)
    if table_info is None:
        raise DataJointError(f"`{reference}` is not a table")
    return table_info() if callable(table_info) else table_info
