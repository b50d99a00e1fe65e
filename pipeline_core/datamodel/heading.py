"""Attribute, Heading, ForeignKey and TableInfo: what a table looks like (spec §2, §14).

Frozen values built by :mod:`.catalog` from introspection, or by :mod:`.declare` before a
table exists. No SQL here.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence

from .errors import UnknownAttributeError
from .names import master_of, table_to_class_name, tier_of
from .tableref import TableRef
from .types import QUOTED_DEFAULT_TYPES

#: Escapes in a shown string default, as a MySQL string literal reads them back (the
#: declaration interprets them, spec §2.5), so describe() re-declares the same value.
_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        '"': '\\"',
        "\t": "\\t",
        "\n": "\\n",
        "\r": "\\r",
        "\b": "\\b",
        "\0": "\\0",
        "\x1a": "\\Z",
    }
)


@dataclasses.dataclass(frozen=True)
class Attribute:
    """One visible column of a table.

    Attributes:
        name: column name.
        type: declared type (``int32``, ``varchar(20)``, ``<blob>``, ``<blob@raw>``) or
            the native SQL type (``int unsigned``); for foreign-key columns, the declared
            type of the column they come from (spec §2.1).
        sql_type: column type as the server reports it (``int(11)``, ``longtext``).
        in_key: part of the primary key.
        nullable: the column accepts NULL (``=null`` in the definition).
        default: the default value as text (``mouse``, ``20.5``, ``current_timestamp()``)
            or None when the column has none or its default is NULL.
        default_is_expression: the default is an SQL expression (``current_timestamp()``).
        comment: the user comment, marker removed.
        codec: codec name (``blob``, ``attach``, ...) or None; legacy 0.14 markers map to
            the same names (spec §11).
        store: store name for stored codecs, else None.
        is_blob: values are DataJoint blobs (spec §4): ``<blob>``, or an unmarked blob
            column in a legacy 0.14 database.
        lineage: ``db.table.attribute`` where the value originates (spec §7), or None.
        autoincrement: the column is ``auto_increment``.
        database: the database of the table the column belongs to (set by introspection;
            locates the ``~external_<store>`` table of a 0.14 reference, spec §11).
    """

    name: str
    type: str
    sql_type: str
    in_key: bool
    nullable: bool
    default: str | None
    default_is_expression: bool
    comment: str
    codec: str | None = None
    store: str | None = None
    is_blob: bool = False
    lineage: str | None = None
    autoincrement: bool = False
    database: str | None = None

    @property
    def base_type(self) -> str:
        """Lower-case type name without parameters: ``varchar(20)`` -> ``varchar``."""
        return self.type.split("(")[0].strip().lower()

    @property
    def is_uuid(self) -> bool:
        return self.type == "uuid"

    @property
    def is_json(self) -> bool:
        """Values are JSON: ``json`` columns and 2.x stored codecs (spec §5)."""
        return self.type in ("json", "jsonb") or (
            self.store is not None and not self.is_legacy_reference
        )

    @property
    def is_legacy_reference(self) -> bool:
        """A DataJoint 0.14 external reference: ``binary(16)`` holding the hash that keys
        ``~external_<store>`` (spec §11)."""
        return self.store is not None and self.sql_type.lower().startswith("binary(16)")

    @property
    def is_bytes(self) -> bool:
        """Raw bytes column (``bytes`` or native blob not holding DataJoint blobs)."""
        return "blob" in self.sql_type.lower() and self.codec is None and not self.is_blob

    def default_text(self) -> str | None:
        """The default as DataJoint's describe() shows it (spec §2.5, §3.4), or None."""
        if self.nullable:
            return "null"
        if self.default is None:
            return None
        if not self.default_is_expression and self.base_type in QUOTED_DEFAULT_TYPES:
            return '"' + self.default.translate(_ESCAPES) + '"'
        return self.default


class Heading:
    """The ordered visible attributes of a table or query (spec §1.5: ``_`` columns hidden).

    Supports ``heading[name]``, iteration over attributes, ``name in heading``, ``len``.
    """

    def __init__(self, attributes: Sequence[Attribute]):
        self._attributes = {a.name: a for a in attributes}

    def __getitem__(self, name: str) -> Attribute:
        try:
            return self._attributes[name]
        except KeyError:
            raise UnknownAttributeError(f"`{name}` is not in the heading", attribute=name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._attributes

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self._attributes.values())

    def __len__(self) -> int:
        return len(self._attributes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Heading) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Heading({', '.join(self.names)})"

    @property
    def names(self) -> list[str]:
        return list(self._attributes)

    @property
    def primary_key(self) -> list[str]:
        return [a.name for a in self if a.in_key]

    @property
    def secondary_attributes(self) -> list[str]:
        return [a.name for a in self if not a.in_key]

    @property
    def blobs(self) -> list[str]:
        """Names of attributes whose values are large (blobs, bytes, stored codecs)."""
        return [a.name for a in self if a.is_blob or a.codec or a.is_bytes]

    def select(self, names: Sequence[str]) -> Heading:
        """A heading with only the given attributes, in the given order."""
        return Heading([self[n] for n in names])


@dataclasses.dataclass(frozen=True)
class ForeignKey:
    """A dependency: child columns referencing a parent's primary key (spec §3.2, §10).

    Attributes:
        child, parent: the two tables.
        attr_map: ``((child_column, parent_column), ...)`` in the FK's column order.
        primary: all child columns are in the child's primary key.
        nullable: the child columns are nullable (``[nullable]``).
        unique: a unique index has exactly the child columns (``[unique]``).
    """

    child: TableRef
    parent: TableRef
    attr_map: tuple[tuple[str, str], ...]
    primary: bool
    nullable: bool = False
    unique: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.attr_map)

    @property
    def aliased(self) -> bool:
        """Any column renamed (``-> Parent.proj(new='old')``)."""
        return any(c != p for c, p in self.attr_map)


@dataclasses.dataclass(frozen=True)
class Index:
    """A secondary index: its columns in order and whether it is unique (spec §3.3)."""

    columns: tuple[str, ...]
    unique: bool


@dataclasses.dataclass(frozen=True)
class TableInfo:
    """Everything introspection knows of one table (spec §14).

    Attributes:
        database, table_name: the table's location (raw name with tier prefix).
        comment: the table comment.
        heading: visible attributes.
        foreign_keys: dependencies on parents.
        indexes: non-primary indexes.
        row_estimate: InnoDB's TABLE_ROWS estimate (may be off by 50%) when the table was
            introspected (a shared catalog keeps it until the next DDL: for a current
            estimate ask :func:`.sql.introspection.row_estimate`).
        legacy: the database has no ``~lineage`` table (DataJoint 0.14 era, spec §11).
    """

    database: str
    table_name: str
    comment: str
    heading: Heading
    foreign_keys: tuple[ForeignKey, ...]
    indexes: tuple[Index, ...]
    row_estimate: int = 0
    legacy: bool = False

    @functools.cached_property
    def ref(self) -> TableRef:
        """The table's identity."""
        return TableRef(self.database, self.table_name)

    @property
    def full_name(self) -> str:
        """`` `database`.`table` `` (DataJoint's ``full_table_name``)."""
        return self.ref.full_name

    @functools.cached_property
    def tier(self) -> str | None:
        return tier_of(self.table_name)

    @functools.cached_property
    def master(self) -> str | None:
        """Raw table name of the master for a part table, else None."""
        return master_of(self.table_name)

    @functools.cached_property
    def class_name(self) -> str:
        """Class name as DataJoint derives it; ``Master.Part`` for part tables. A visible
        table whose name implies no tier (``bad name``, ``Mixed Case``: made by hand, no
        DataJoint class) is named by its raw table name."""
        if self.tier is None and not self.table_name.startswith("~"):
            return self.table_name
        master = self.master
        if master:
            return f"{table_to_class_name(master)}.{table_to_class_name(self.table_name)}"
        return table_to_class_name(self.table_name)
