"""Checking a batch of rows before anything is written: every problem of every row, by
list, row and attribute, found the way ``insert`` would find it, without writing.

The value rules are the ones ``insert`` and ``update1`` apply (one implementation:
:func:`.values.encode_for_write`, i.e. :func:`.values.encode` and
:func:`.domains.check`); on top of them a batch is checked for what the server would
refuse only one row at a time: required attributes (no default, not nullable, spec §3.4),
duplicate primary keys within the batch and against the table, and foreign keys whose
parent row exists neither in the parent table nor earlier in the batch (spec §3.5; a part
row's master may be a row of the same batch).

A foreign-key cell may hold text that names a parent row as people know it (a label, a
name): a ``resolver`` (e.g. :func:`.fk_search.resolve_parents`) turns such text into the
parent's key values; no match or several matches are problems of that cell.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .audit import audit_value
from .errors import DataJointError
from .heading import Attribute, ForeignKey, TableInfo
from .table import FreeTable
from .types import type_family
from .values import DEFAULT, encode_for_write

#: Keys restricted per query when looking rows up (parents, duplicates).
CHUNK = 500

#: resolver(connection, foreign key, texts) -> {text: [child attribute values, ...]}
Resolver = Callable[[Any, ForeignKey, Sequence[str]], Mapping[str, Sequence[Mapping[str, Any]]]]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason a batch is refused.

    Attributes:
        list: which list of the request: ``"rows"``, ``"parts.<PartClass>"`` or ``"updates"``.
        row: 0-based index of the row in that list.
        table: full table name (`` `db`.`tbl` ``).
        attribute: the attribute at fault, or None for the row as a whole.
        message: why, naming the table and attribute.
    """

    list: str
    row: int
    table: str
    attribute: str | None
    message: str

    def as_json(self) -> dict:
        """``{"list", "row", "table", "attribute", "message"}``."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Resolved:
    """Foreign-key values found for a cell's text: ``values`` (child attribute -> value)
    fill the row ``row`` of list ``list``."""

    list: str
    row: int
    values: dict

    def as_json(self) -> dict:
        """``{"list", "row", "values"}`` (values JSON-safe through ``str`` for dates)."""
        return {"list": self.list, "row": self.row, "values": self.values}


@dataclasses.dataclass
class RowSet:
    """Rows for one table: ``rows`` are dicts attribute -> value as given (strings from a
    paste, or JSON values); ``list`` names them in problems (``"rows"``, ``"parts.Trial"``)."""

    list: str
    info: TableInfo
    rows: list[dict]


@dataclasses.dataclass
class Update:
    """One ``update1``: the whole primary key of an existing row and the secondary
    attributes to set."""

    key: dict
    set: dict


class BatchError(DataJointError):
    """A batch was refused; ``problems`` lists every :class:`Problem` (nothing written)."""

    def __init__(self, problems: list[Problem]):
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(first.message + more, table=first.table, attribute=first.attribute)
        self.problems = problems


@dataclasses.dataclass
class CheckResult:
    """What :func:`check_rows` found: ``problems`` (empty when the batch would be
    accepted), ``rows`` (per RowSet list name, the rows to insert: every attribute given or
    defaulted, blank cells as None, foreign-key text replaced by the parent's values) and
    ``resolved`` (the cells whose text was resolved)."""

    problems: list[Problem]
    rows: dict[str, list[dict]]
    resolved: list[Resolved]


def cell_problem(rowset: RowSet, index: int, attribute: str | None, reason: str) -> Problem:
    """A :class:`Problem` of row ``index`` of ``rowset``, its message starting with the
    table's full name."""
    table = rowset.info.full_name
    return Problem(rowset.list, index, table, attribute, f"{table}: {reason}")


def is_blank(value: Any) -> bool:
    """None, or a string of whitespace only (an empty cell)."""
    return value is None or (isinstance(value, str) and not value.strip())


def canonical(attr: Attribute, value: Any) -> Any:
    """A value of ``attr`` in a form comparable between what was given, what was encoded
    and what the server returns (``decode=False``): text folded to lower case (LabBook's
    and DataJoint's default collations compare case-insensitively), decimals normalised,
    dates and datetimes ISO, uuids as bytes."""
    if value is None or value is DEFAULT:
        return None
    family = type_family(attr.type)
    if family == "text":
        return str(value).casefold()
    if family in ("integer", "bool"):
        return int(value)
    if family == "decimal":
        return decimal.Decimal(str(value)).normalize()
    if family == "float":
        return float(value)
    if family == "date":
        return value.isoformat() if isinstance(value, datetime.date) else str(value)[:10]
    if family == "datetime":
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value.strip())
        return value.isoformat(sep=" ")
    if family == "uuid":
        return value if isinstance(value, bytes) else uuid.UUID(str(value)).bytes
    return json.dumps(audit_value(attr, value), sort_keys=True)


def key_of(heading, names: Sequence[str], row: Mapping) -> tuple:
    return tuple(canonical(heading[n], row[n]) for n in names)


def _param(attr: Attribute, encoded: Any) -> Any:
    """An encoded value as a restriction takes it again (uuids travel as bytes)."""
    if attr.is_uuid and isinstance(encoded, bytes):
        return uuid.UUID(bytes=encoded)
    return encoded


def keys_present(conn, info: TableInfo, names: Sequence[str], keys: list[dict]) -> set[tuple]:
    """Canonical keys (over ``names``: primary-key attributes of ``info``) of the rows of
    ``keys`` (encoded values) that are in the table; each distinct key asked once, one query
    per :data:`CHUNK` keys."""
    found: set[tuple] = set()
    table = FreeTable(conn, info.ref).proj()
    heading = info.heading
    distinct = list({key_of(heading, names, key): key for key in keys}.values())
    for start in range(0, len(distinct), CHUNK):
        chunk = [
            {n: _param(heading[n], v) for n, v in key.items()}
            for key in distinct[start : start + CHUNK]
        ]
        for row in (table & chunk).to_dicts(decode=False):
            found.add(key_of(heading, names, row))
    return found


def _given(rowset: RowSet, index: int, row: Mapping, problems: list[Problem]) -> dict:
    """The row's values as the checks take them: blank cells None, JSON text parsed;
    attributes not in the heading are problems (and left out)."""
    info = rowset.info
    values: dict = {}
    for name, value in row.items():
        if name not in info.heading:
            problems.append(
                cell_problem(rowset, index, name, f"`{name}` is not in the table heading")
            )
            continue
        attr = info.heading[name]
        if is_blank(value):
            value = None
        elif isinstance(value, str) and attr.is_json and attr.store is None:
            try:
                value = json.loads(value)
            except ValueError as exc:
                problems.append(
                    cell_problem(rowset, index, name, f"invalid JSON for attribute `{name}`: {exc}")
                )
                value = None
        values[name] = value
    return values


def _encode_values(rowset: RowSet, index: int, values: dict, problems: list[Problem]) -> dict:
    """Encodings of ``values``; a value that does not fit its attribute
    is a problem of that cell. Stored (``<codec@store>``) values are checked by the insert
    itself (their objects are written then), so they are passed through."""
    info = rowset.info
    encoded = {}
    for name, value in values.items():
        attr = info.heading[name]
        if value is None:
            encoded[name] = None
            continue
        if attr.store is not None:
            encoded[name] = value
            continue
        try:
            encoded[name] = encode_for_write(attr, value, info.full_name)
        except DataJointError as exc:
            problems.append(Problem(rowset.list, index, info.full_name, name, str(exc)))
    return encoded


def _required(
    rowset: RowSet, index: int, values: dict, skip: set[str], problems: list[Problem]
) -> None:
    """Attributes with no value, no default, not nullable (spec §3.4), except ``skip``."""
    info = rowset.info
    problems.extend(
        cell_problem(
            rowset, index, attr.name, f"attribute `{attr.name}` is required and has no default"
        )
        for attr in info.heading
        if attr.name not in skip
        and values.get(attr.name) is None
        and not (attr.nullable or attr.default is not None or attr.autoincrement)
    )


class _Checker:
    """The state of one :func:`check_rows` call."""

    def __init__(self, conn, rowsets: list[RowSet], resolver: Resolver | None, catalog):
        self.conn = conn
        self.rowsets = rowsets
        self.resolver = resolver
        self.catalog = catalog
        self.problems: list[Problem] = []
        self.resolved: list[Resolved] = []
        self.values: dict[str, list[dict | None]] = {}
        self.encoded: dict[str, list[dict | None]] = {}
        #: (list, row) -> attributes whose text named no parent row or several
        self.unresolved: dict[tuple[str, int], set[str]] = {}

    def run(self) -> CheckResult:
        for rowset in self.rowsets:
            self.values[rowset.list] = [
                _given(rowset, i, row, self.problems) for i, row in enumerate(rowset.rows)
            ]
        for rowset in self.rowsets:
            self._resolve_foreign_keys(rowset)
            encoded = []
            for i, values in enumerate(self.values[rowset.list]):
                skip = self.unresolved.get((rowset.list, i), set())
                _required(rowset, i, values, skip, self.problems)
                encoded.append(_encode_values(rowset, i, values, self.problems))
            self.encoded[rowset.list] = encoded
        for rowset in self.rowsets:
            self._check_duplicates(rowset)
            self._check_parents(rowset)
        self.problems.sort(key=lambda p: (self._order(p.list), p.row))
        rows = {}
        for rowset in self.rowsets:
            names = [a.name for a in rowset.info.heading]
            given = set().union(*(v.keys() for v in self.values[rowset.list]))
            fields = [n for n in names if n in given]
            rows[rowset.list] = [{n: v.get(n) for n in fields} for v in self.values[rowset.list]]
        return CheckResult(self.problems, rows, self.resolved)

    def _order(self, name: str) -> int:
        for i, rowset in enumerate(self.rowsets):
            if rowset.list == name:
                return i
        return len(self.rowsets)

    # --- foreign keys given as text ---------------------------------------------------------
    def _resolve_foreign_keys(self, rowset: RowSet) -> None:
        """Replace a foreign key's cell text by the parent's values when the values given
        do not name a parent row: a single-attribute key whose value does not encode or is
        absent from the parent, or a compound key with one cell filled and the others blank."""
        if self.resolver is None:
            return
        info = rowset.info
        for fk in info.foreign_keys:
            if self._is_master_link(rowset, fk):
                continue
            columns = list(fk.columns)
            pending: dict[str, list[int]] = {}
            rows = self.values[rowset.list]
            candidates = []
            for i, values in enumerate(rows):
                given = [values.get(c) for c in columns]
                filled = [v for v in given if v is not None]
                if len(filled) != 1 or not isinstance(filled[0], str):
                    continue
                if len(columns) > 1 or not self._fits(info, columns[0], filled[0]):
                    pending.setdefault(filled[0].strip(), []).append(i)
                else:
                    candidates.append(i)
            if candidates:  # well-formed single values: resolve those not in the parent
                missing = self._missing_parents(rowset, fk, candidates)
                for i in missing:
                    pending.setdefault(str(rows[i][columns[0]]).strip(), []).append(i)
            if not pending:
                continue
            found = self.resolver(self.conn, fk, list(pending))
            parent = self.catalog.table(fk.parent.database, fk.parent.table)
            for text, indexes in pending.items():
                matches = list(found.get(text, ()))
                for i in indexes:
                    if len(matches) == 1:
                        rows[i].update(matches[0])
                        self.resolved.append(Resolved(rowset.list, i, dict(matches[0])))
                    else:
                        self.problems.append(
                            self._unresolved(rowset, i, fk, parent, text, len(matches))
                        )
                        for c in columns:
                            rows[i][c] = None
                        self.unresolved.setdefault((rowset.list, i), set()).update(columns)

    @staticmethod
    def _fits(info: TableInfo, name: str, value: Any) -> bool:
        try:
            encode_for_write(info.heading[name], value, info.full_name)
        except DataJointError:
            return False
        return True

    def _missing_parents(self, rowset: RowSet, fk: ForeignKey, indexes: list[int]) -> list[int]:
        info = rowset.info
        rows = self.values[rowset.list]
        parent = self.catalog.table(fk.parent.database, fk.parent.table)
        child, names = fk.columns, [p for _, p in fk.attr_map]
        keys = []
        for i in indexes:
            attr = info.heading[child[0]]
            keys.append({names[0]: encode_for_write(attr, rows[i][child[0]], info.full_name)})
        present = keys_present(self.conn, parent, names, keys) | self._batch_keys(fk, names)
        return [
            i
            for i, key in zip(indexes, keys)
            if (canonical(parent.heading[names[0]], key[names[0]]),) not in present
        ]

    def _unresolved(self, rowset, index, fk, parent, text, count) -> Problem:
        info = rowset.info
        attribute = fk.columns[0] if len(fk.columns) == 1 else None
        for c in fk.columns:
            if self.values[rowset.list][index].get(c) is not None:
                attribute = c
        if count == 0:
            reason = f"no row of {parent.class_name} ({parent.full_name}) matches {text!r}"
        else:
            reason = (
                f"{count} rows of {parent.class_name} ({parent.full_name}) match {text!r}: "
                "choose one in the picker or give its key"
            )
        return Problem(
            rowset.list,
            index,
            info.full_name,
            attribute,
            f"{info.full_name}: `{attribute}`: {reason}",
        )

    # --- keys -------------------------------------------------------------------------------
    def _check_duplicates(self, rowset: RowSet) -> None:
        info = rowset.info
        names = info.heading.primary_key
        encoded = self.encoded[rowset.list]
        seen: dict[tuple, int] = {}
        lookup: list[tuple[int, dict]] = []
        for i, enc in enumerate(encoded):
            if any(enc.get(n) is None for n in names):
                continue  # a key attribute missing or wrong: reported already
            key = key_of(info.heading, names, enc)
            if key in seen:
                self.problems.append(
                    cell_problem(
                        rowset,
                        i,
                        None,
                        f"duplicate primary key in this batch "
                        f"({shown_key(names, self.values[rowset.list][i])}; "
                        f"also row {seen[key] + 1})",
                    )
                )
                continue
            seen[key] = i
            lookup.append((i, {n: enc[n] for n in names}))
        if not lookup:
            return
        present = keys_present(self.conn, info, names, [k for _, k in lookup])
        for i, key in lookup:
            if key_of(info.heading, names, key) in present:
                self.problems.append(
                    duplicate_problem(rowset.list, i, info, self.values[rowset.list][i])
                )

    def _batch_keys(self, fk: ForeignKey, names: Sequence[str]) -> set[tuple]:
        """Canonical keys (over the parent's ``names``) of rows of the parent given in
        this batch (a master and its part rows are saved together)."""
        keys: set[tuple] = set()
        for rowset in self.rowsets:
            if rowset.info.ref != fk.parent:
                continue
            heading = rowset.info.heading
            for enc in self.encoded.get(rowset.list, ()):
                if enc and all(enc.get(n) is not None for n in names):
                    keys.add(key_of(heading, names, enc))
        return keys

    def _check_parents(self, rowset: RowSet) -> None:
        info = rowset.info
        encoded = self.encoded[rowset.list]
        for fk in info.foreign_keys:
            parent = self.catalog.table(fk.parent.database, fk.parent.table)
            child, names = list(fk.columns), [p for _, p in fk.attr_map]
            wanted: list[tuple[int, dict]] = []
            for i, enc in enumerate(encoded):
                vals = [enc.get(c) for c in child]
                if any(v is None for v in vals):
                    continue  # NULL (nullable) or an error reported already
                wanted.append((i, dict(zip(names, vals))))
            if not wanted:
                continue
            present = keys_present(self.conn, parent, names, [k for _, k in wanted])
            present |= self._batch_keys(fk, names)
            for i, key in wanted:
                if key_of(parent.heading, names, key) not in present:
                    shown = shown_key(child, self.values[rowset.list][i])
                    self.problems.append(
                        cell_problem(
                            rowset,
                            i,
                            child[0] if len(child) == 1 else None,
                            f"no parent row in {parent.class_name} ({parent.full_name}) "
                            f"with {shown}",
                        )
                    )

    def _is_master_link(self, rowset: RowSet, fk: ForeignKey) -> bool:
        """A part row's foreign key to its master (filled from the master row, not text)."""
        return rowset.info.master is not None and fk.parent == rowset.info.ref.master


def shown_key(names: Iterable[str], values: Mapping) -> str:
    """``a=1, b=2024-05-01 10:00`` for a message."""
    return ", ".join(f"{n}={values.get(n)!s}" for n in names)


def duplicate_problem(list_name: str, index: int, info: TableInfo, values: Mapping) -> Problem:
    """The problem of a row whose primary key is already in the table ``info``."""
    names = info.heading.primary_key
    return Problem(
        list_name,
        index,
        info.full_name,
        None,
        f"{info.full_name}: duplicate entry: a row with primary key "
        f"{shown_key(names, values)} already exists in {info.class_name}",
    )


def check_rows(conn, rowsets: list[RowSet], resolver: Resolver | None = None) -> CheckResult:
    """Check every row of every RowSet as ``insert`` would, and more, without writing.

    Args:
        conn: the data-model connection (reads only).
        rowsets: the rows per table, masters before their parts.
        resolver: turns foreign-key cell text into parent values, or None.
    Returns:
        a :class:`CheckResult`; its ``problems`` are sorted by list and row.
    """
    from .catalog import catalog_of

    return _Checker(conn, rowsets, resolver, catalog_of(conn)).run()
