"""Schema: a database used as a class decorator that declares tables (spec §3, §7, §8.1).

Declaration sends ``CREATE TABLE`` and then replaces the table's ``~lineage`` rows; if
writing lineage fails the new table is dropped, so a failed declaration leaves nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .catalog import catalog_of
from .connection import conn
from .declare import plan_table
from .definition import TableDefinition, parse_definition
from .errors import DataJointError, TransactionError
from .heading import TableInfo
from .sql import ddl, introspection
from .sql.quoting import check_identifier


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
    if conn.in_transaction:
        raise TransactionError(f"Cannot declare `{database}`.`{table_name}` inside a transaction")
    plan = plan_table(database, table_name, definition, resolve)
    conn.query(ddl.create_table(plan), table=f"`{database}`.`{table_name}`")
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


class Schema:
    """A DataJoint schema (one database), used as a class decorator.

    Args:
        schema_name: the database name.
        context: namespace for resolving ``-> Parent`` references; default: the locals
            and globals of the code that applies the decorator.
        connection: a :class:`~.connection.Connection`; default: the shared one,
            :func:`~.connection.conn` (from ``config``), as in DataJoint.
        create_schema: create the database if it does not exist.

    Raises:
        DataJointError: the database is missing and not to be created, or (no connection
            given) the config lacks a user or password.
    """

    def __init__(
        self,
        schema_name: str,
        context: dict | None = None,
        *,
        connection=None,
        create_schema: bool = True,
    ):
        if connection is None:
            connection = conn()
        self.database = check_identifier(schema_name)
        self.connection = connection
        self.context = context
        catalog_of(connection).invalidate(self.database)  # a new Schema sees the server as it is
        if self.database not in introspection.list_databases(connection):
            if not create_schema:
                raise DataJointError(f"Schema `{schema_name}` does not exist")
            connection.query(ddl.create_database(self.database))

    def __repr__(self) -> str:
        return f"Schema({self.database!r})"

    def __call__(self, cls, *, context: dict | None = None):
        """Declare ``cls`` (and its nested Part classes) in this schema; returns ``cls``."""
        if context is None:
            context = self.context
        if context is None:
            frame = inspect.currentframe().f_back
            context = {**frame.f_globals, **frame.f_locals}
        self._declare_class(cls, context)
        from .tiers import Part

        for name, part in list(vars(cls).items()):
            if isinstance(part, type) and issubclass(part, Part) and not name.startswith("_"):
                part._master_ = cls
                self._declare_class(part, {**context, "master": cls, cls.__name__: cls})
        contents = getattr(cls, "contents", None)
        if contents:
            table = cls()
            if len(contents) > len(table):
                table.insert(contents, skip_duplicates=True)
        return cls

    def _declare_class(self, cls, context: dict) -> None:
        cls.database = self.database
        cls._connection_ = self.connection
        table_name = cls._compute_table_name()
        catalog = catalog_of(self.connection)
        if any(t.table_name == table_name for t in catalog.tables(self.database)):
            return
        full = f"`{self.database}`.`{table_name}`"
        definition = parse_definition(cls.definition, table=full)
        declare_plan(
            self.connection,
            self.database,
            table_name,
            definition,
            lambda ref: _resolve(ref, context),
        )

    def list_tables(self) -> list[str]:
        """Raw names of the schema's visible tables."""
        return [t.table_name for t in catalog_of(self.connection).tables(self.database)]

    def drop(self, cascade: bool = False) -> list[str]:
        """``DROP DATABASE``; refused while tables of other schemas depend on it, unless
        ``cascade=True`` (which drops those first). Returns the other tables dropped."""
        from .drop import drop_schema

        return drop_schema(self.connection, self.database, cascade=cascade)


def alter_table(cls, context: dict) -> str | None:
    """Alter ``cls``'s table to match ``cls.definition`` (secondary attributes and table
    comment only, spec §3.6). Returns the statement run, or None when nothing changed.

    Raises:
        DefinitionError: the change is not allowed (primary key, foreign keys, indexes).
    """
    from .alter import plan_alter
    from .describe import class_namer, describe_table

    conn = cls._connection_
    info = catalog_of(conn).table(cls.database, cls._compute_table_name())
    namer = class_namer(cls.database, context)
    current = describe_table(info, namer)
    names = {namer(fk.parent): fk.parent for fk in info.foreign_keys}

    def resolve(ref: str) -> TableInfo:
        if ref in names:
            return catalog_of(conn).table(*names[ref].strip("`").split("`.`"))
        return _resolve(ref, context)

    steps, comment = plan_alter(info, current, cls.definition, resolve)
    if not steps and comment is None:
        return None
    if conn.in_transaction:
        raise TransactionError(f"Cannot alter {info.full_name} inside a transaction")
    sql = ddl.alter_table(cls.database, info.table_name, steps, comment)
    conn.query(sql, table=info.full_name)
    catalog_of(conn).invalidate(cls.database)
    return sql


def _resolve(reference: str, context: dict) -> TableInfo:
    """Resolve ``Name`` or ``module.Name.Part`` against the context, without eval."""
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
