"""Finding the parent row of a foreign key from text: as people type in an entry form
(:func:`search`), and for text pasted into a grid (:func:`resolve_parents`).

A parent row is known by its **label**: its primary-key values followed by its first two
descriptive secondary attributes (varchar, char, enum, date), joined by `` · ``
(``1 · Mickey · M``). Both functions answer in the **child's** attribute names, mapped
through the foreign key's ``attr_map`` (renamed foreign keys ``-> Subject.proj(reviewer=
"subject_id")`` give ``{"reviewer": 1}``); a compound foreign key is filled from one whole
parent row. SQL conditions come from :mod:`.sql.search` (values as parameters, the user's
``%`` and ``_`` literal); every query is bounded by a LIMIT, and the scans that no index can
serve by a time limit.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import re
import unicodedata
from collections.abc import Iterable

from .catalog import catalog_of
from .errors import QueryTimeoutError
from .heading import Attribute, ForeignKey, TableInfo
from .sql import introspection
from .sql import search as sql
from .table import FreeTable
from .types import type_family

#: Separator of the values in a label.
LABEL_SEPARATOR = " · "
#: Descriptive attributes (besides the key) shown in a label, and their types.
LABEL_ATTRIBUTES = 2
LABEL_TYPES = frozenset({"varchar", "char", "enum", "date"})
#: Secondary attributes searched and resolved by their text.
TEXT_TYPES = frozenset({"varchar", "char"})
#: Seconds a scan that no index serves may take (an unindexed attribute, a substring).
SCAN_BUDGET = 0.1
#: Parents with more rows than this (the server's estimate) are searched through index
#: ranges only: a scan of a large table cannot answer a keystroke in time.
SCAN_ROWS = 100_000
#: Values per ``IN (...)`` list when resolving many texts.
BATCH = 500
#: Parent rows returned per text matching a secondary attribute's value (more than one
#: already makes the text ambiguous).
MATCH_CAP = 10
#: The largest value of each integer column type (unsigned), for prefix ranges.
_INTEGER_MAX = {
    "tinyint": 2**8,
    "smallint": 2**16,
    "mediumint": 2**24,
    "int": 2**32,
    "integer": 2**32,
    "bigint": 2**64,
    "serial": 2**64,
}
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_NUMBER_TEXT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


@dataclasses.dataclass(frozen=True)
class ParentSearch:
    """What searching a foreign key's parent needs, read from its heading once.

    Attributes:
        fk: the foreign key; parent: the parent's TableInfo.
        key: the parent's primary key; label: the descriptive attributes of the label.
        searched: attributes matched by text (primary key and varchar/char secondaries).
    """

    fk: ForeignKey
    parent: TableInfo
    key: tuple[str, ...]
    label: tuple[str, ...]
    searched: tuple[str, ...]

    @classmethod
    def of(cls, conn, fk: ForeignKey) -> ParentSearch:
        """Read the parent of ``fk`` (MissingTableError if it is gone)."""
        parent = catalog_of(conn).get(fk.parent)
        heading = parent.heading
        key = tuple(heading.primary_key)
        secondary = [heading[n] for n in heading.secondary_attributes]
        label = tuple(a.name for a in secondary if a.base_type in LABEL_TYPES)[:LABEL_ATTRIBUTES]
        texts = tuple(a.name for a in secondary if a.base_type in TEXT_TYPES)
        searched = tuple(n for n in key if _searchable(heading[n])) + texts
        return cls(fk, parent, key, label, searched)

    @property
    def fetched(self) -> list[str]:
        """Attributes fetched for a result: key, label and searched ones."""
        return list(dict.fromkeys(self.key + self.label + self.searched))

    def child_values(self, row: dict) -> dict:
        """The foreign key's attributes (the child's names) -> the parent row's values."""
        return {child: row[parent] for child, parent in self.fk.attr_map}

    def label_of(self, row: dict, key_only: bool = False) -> str:
        """``1 · Mickey · M``: key values and the label attributes that are not null
        (``key_only``: the key values alone, ``1 · 2024-05-01 10:00:00``)."""
        values = [row[n] for n in self.key] + ([] if key_only else [row[n] for n in self.label])
        return LABEL_SEPARATOR.join(text_of(v) for v in values if v is not None)

    def result(self, row: dict) -> dict:
        """``{"values": child values, "key": parent key, "label": text}``."""
        return {
            "values": self.child_values(row),
            "key": {n: row[n] for n in self.key},
            "label": self.label_of(row),
        }

    def sort_key(self, row: dict) -> tuple:
        """Primary-key order (text compared case-insensitively, as the usual collations)."""
        return tuple(_sortable(row[n]) for n in self.key)


def text_of(value) -> str:
    """A value as people type it: dates ISO, datetimes ``YYYY-MM-DD HH:MM:SS``."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def _sortable(value):
    return (1, value.casefold()) if isinstance(value, str) else (0, value)


def _searchable(attr: Attribute) -> bool:
    """Key attributes matched by their text form: not blobs, bytes, uuids or json."""
    return not (attr.is_blob or attr.is_bytes or attr.is_uuid or attr.is_json or attr.codec)


def integer_prefix_ranges(text: str, sql_type: str) -> list[tuple[int, int]]:
    """The integers whose decimal text starts with ``text``, as ranges within the column
    type: ``"12"`` -> 12, 120-129, 1200-1299, ...; ``"-3"`` -> -3, -39..-30, ...; a text
    with a leading zero only matches 0 itself; empty when ``text`` is not an integer."""
    if not _INTEGER_TEXT.fullmatch(text):
        return []
    negative = text.startswith("-")
    digits = text.lstrip("-")
    base = sql_type.split("(")[0].split()[0].lower()
    top = _INTEGER_MAX.get(base, 2**64)
    if negative and "unsigned" in sql_type.lower():
        return []
    if digits.startswith("0"):
        return [(0, 0)] if digits == "0" and not negative else []
    value, ranges, scale = int(digits), [], 1
    while value * scale < top:
        low, high = value * scale, (value + 1) * scale - 1
        ranges.append((-high, -low) if negative else (low, high))
        scale *= 10
    return ranges


def _prefix_condition(attr: Attribute, text: str):
    """The condition "``attr``'s text starts with ``text``", or None when it cannot."""
    family = type_family(attr.type)
    if family == "integer":
        ranges = integer_prefix_ranges(text, attr.sql_type)
        return sql.between_any(attr.name, ranges) if ranges else None
    if family in ("float", "decimal"):
        return sql.equals_any(attr.name, [text]) if _NUMBER_TEXT.fullmatch(text) else None
    return sql.like(attr.name, text)


def _contains_condition(attr: Attribute, text: str):
    """The condition "``attr``'s text contains ``text``", or None for numbers (found by
    their prefix only: a digit inside a number is not how people look one up)."""
    if type_family(attr.type) in ("integer", "float", "decimal"):
        return None
    return sql.like(attr.name, text, contains=True)


def _indexed(info: TableInfo, name: str) -> bool:
    """``name`` leads the primary key or an index (a prefix condition is an index range)."""
    pk = info.heading.primary_key
    return (pk and pk[0] == name) or any(ix.columns[:1] == (name,) for ix in info.indexes)


def _rows(search: ParentSearch, conn, condition, limit: int, timeout=None) -> list[dict]:
    """Up to ``limit`` parent rows matching ``condition`` in key order; a scan past
    ``timeout`` seconds finds nothing (it is a convenience, not a promise)."""
    expr = FreeTable(conn, search.parent.ref).proj(*search.fetched)
    if condition is not None:
        expr = expr & condition
    try:
        return expr.to_dicts(order_by="KEY", limit=limit, timeout=timeout)
    except QueryTimeoutError:
        return []


def search(conn, fk: ForeignKey, text: str, limit: int = 20) -> list[dict]:
    """The parent rows a foreign key may take, for ``text`` typed by a person.

    Rows whose primary-key attribute or varchar/char secondary attribute **starts with**
    ``text`` come first, in primary-key order; then rows where one of them **contains**
    it (numbers excepted), in primary-key order; an empty ``text`` gives the first rows in
    key order. Text is compared as the columns' collations compare (usually
    case-insensitively); ``%`` and ``_`` are literal; integer attributes match by the start
    of their decimal text (``12`` finds 12, 120-129, 1200-...), decimal and float ones only
    exactly. Prefixes of indexed attributes (the first key attribute, the first of an
    index) are index ranges; a scan no index serves (an unindexed attribute, a substring)
    is made only on parents of at most :data:`SCAN_ROWS` rows, and stopped after
    :data:`SCAN_BUDGET` seconds (then it adds nothing).

    Returns:
        up to ``limit`` results ``{"values": {child attribute: value}, "key": {parent key},
        "label": "1 · Mickey · M"}`` with Python values (dates, decimals ...).
    Raises:
        MissingTableError: the parent is gone.
    """
    found = ParentSearch.of(conn, fk)
    text = text.strip()
    if not text:
        return [found.result(r) for r in _rows(found, conn, None, limit)]
    heading = found.parent.heading
    ranged, scanned = [], []
    for name in found.searched:
        condition = _prefix_condition(heading[name], text)
        if condition is not None:
            (ranged if _indexed(found.parent, name) else scanned).append(condition)
    rows = [r for c in ranged for r in _rows(found, conn, c, limit)]
    # the server's estimate now (a cached catalog's may be from before the table grew)
    small = introspection.row_estimate(conn, found.parent.ref) <= SCAN_ROWS
    if scanned and small:
        rows += _rows(found, conn, sql.any_of(scanned), limit, SCAN_BUDGET)
    first = _first(found, rows, limit)
    if len(first) < limit and small:
        contains = [_contains_condition(heading[n], text) for n in found.searched]
        contains = [c for c in contains if c is not None]
        if contains:
            more = _rows(found, conn, sql.any_of(contains), limit + len(first), SCAN_BUDGET)
            seen = {found.sort_key(r) for r in first}
            first += [r for r in more if found.sort_key(r) not in seen][: limit - len(first)]
    return [found.result(r) for r in first]


def _first(found: ParentSearch, rows: list[dict], limit: int) -> list[dict]:
    """The first ``limit`` distinct rows in key order."""
    unique = {found.sort_key(r): r for r in rows}
    return [unique[k] for k in sorted(unique)][:limit]


def _fold(text: str) -> str:
    """Text compared as the usual collations compare: case and accents ignored, trailing
    spaces ignored."""
    decomposed = unicodedata.normalize("NFKD", text.rstrip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def resolve_parents(conn, fk: ForeignKey, texts: Iterable[str]) -> dict[str, list[dict]]:
    """Resolve text pasted into a foreign key's cell to parent rows, for many texts at once.

    A text names a parent row when it equals (as the collation compares: case-insensitively
    as a rule; surrounding spaces ignored) its whole label (``1 · Mickey · M``), its key
    values joined as in the label (``1 · 2024-05-01 10:00:00``, or the value of a
    single-attribute primary key), or the value of one of its varchar/char
    secondary attributes. One query per :data:`BATCH` texts for each way of matching.

    Returns:
        ``{text: [child values, ...]}`` for every text given: no entry in the list means no
        parent, several mean the text is ambiguous (the caller reports either); values are
        keyed by the child's attribute names, one dict per parent row.
    Raises:
        MissingTableError: the parent is gone.
    """
    found = ParentSearch.of(conn, fk)
    given = list(dict.fromkeys(texts))
    wanted: dict[str, list[str]] = {}
    for t in given:
        if isinstance(t, str) and t.strip():
            wanted.setdefault(_fold(t.strip()), []).append(t)
    matches: dict[str, dict[tuple, dict]] = {t: {} for t in given}
    heading = found.parent.heading

    def add(folded: str, row: dict) -> None:
        for t in wanted.get(folded, ()):
            matches[t][found.sort_key(row)] = row

    stripped = [ts[0].strip() for ts in wanted.values()]
    if len(found.key) == 1:
        (name,) = found.key
        by_value: dict[tuple, tuple] = {}  # compared value -> (value asked, folded texts)
        for t in stripped:
            for value in _key_values(heading[name], [t]):
                by_value.setdefault(_value_key(value), (value, []))[1].append(_fold(t))
        for chunk in _chunks(list(by_value.values())):
            condition = sql.equals_any(name, [value for value, _ in chunk])
            for row in _rows(found, conn, condition, len(chunk)):
                _, folds = by_value.get(_value_key(row[name]), (None, []))
                for f in folds or [_fold(text_of(row[name]))]:
                    add(f, row)
    parts = [[p.strip() for p in t.split(LABEL_SEPARATOR.strip())] for t in stripped]
    keys = [tuple(p[: len(found.key)]) for p in parts if len(p) >= len(found.key) and len(p) > 1]
    for chunk in _chunks(list(dict.fromkeys(keys))):
        for row in _rows(found, conn, sql.rows_equal_any(found.key, chunk), len(chunk)):
            add(_fold(found.label_of(row)), row)
            add(_fold(found.label_of(row, key_only=True)), row)
    for name in found.searched:
        if name not in found.key and heading[name].base_type in TEXT_TYPES:
            for row in _equal_rows(found, conn, name, stripped):
                add(_fold(row[name]), row)
    return {t: [found.child_values(m[k]) for k in sorted(m)] for t, m in matches.items()}


def _value_key(value) -> tuple:
    """A key value as compared: numbers by value, text folded (see :func:`_fold`)."""
    if isinstance(value, str):
        return ("text", _fold(value))
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return ("number", decimal.Decimal(value))
    return ("text", _fold(text_of(value)))


def _equal_rows(found: ParentSearch, conn, name: str, texts: list[str]) -> list[dict]:
    """Parent rows whose attribute ``name`` equals one of ``texts``: at most
    :data:`MATCH_CAP` rows per value (one more than one already makes a text ambiguous), in
    one counting query and one fetch per :data:`BATCH` texts."""
    from .expression import U

    rows = []
    table = FreeTable(conn, found.parent.ref)
    for chunk in _chunks(texts):
        counts = U(name).aggr(table & sql.equals_any(name, chunk), n="count(*)").to_dicts()
        few = [c[name] for c in counts if c["n"] <= MATCH_CAP]
        many = [c[name] for c in counts if c["n"] > MATCH_CAP]
        if few:
            rows += _rows(found, conn, sql.equals_any(name, few), None)
        for value in many:
            rows += _rows(found, conn, sql.equals_any(name, [value]), MATCH_CAP)
    return rows


def _key_values(attr: Attribute, texts: list[str]) -> list:
    """The texts that can be values of a key attribute (integers parsed, so ``007`` is 7
    and ``abc`` asks nothing)."""
    family = type_family(attr.type)
    if family == "integer":
        return list(dict.fromkeys(int(t) for t in texts if _INTEGER_TEXT.fullmatch(t)))
    if family in ("float", "decimal"):
        return [decimal.Decimal(t) for t in texts if _NUMBER_TEXT.fullmatch(t)]
    return texts


def label_of_values(conn, fk: ForeignKey, values: dict) -> str | None:
    """The label of the parent row that the child's ``values`` of ``fk`` point to, or None
    when there is no such row (or a value is missing)."""
    found = ParentSearch.of(conn, fk)
    if any(values.get(c) in (None, "") for c in fk.columns):
        return None
    key = {parent: values[child] for child, parent in fk.attr_map}
    rows = (FreeTable(conn, fk.parent).proj(*found.fetched) & key).to_dicts(limit=1)
    return found.label_of(rows[0]) if rows else None
