"""Declared types <-> column types (spec §2).

A declared type is one of: a *core type* (``int32``, ``varchar(20)``, ...), a *codec*
(``<blob>``, ``<blob@store>``, ...) or a *native* SQL type passed through verbatim.
Core types and codecs are recorded in the column comment as ``:<declared type>:``
(spec §2.1); native types are not.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import pyparsing as pp

from .errors import DataJointError

#: Core type name -> (full-string pattern, SQL type or None if the declared text is the
#: SQL type), spec §2.2. Order matters only for readability; patterns do not overlap.
CORE_TYPES: dict[str, tuple[str, str | None]] = {
    "float32": (r"float32", "float"),
    "float64": (r"float64", "double"),
    "int64": (r"int64", "bigint"),
    "int32": (r"int32", "int"),
    "int16": (r"int16", "smallint"),
    "int8": (r"int8", "tinyint"),
    "bool": (r"bool", "tinyint"),
    "uuid": (r"uuid", "binary(16)"),
    "json": (r"jsonb?", "json"),
    "bytes": (r"bytes", "longblob"),
    "date": (r"date", None),
    "datetime": (r"datetime(\s*\(\d+\))?", None),
    "char": (r"char\s*\(\d+\)", None),
    "varchar": (r"varchar\s*\(\d+\)", None),
    "enum": (r"enum\s*\(.+\)", None),
    "decimal": (r"decimal\s*\(\d+\s*,\s*\d+\)", None),
}
_CORE = {name: re.compile(pattern, re.I | re.S) for name, (pattern, _) in CORE_TYPES.items()}

#: Native SQL type families passed through without a marker (spec §2.3).
NATIVE_PATTERNS: dict[str, re.Pattern] = {
    name: re.compile(p, re.I)
    for name, p in {
        "integer": r"(((tiny|small|medium|big|)int|integer)(\s*\(.+\))?(\s+unsigned)?"
        r"(\s+auto_increment)?|serial)",
        "numeric": r"(decimal|numeric|dec|fixed)(\s*\(.+\))?(\s+unsigned)?(\s+zerofill)?",
        "float": r"(double|float|real)(\s*\(.+\))?(\s+unsigned)?",
        "string": r"(var)?char\s*\(.+\)",
        "temporal": r"(time|timestamp|year)(\s*\(.+\))?",
        "blob": r"(tiny|small|medium|long)?blob",
        "text": r"(tiny|small|medium|long)?text",
    }.items()
}

#: Codec name -> (column type in-table, column type in a store or None if the codec
#: needs a store, whether values are DataJoint blobs), spec §2.4.
CODECS: dict[str, tuple[str | None, str | None]] = {
    "blob": ("longblob", "json"),
    "attach": ("longblob", "json"),
    "hash": (None, "json"),
    "object": (None, "json"),
    "npy": (None, "json"),
    "filepath": (None, "json"),
}
_CODEC = re.compile(r"<\s*([A-Za-z][A-Za-z0-9_]*)\s*(@\s*([A-Za-z0-9_\-]*))?\s*>")


@dataclasses.dataclass(frozen=True)
class DeclaredType:
    """A classified declared type.

    Attributes:
        text: the declared type as written (e.g. ``varchar(20)``, ``<blob@raw>``).
        kind: ``"core"``, ``"codec"`` or ``"native"``.
        name: core type name (``varchar``), codec name (``blob``) or native family.
        sql_type: the column type to emit in DDL (e.g. ``smallint``, ``longblob``).
        store: store name for ``<codec@store>`` (``""`` for ``<codec@>``), else None.
    """

    text: str
    kind: str
    name: str
    sql_type: str
    store: str | None = None

    @property
    def marker(self) -> str | None:
        """The comment marker text (without colons), or None for native types (spec §2.1)."""
        return self.text if self.kind in ("core", "codec") else None


def classify(text: str) -> DeclaredType:
    """Classify a declared type (spec §2.2–2.4).

    Raises:
        DataJointError: unsupported type (e.g. ``uint8``, ``int24``, ``set(...)``,
            ``binary(16)``), an ``enum`` whose values are not quoted strings, an unknown
            codec, or a store-only codec declared without ``@store``.
    """
    text = text.strip()
    if text.startswith("<"):
        match = _CODEC.fullmatch(text)
        if not match:
            raise DataJointError(f"Invalid codec type {text}")
        name, has_store, store = match.group(1), match.group(2), match.group(3)
        if name not in CODECS:
            raise DataJointError(f"Unknown codec <{name}> in type {text}")
        in_table, in_store = CODECS[name]
        if has_store:
            return DeclaredType(text, "codec", name, in_store, store or "")
        if in_table is None:
            raise DataJointError(f"Codec <{name}> requires @store: use <{name}@store>")
        return DeclaredType(text, "codec", name, in_table)
    for name, pattern in _CORE.items():
        if pattern.fullmatch(text):
            if name == "enum":
                _check_enum(text)
            sql = CORE_TYPES[name][1] or text
            return DeclaredType(text, "core", name, sql)
    for family, pattern in NATIVE_PATTERNS.items():
        if pattern.fullmatch(text):
            return DeclaredType(text, "native", family, text)
    raise DataJointError(f"Unsupported attribute type {text}")


def _enum_type() -> pp.ParserElement:
    """``enum(...)``: one or more quoted values, as the server accepts them (spec §2.2)."""
    value = pp.QuotedString("'", esc_char="\\", esc_quote="''") | pp.QuotedString(
        '"', esc_char="\\", esc_quote='""'
    )
    return (
        pp.CaselessKeyword("enum") + pp.Suppress("(") + pp.DelimitedList(value) + pp.Suppress(")")
    )


#: A declared enum; any other text (an unbalanced quote, a bare word) would only fail later,
#: in the server.
_ENUM = _enum_type() + pp.StringEnd()

#: ``:enum(...):comment``: the values of an enum may hold ":", where the plain marker
#: pattern (spec §2.1) would end the type.
_ENUM_MARKER = (
    pp.Suppress(":")
    + pp.original_text_for(_enum_type())("type")
    + pp.Suppress(pp.Literal(":").leave_whitespace())
    + pp.Regex(r".*", re.S).leave_whitespace()("comment")
).parse_with_tabs()


def enum_values(text: str) -> list[str]:
    """The values of an ``enum(...)`` type in declaration order (MySQL sorts an enum by
    this order, not alphabetically).

    Raises:
        DataJointError: ``text`` is not an enum type.
    """
    try:
        return list(_ENUM.parse_string(text.strip()))[1:]
    except pp.ParseException:
        raise DataJointError(f"Invalid enum type {text}") from None


def _check_enum(text: str) -> None:
    try:
        _ENUM.parse_string(text)
    except pp.ParseException:
        raise DataJointError(
            f"Invalid enum type {text}: the values must be quoted strings separated by commas"
        ) from None


#: Column types a primary key cannot hold (blobs, texts, json; the server refuses them).
_UNKEYABLE = re.compile(r"((tiny|small|medium|long)?(blob|text)|json)", re.I)


def can_be_in_key(sql_type: str) -> bool:
    """False for blob, text and json columns, which cannot be primary-key attributes
    (spec §2.4: DataJoint leaves that to the server)."""
    return not _UNKEYABLE.fullmatch(sql_type.strip())


_MARKER = re.compile(r"^:([^:]+):(.*)$", re.S)


def parse_comment(comment: str) -> tuple[str | None, str]:
    """Split a column comment into (declared type marker or None, user comment), spec §2.1.

    Also recognises DataJoint 0.14 markers (``:blob:``, ``:blob@store:``, ``:attach:``,
    ``:filepath@store:``, ``:uuid:``), which are returned as written (spec §11). An enum
    marker is read to its closing parenthesis, so values holding ``:`` stay whole
    (``:enum('a:b'):x`` -> ``("enum('a:b')", "x")``; datajoint 2.3.5 splits it at ``a:``).
    """
    try:
        result = _ENUM_MARKER.parse_string(comment or "", parse_all=True)
        return result.type, result.comment
    except pp.ParseException:
        pass
    match = _MARKER.match(comment or "")
    if not match:
        return None, comment or ""
    return match.group(1), match.group(2)


_DISPLAY_WIDTH = re.compile(r"^((?:tiny|small|medium|big)?int)\(\d+\)")


def strip_display_width(sql_type: str) -> str:
    """Remove integer display widths reported by the server: ``int(11)`` -> ``int``,
    ``smallint(5) unsigned`` -> ``smallint unsigned`` (spec §2.3)."""
    return _DISPLAY_WIDTH.sub(r"\1", sql_type)


def is_blob_sql_type(sql_type: str) -> bool:
    """True for column types that hold bytes (``*blob``), which take no non-NULL default."""
    return "blob" in sql_type.lower()


# --- type families (one home for the facts the codec, fetch, queries and forms use) -----------

#: Base type names (declared core types, native names) by family (spec §2.2, §2.3).
INTEGER_TYPES = frozenset(
    {
        *("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
        *("tinyint", "smallint", "mediumint", "int", "bigint", "integer", "serial"),
    }
)
FLOAT_TYPES = frozenset({"float32", "float64", "float", "double", "real"})
#: Single-precision floats: the server sends them rounded to 6 digits (spec §12.9).
SINGLE_PRECISION_TYPES = frozenset({"float32", "float"})
#: Types whose literal defaults DataJoint's describe() writes double-quoted (spec §2.5).
QUOTED_DEFAULT_TYPES = frozenset(
    {"char", "varchar", "enum", "time", "timestamp", "year", "date", "datetime"}
)
DECIMAL_TYPES = frozenset({"decimal", "numeric", "dec", "fixed"})
TEXT_TYPES = frozenset({"char", "varchar", "enum", "text", "tinytext", "mediumtext", "longtext"})
#: numpy dtype of a (signed, non-nullable) column of each numeric base type.
NUMPY_DTYPES = {
    **{name: name for name in ("int8", "int16", "int32", "int64", "float32", "float64")},
    "tinyint": "int8",
    "smallint": "int16",
    "int": "int32",
    "bigint": "int64",
    "float": "float32",
    "double": "float64",
}


@functools.lru_cache(maxsize=4096)
def base_name(declared: str) -> str:
    """The lower-case type name without parameters or modifiers: ``varchar(20)`` ->
    ``varchar``, ``int unsigned`` -> ``int``, ``DOUBLE`` -> ``double``."""
    head = declared.split("(")[0].strip().lower()
    return head.split()[0] if head else head


@functools.lru_cache(maxsize=4096)
def type_family(declared: str) -> str:
    """The family of a declared (or native) type: ``"integer"``, ``"float"``,
    ``"decimal"``, ``"bool"``, ``"text"``, ``"date"``, ``"datetime"``, ``"uuid"``,
    ``"json"``, ``"codec"`` or ``"other"``; ``"expression"`` for computed attributes."""
    name = base_name(declared)
    if declared.lstrip().startswith("<"):
        return "codec"
    for family, names in (
        ("integer", INTEGER_TYPES),
        ("float", FLOAT_TYPES),
        ("decimal", DECIMAL_TYPES),
        ("text", TEXT_TYPES),
    ):
        if name in names:
            return family
    if name in ("json", "jsonb"):
        return "json"
    if name in ("bool", "date", "datetime", "uuid", "expression"):
        return name
    return "other"


def is_numeric(declared: str) -> bool:
    """True for integer, floating-point and decimal types."""
    return type_family(declared) in ("integer", "float", "decimal")


def numpy_dtype(attr) -> str | None:
    """The numpy dtype of an attribute in a record array (spec §9.7 ``to_arrays``): signed
    numbers that cannot be NULL get theirs; anything else is an object field (None)."""
    if attr.nullable or "unsigned" in attr.type.lower():
        return None
    return NUMPY_DTYPES.get(base_name(attr.type))


def comparable(attr, *, ordered: bool = True) -> bool:
    """Whether a restriction may compare an attribute's values (spec §9.1): never blobs,
    codecs (their columns hold encoded bytes or store metadata) or json. Raw ``bytes``
    columns only for equality (``ordered=False``, a dict restriction).

    Args:
        attr: an :class:`~.heading.Attribute`.
        ordered: the comparison orders values (``<``, ``between``, ``in``...), not just
            tests equality.
    """
    if attr.is_blob or attr.codec is not None or attr.is_json:
        return False
    return not (ordered and attr.is_bytes)
