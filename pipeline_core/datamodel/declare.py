"""Resolve a :class:`TableDefinition` into a :class:`TablePlan`: the columns, keys,
foreign keys, indexes and ``~lineage`` rows of a table to create (spec §3, §7).

Pure: parents are given as :class:`TableInfo` by a resolver callable; the SQL text is
rendered by :mod:`.sql.ddl`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pyparsing as pp

from .definition import AttributeLine, ForeignKeyLine, TableDefinition
from .errors import DataJointError, DefinitionError
from .heading import TableInfo
from .names import check_table_name_length, tier_of
from .sql.quoting import check_declared_name
from .tableref import TableRef
from .types import can_be_in_key, classify, is_blob_sql_type

#: Defaults DataJoint emits unquoted (spec §2.5); the server normalises the spelling.
_CONSTANT_DEFAULT = re.compile(r"(?i)current_timestamp(\(\d*\))?")


@dataclasses.dataclass(frozen=True)
class ColumnPlan:
    """A column to create. ``default`` is ``("literal", text)``, ``("expression", sql)``,
    ``("null", None)`` or None (no default); ``comment`` includes the type marker."""

    name: str
    sql_type: str
    nullable: bool
    default: tuple[str, str | None] | None
    comment: str
    in_key: bool


@dataclasses.dataclass(frozen=True)
class ForeignKeyPlan:
    """``FOREIGN KEY (columns) REFERENCES parent (parent_columns)``."""

    columns: tuple[str, ...]
    parent_database: str
    parent_table: str
    parent_columns: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class TablePlan:
    """Everything needed to emit ``CREATE TABLE`` and the ``~lineage`` rows (spec §3.5, §7)."""

    database: str
    table_name: str
    comment: str
    columns: tuple[ColumnPlan, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKeyPlan, ...]
    indexes: tuple[tuple[tuple[str, ...], bool], ...]
    lineage: tuple[tuple[str, str], ...]


#: ``_singleton`` column added when no primary key is declared (spec §1.5).
SINGLETON = ColumnPlan(
    "_singleton", "tinyint", False, ("literal", "1"), ":bool:singleton primary key", True
)


def declared_table(database: str, table_name: str) -> TableRef:
    """The identity of a table about to be declared.

    Raises:
        DefinitionError: the name is longer than MySQL's 64 characters (spec §1.1) or not
            an identifier DataJoint produces.
    """
    try:
        check_table_name_length(table_name)
        check_declared_name(database)
        check_declared_name(table_name)  # stricter than the names the server accepts
        return TableRef(database, table_name)
    except DataJointError as err:
        raise DefinitionError(str(err), table=TableRef.label(database, table_name)) from None


def plan_table(
    database: str, table_name: str, definition: TableDefinition, resolve: Callable[[str], TableInfo]
) -> TablePlan:
    """Plan a table from its parsed definition.

    Args:
        database, table_name: where the table goes (raw name with tier prefix).
        definition: the parsed definition.
        resolve: maps a foreign-key reference text (``Session.Trial``) to the parent's
            TableInfo; raises DataJointError when it cannot.
    Raises:
        DefinitionError: naming the table, the line and the reason (unknown type, bad
            default, missing parent, unknown index column, name too long, ...).
    """
    full = declared_table(database, table_name)
    columns: dict[str, ColumnPlan] = {}
    primary: list[str] = []
    fk_plans: list[ForeignKeyPlan] = []
    indexes: list[tuple[tuple[str, ...], bool]] = []  # in definition order
    fk_lineage: dict[str, str] = {}
    fk_columns: set[str] = set()
    for position, item in enumerate(definition.lines):
        indexes.extend((i.columns, i.unique) for i in definition.indexes if i.position == position)
        if isinstance(item, ForeignKeyLine):
            parent = _resolve_parent(item, resolve, full)
            plan, new_columns, lineage = _plan_foreign_key(item, parent, full, columns)
            for column in new_columns:
                columns[column.name] = column
            if item.in_key:
                primary.extend(c for c in plan.columns if c not in primary)
            fk_plans.append(plan)
            fk_columns.update(plan.columns)
            fk_lineage.update(lineage)  # as DataJoint: the last foreign key naming a column wins
            if item.unique:
                indexes.append((plan.columns, True))
        else:
            column = _plan_attribute(item, full)
            if column.name in fk_columns:
                continue  # a foreign key declared it already; DataJoint ignores the line too
            if column.name in columns:
                raise DefinitionError(
                    f"attribute `{column.name}` is declared twice",
                    table=full,
                    line=item.line,
                    attribute=column.name,
                )
            columns[column.name] = column
            if item.in_key:
                primary.append(column.name)
    indexes.extend(
        (i.columns, i.unique) for i in definition.indexes if i.position >= len(definition.lines)
    )
    tier = tier_of(table_name)
    if tier in ("Computed", "Imported"):
        own = [name for name in primary if name not in fk_columns]
        if own:
            raise DefinitionError(
                f"auto-populated table has non-FK primary key attribute(s) {', '.join(own)}",
                table=full,
            )
    if not primary:
        columns[SINGLETON.name] = SINGLETON
        primary.append(SINGLETON.name)
    for index in definition.indexes:
        for name in index.columns:
            if name.split(".")[0] not in columns:
                raise DefinitionError(
                    f"index column `{name}` is not an attribute",
                    table=full,
                    line=index.line,
                    attribute=name,
                )
    lineage = _lineage(database, table_name, primary, fk_lineage)
    ordered = tuple(
        c if c.in_key == (c.name in primary) else dataclasses.replace(c, in_key=c.name in primary)
        for c in columns.values()
    )
    return TablePlan(
        database,
        table_name,
        definition.comment,
        ordered,
        tuple(primary),
        tuple(fk_plans),
        tuple(indexes),
        lineage,
    )


def _lineage(
    database: str, table_name: str, primary: list[str], fk_lineage: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    """``~lineage`` rows as DataJoint writes them (spec §7): every foreign-key column with
    its parent's origin, then each other primary-key column as its own origin."""
    own = {name: f"{database}.{table_name}.{name}" for name in primary if name not in fk_lineage}
    return tuple({**fk_lineage, **own}.items())


def _resolve_parent(
    item: ForeignKeyLine, resolve: Callable[[str], TableInfo], full: TableRef
) -> TableInfo:
    try:
        return resolve(item.reference)
    except DataJointError as err:
        raise DefinitionError(
            f"foreign key reference {item.reference} could not be resolved ({err})",
            table=full,
            line=item.line,
        ) from None


def _plan_foreign_key(
    item: ForeignKeyLine, parent: TableInfo, full: TableRef, existing: dict[str, ColumnPlan]
):
    renamed = {old: new for new, old in item.renames}
    pk = parent.heading.primary_key
    unknown = set(renamed) - set(pk)
    if unknown:
        raise DefinitionError(
            f"proj renames `{sorted(unknown)[0]}`, which is not in the primary key "
            f"of {parent.full_name}",
            table=full,
            line=item.line,
        )
    new_columns, lineage, child_columns = [], {}, []
    for name in pk:
        attr = parent.heading[name]
        child = renamed.get(name, name)
        child_columns.append(child)
        lineage[child] = attr.lineage or f"{parent.database}.{parent.table_name}.{name}"
        if child in existing or any(c.name == child for c in new_columns):
            continue
        comment = (":uuid:" + attr.comment) if attr.is_uuid else attr.comment
        new_columns.append(
            ColumnPlan(
                child,
                attr.sql_type,
                item.nullable,
                ("null", None) if item.nullable else None,
                comment,
                item.in_key,
            )
        )
    plan = ForeignKeyPlan(tuple(child_columns), parent.database, parent.table_name, tuple(pk))
    return plan, new_columns, lineage


def _plan_attribute(item: AttributeLine, full: TableRef) -> ColumnPlan:
    try:
        declared = classify(item.type)
    except DataJointError as err:
        raise DefinitionError(str(err), table=full, line=item.line, attribute=item.name) from None
    if item.in_key and not can_be_in_key(declared.sql_type):
        raise DefinitionError(
            f"{item.type} attributes cannot be in the primary key (the server "
            "cannot index blob, text or json columns)",
            table=full,
            line=item.line,
            attribute=item.name,
        )
    comment = (f":{declared.marker}:" if declared.marker else "") + item.comment
    default = _plan_default(item, full)
    if default and default[0] != "null" and is_blob_sql_type(declared.sql_type):
        raise DefinitionError(
            "the default value for blob attributes can only be NULL",
            table=full,
            line=item.line,
            attribute=item.name,
        )
    return ColumnPlan(item.name, declared.sql_type, item.nullable, default, comment, item.in_key)


#: A MySQL single-quoted string literal: ``''`` and backslash escapes inside.
_SQL_STRING = pp.QuotedString("'", esc_char="\\", esc_quote="''", unquote_results=False)
_SQL_ESCAPE = re.compile(r"\\(.)|''", re.S)
#: Backslash escapes MySQL interprets in string literals; ``\%`` and ``\_`` keep the
#: backslash, any other ``\x`` is ``x`` (MySQL manual, "String Literals").
_SQL_ESCAPES = {
    "0": "\x00",
    "b": "\b",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "Z": "\x1a",
    "%": "\\%",
    "_": "\\_",
}


def _plan_default(item: AttributeLine, full: TableRef) -> tuple[str, str | None] | None:
    """The default of an attribute line as DataJoint sends it (spec §2.5).

    DataJoint writes every non-constant default into a single-quoted SQL literal: a
    single-quoted default as written, a double-quoted one re-quoted (its ``'`` doubled), an
    unquoted one wrapped in quotes; the server then interprets ``''`` and backslash escapes.
    The value kept here is the one the server stores, so that :func:`.sql.quoting.literal`
    renders it back exactly.
    """
    text = item.default
    if text is None:
        return None
    if item.nullable:
        return ("null", None)
    if _CONSTANT_DEFAULT.fullmatch(text):
        return ("expression", text.upper())
    if text[0] == '"' and text[-1] == '"' and len(text) >= 2:
        value = sql_string_value("'" + text[1:-1].replace("'", "''") + "'")
    elif text[0] == "'":
        value = sql_string_value(text)
    elif any(c in text for c in "\"'`;()"):
        value = None
    else:
        value = sql_string_value(f"'{text}'")
    if value is None or "\x00" in value:
        raise DefinitionError(
            f"invalid default value {text}", table=full, line=item.line, attribute=item.name
        )
    return ("literal", value)


def sql_string_value(literal: str) -> str | None:
    """The value the server stores for a single-quoted SQL string literal, or None when
    ``literal`` is not exactly one such literal (``'it''s'`` -> ``it's``,
    ``'a\\\\b'`` -> ``a\\b``)."""
    try:
        _SQL_STRING.parse_string(literal, parse_all=True)
    except pp.ParseException:
        return None
    return _SQL_ESCAPE.sub(_unescape, literal[1:-1])


def _unescape(match: re.Match) -> str:
    """One ``''`` or backslash escape of a string literal -> the character(s) stored."""
    if match.group(1) is None:
        return "'"
    return _SQL_ESCAPES.get(match.group(1), match.group(1))
