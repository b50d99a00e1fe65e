"""Classes built from introspection of any DataJoint database (spec §14):
:class:`VirtualModule` and :func:`list_schemas`."""

from __future__ import annotations

import types

from .catalog import catalog_of
from .connection import conn
from .errors import DataJointError
from .names import table_to_class_name
from .sql import introspection
from .tiers import Computed, Imported, Lookup, Manual, Part

_TIER_CLASSES = {
    "Manual": Manual,
    "Lookup": Lookup,
    "Imported": Imported,
    "Computed": Computed,
    "Part": Part,
}


def list_schemas(connection=None, *, prefix: str = "") -> list[str]:
    """Names of all databases on the server except the server's own (``connection``
    default: the shared one, :func:`~.connection.conn`); with ``prefix`` (a LabBook
    addition) only those starting with it, filtered by the server."""
    return introspection.list_databases(conn() if connection is None else connection, prefix)


def table_class(connection, database: str, table_name: str) -> type:
    """A class of the right tier for one existing table (no make()), e.g. to read the
    progress() and jobs of an auto-populated table without building a whole module.

    Raises:
        MissingTableError: no such table; DataJointError: the name matches no tier.
    """
    info = catalog_of(connection).table(database, table_name)
    if info.tier is None:
        raise DataJointError(f"{info.full_name} matches no DataJoint tier", table=info.full_name)
    return type(
        table_to_class_name(table_name),
        (_TIER_CLASSES[info.tier],),
        {
            "database": database,
            "_connection_": connection,
            "_table_name_": table_name,
            "definition": "",
        },
    )


class VirtualModule(types.ModuleType):
    """A module whose attributes are table classes for every table of a schema.

    Master classes carry their parts as attributes (``vm.Session.Trial``). Tables whose
    names match no tier are skipped. ``vm.schema_name`` and ``vm.connection`` are set.

    Args:
        module_name: the module's name (for display).
        schema_name: the database to introspect.
        connection: a :class:`~.connection.Connection`; default: the shared one,
            :func:`~.connection.conn` (from ``config``), as in DataJoint.
    """

    def __init__(self, module_name: str, schema_name: str, *, connection=None):
        super().__init__(module_name)
        if connection is None:
            connection = conn()
        self.schema_name = schema_name
        self.connection = connection
        infos = catalog_of(connection).tables(schema_name)
        classes: dict[str, type] = {}
        for info in sorted(infos, key=lambda t: t.master is not None):
            tier = info.tier
            if tier is None:
                continue
            cls = type(
                table_to_class_name(info.table_name),
                (_TIER_CLASSES[tier],),
                {
                    "database": schema_name,
                    "_connection_": connection,
                    "_table_name_": info.table_name,
                    "__module__": module_name,
                    "definition": "",
                },
            )
            classes[info.table_name] = cls
            if info.master and info.master in classes:
                cls._master_ = classes[info.master]
                setattr(classes[info.master], cls.__name__, cls)
            elif not info.master:
                setattr(self, cls.__name__, cls)
