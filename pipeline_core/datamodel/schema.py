"""Schema: a database used as a class decorator that declares tables (spec §3, §7, §8.1);
the DDL itself is sent by :mod:`.declaration`."""

from __future__ import annotations

import inspect
from typing import Any

from .catalog import catalog_of
from .connection import conn
from .declaration import declare_plan, resolve_reference
from .declare import declared_table
from .definition import parse_definition
from .drop import drop_schema
from .errors import DataJointError
from .sql import ddl, introspection
from .sql.quoting import check_declared_name


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
        self.database = check_declared_name(schema_name)
        self.connection = connection
        self.context = context
        catalog_of(connection).revalidate(self.database)  # sees the server as it is
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
        for name, part in list(vars(cls).items()):
            if _is_part_class(part) and not name.startswith("_"):
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
        definition = parse_definition(
            cls.definition, table=declared_table(self.database, table_name)
        )
        declare_plan(
            self.connection,
            self.database,
            table_name,
            definition,
            lambda ref: resolve_reference(ref, context),
        )

    def list_tables(self) -> list[str]:
        """Raw names of the schema's visible tables."""
        return [t.table_name for t in catalog_of(self.connection).tables(self.database)]

    def drop(self, cascade: bool = False) -> list[str]:
        """``DROP DATABASE``; refused while tables of other schemas depend on it, unless
        ``cascade=True`` (which drops those first). Returns the other tables dropped."""
        return drop_schema(self.connection, self.database, cascade=cascade)


def _is_part_class(value: Any) -> bool:
    """A Part class nested in a master (a class whose tier is ``Part``)."""
    return isinstance(value, type) and getattr(value, "_tier_", None) == "Part"
