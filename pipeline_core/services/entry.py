"""Data entry: a master row with its part rows inserted in one transaction, every problem
reported (foreign-key pickers search parents through :mod:`.fk`)."""

from __future__ import annotations

import dataclasses

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.heading import TableInfo

from .access import NotFoundError, connection, table_info, tier_phrase
from .audit import writer


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason an entry was refused: which table (full name; None = the master), which
    part row (index in the list given, or None), which attribute (or None) and why."""

    table: str | None
    row: int | None
    attribute: str | None
    message: str


class EntryError(dm.DataJointError):
    """An entry was refused; ``problems`` lists every :class:`Problem` found."""

    def __init__(self, problems: list[Problem]):
        super().__init__(
            "; ".join(p.message for p in problems),
            table=problems[0].table,
            attribute=problems[0].attribute,
        )
        self.problems = problems


def _short(message: str, table: str) -> str:
    """A message without its leading table name (shown beside a field of that table)."""
    return message[len(table) + 2 :] if message.startswith(table + ": ") else message


def _clean(
    info: TableInfo,
    row: dict,
    problems: list[Problem],
    table: str | None,
    index: int | None,
    inherited: frozenset = frozenset(),
) -> dict:
    """Values as the data model takes them: not-given ('' or None) values dropped (the
    default applies) or NULL when nullable; json parsed; every value checked, except the
    ``inherited`` ones (a part's master key, checked on the master)."""
    import json

    from pipeline_core.datamodel.values import encode

    clean: dict = {}
    for attr in info.heading:
        value = row.get(attr.name)
        if isinstance(value, str) and not value.strip() and attr.base_type != "bool":
            value = None
        if attr.name in inherited:
            if value is not None:
                clean[attr.name] = value
            continue
        if value is None:
            if attr.nullable:
                clean[attr.name] = None
            elif attr.default is None and not attr.autoincrement:
                problems.append(Problem(table, index, attr.name, f"`{attr.name}` is required"))
            continue
        try:
            if attr.is_json and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise dm.InvalidValueError(
                        f"invalid JSON for `{attr.name}`: {exc}", attribute=attr.name
                    ) from None
            if attr.store is not None:
                _check_stored(attr, value, info.full_name)
            else:
                encode(attr, value, info.full_name)
        except dm.DataJointError as exc:
            problems.append(Problem(table, index, attr.name, _short(str(exc), info.full_name)))
        clean[attr.name] = value
    return clean


def _check_stored(attr, value, table: str) -> None:
    """Check what can be checked of a value for a stored attribute before anything is
    written: an ``<attach@store>`` value is an ``Attachment`` or a file path. Other stored
    values are checked by the insert itself (which removes any object it wrote).

    Raises:
        InvalidValueError: an attachment of another kind.
    """
    from pathlib import Path

    from pipeline_core.datamodel.stores import Attachment

    if attr.codec == "attach" and not isinstance(value, (Attachment, str, Path)):
        raise dm.InvalidValueError(
            f"{table}: `{attr.name}` ({attr.type}) takes an uploaded file, "
            f"not a {type(value).__name__}",
            table=table,
            attribute=attr.name,
        )


def _refusal(exc: dm.DataJointError, info: TableInfo, key: dict) -> str:
    """A message for a refusal by the server, for people entering data."""
    if isinstance(exc, dm.DuplicateError):
        shown = " · ".join(f"{k}={v}" for k, v in key.items())
        return f"an entry with this primary key already exists in {info.class_name} ({shown})"
    return _short(str(exc), info.full_name)


def insert_entry(
    schema: str, table: str, row: dict, parts: dict[str, list[dict]] | None = None
) -> dict:
    """Insert one row of a Manual/Lookup table and its part rows in ONE transaction;
    nothing is inserted when anything is refused. Part rows inherit the master's key.

    Args:
        row: attribute -> value as entered (strings, bool; ``''``/None mean "not given";
            ``Attachment`` values for ``<attach>`` / ``<attach@store>`` attributes, whose
            stored objects are removed again when the entry is refused).
        parts: part table name -> part rows (their own attributes only).
    Returns:
        the primary key of the inserted row.
    Raises:
        EntryError: with every problem found (table, part row index, attribute, message).
    """
    info = table_info(schema, table)
    if info.tier not in ("Manual", "Lookup"):
        raise dm.DataJointError(
            f"{info.full_name} is {tier_phrase(info)}: only Manual and Lookup tables take entries",
            table=info.full_name,
        )
    catalog = catalog_of(connection())
    problems: list[Problem] = []
    master = _clean(info, row, problems, None, None)
    part_rows = []
    for part_name, rows in (parts or {}).items():
        part = catalog.table(schema, part_name)
        if part.master != info.table_name:
            raise NotFoundError(
                f"{part.full_name} is not a part of {info.full_name}", table=part.full_name
            )
        inherited = {
            c: p for fk in part.foreign_keys if fk.parent == info.ref for c, p in fk.attr_map
        }
        for index, part_row in enumerate(rows):
            given = dict(part_row, **{c: master.get(p) for c, p in inherited.items()})
            part_rows.append(
                (
                    part,
                    index,
                    _clean(part, given, problems, part.full_name, index, frozenset(inherited)),
                )
            )
    if problems:
        raise EntryError(problems)
    conn = writer()
    current: tuple[TableInfo, int | None, dict] = (info, None, master)
    try:
        with conn.transaction():
            dm.FreeTable(conn, info.ref).insert1(master)
            for current in part_rows:
                dm.FreeTable(conn, current[0].ref).insert1(current[2])
    except dm.DataJointError as exc:
        target, index, values = current
        key = {k: values.get(k) for k in target.heading.primary_key}
        raise EntryError(
            [
                Problem(
                    None if target is info else target.full_name,
                    index,
                    exc.attribute,
                    _refusal(exc, target, key),
                )
            ]
        ) from exc
    return {k: master.get(k) for k in info.heading.primary_key}
