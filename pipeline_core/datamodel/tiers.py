"""Tier classes users subclass: Manual, Lookup, Imported, Computed, Part (spec §1.2).

A class's table name is its tier prefix plus its CamelCase name converted (spec §1.1);
a Part's is its master's name, ``__``, and its own. Class-level access to table
operations (``Subject.insert1(...)``, ``Subject & key``) instantiates the table, as in
DataJoint.
"""

from __future__ import annotations

from .errors import DataJointError
from .names import TIER_PREFIXES, class_to_table_base
from .populate import AutoPopulate
from .table import Table

#: Names that, accessed on a table class, are forwarded to a fresh instance.
_INSTANCE_ATTRIBUTES = frozenset(
    {
        "heading",
        "primary_key",
        "insert",
        "insert1",
        "update1",
        "delete_quick",
        "drop_quick",
        "drop",
        "to_dicts",
        "fetch",
        "fetch1",
        "keys",
        "head",
        "proj",
        "restrict",
        "parents",
        "children",
        "populate",
        "progress",
        "jobs",
        "key_source",
        "full_table_name",
        "ref",
        "table_info",
        "tier",
        "make_sql",
        "connection",
        "jobs_table",
        "describe",
        "alter",
        "aggr",
        "aggregate",
        "join",
        "extend",
        "tail",
        "to_arrays",
        "to_pandas",
        "stream",
        "delete",
        "node",
        "delete_preview",
    }
)


class TableMeta(type):
    """Metaclass giving table classes DataJoint's class-level operators and methods."""

    def __getattribute__(cls, name):
        if name in _INSTANCE_ATTRIBUTES and type.__getattribute__(cls, "_connection_") is not None:
            return getattr(cls(), name)
        return super().__getattribute__(name)

    def __and__(cls, condition):
        return cls() & condition

    def __sub__(cls, condition):
        return cls() - condition

    def __xor__(cls, condition):
        return cls() ^ condition  # raises DataJoint's "removed in DataJoint 2.0" error

    def __matmul__(cls, other):
        return cls() @ other  # likewise

    def __mul__(cls, other):
        return cls() * other

    def __add__(cls, other):
        return cls() + other

    def __len__(cls):
        return len(cls())

    def __iter__(cls):
        return iter(cls())

    def __contains__(cls, key):
        return key in cls()

    @property
    def table_name(cls) -> str:
        return cls._compute_table_name()


class UserTable(Table, metaclass=TableMeta):
    """Base of the tier classes. ``definition`` holds the table definition (spec §3)."""

    definition: str = ""
    _tier_: str = ""
    _table_name_: str | None = None  # fixed name (virtual classes); else derived

    @classmethod
    def _compute_table_name(cls) -> str:
        if cls._table_name_:
            return cls._table_name_
        # derived once per class (its name and tier never change); read on every key of a
        # populate, so kept in the class's own namespace (never inherited by a subclass)
        derived = type.__getattribute__(cls, "__dict__").get("_derived_table_name_")
        if derived is None:
            if not cls._tier_:
                raise DataJointError(f"{cls.__name__} is not a tier class")
            derived = TIER_PREFIXES[cls._tier_] + class_to_table_base(cls.__name__)
            type.__setattr__(cls, "_derived_table_name_", derived)
        return derived

    @property
    def table_name(self) -> str:
        return type(self)._compute_table_name()


class Manual(UserTable):
    """Rows entered by people (spec §1.2, table name without prefix)."""

    _tier_ = "Manual"


class Lookup(UserTable):
    """Reference contents; ``contents`` are inserted at declaration (table name ``#...``)."""

    _tier_ = "Lookup"
    contents: list = []


class Imported(UserTable, AutoPopulate):
    """Filled by ``make(key)`` from outside data through ``populate()`` (``_...``)."""

    _tier_ = "Imported"


class Computed(UserTable, AutoPopulate):
    """Filled by ``make(key)`` from upstream tables through ``populate()`` (``__...``)."""

    _tier_ = "Computed"


class Part(UserTable):
    """Rows that belong to a master row; nested in the master class (spec §1.3).

    The table name is ``<master table name>__<part base name>``. ``-> master`` in the
    definition refers to the master.
    """

    _tier_ = "Part"
    _master_ = None

    @classmethod
    def _compute_table_name(cls) -> str:
        if cls._table_name_:
            return cls._table_name_
        if cls._master_ is None:
            raise DataJointError(
                f"Part table {cls.__name__} must be nested in a master class declared by a schema"
            )
        return cls._master_._compute_table_name() + "__" + class_to_table_base(cls.__name__)

    @property
    def master(self):
        return self._master_
