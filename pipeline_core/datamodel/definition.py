"""Definition text -> frozen :class:`TableDefinition` (spec §3.1). No SQL, no database.

The grammar is written with pyparsing. Foreign-key references are kept as text
(``Session.Trial``, ``Subject.proj(reviewer="subject_id")``) and resolved later, at
declaration, against the schema's context (see :mod:`.declare`).
"""

from __future__ import annotations

import dataclasses
import re

import pyparsing as pp

from .errors import DefinitionError

_quoted = pp.QuotedString('"', esc_char="\\") | pp.QuotedString("'", esc_quote="''")


def _attribute_grammar() -> pp.ParserElement:
    name = pp.Regex(r"[a-z_][a-z0-9_]*")("name")
    default = pp.Suppress("=") + pp.SkipTo(":", ignore=_quoted)("default")
    codec = pp.Regex(r"<[^>]*>")
    plain = pp.Combine(
        pp.Word(pp.alphas) + pp.SkipTo(pp.Literal("#") | pp.StringEnd(), ignore=_quoted)
    )
    type_ = (codec | plain)("type")
    comment = pp.Suppress("#") + pp.rest_of_line("comment")
    return (
        name
        + pp.Optional(default)
        + pp.Suppress(":")
        + type_
        + pp.Optional(comment)
        + pp.StringEnd()
    )


def _foreign_key_grammar() -> pp.ParserElement:
    option = pp.Word(pp.alphas)
    options = pp.Suppress("[") + pp.Optional(pp.DelimitedList(option)) + pp.Suppress("]")
    identifier = pp.Regex(r"[A-Za-z_][A-Za-z0-9_]*")
    # a dotted name; a segment followed by "(" is a method call (.proj, .restrict), not a name
    dotted = pp.Regex(
        r"[A-Za-z_][A-Za-z0-9_]*(?:\.(?![A-Za-z_][A-Za-z0-9_]*\s*\()[A-Za-z_][A-Za-z0-9_]*)*"
    )
    rename = pp.Group(identifier + pp.Suppress("=") + (pp.QuotedString('"') | pp.QuotedString("'")))
    proj = (
        pp.Suppress(".")
        + pp.Suppress(pp.Keyword("proj"))
        + pp.Suppress("(")
        + pp.Optional(pp.DelimitedList(rename))
        + pp.Suppress(")")
    )
    return (
        pp.Suppress("->")
        + pp.Optional(pp.Group(options))("options")
        + dotted("ref")
        + pp.Optional(pp.Group(proj))("renames")
    )


def _index_grammar() -> pp.ParserElement:
    column = pp.Regex(r"[a-z_][a-z0-9_]*(\.[A-Za-z0-9_.\[\]]+(:[a-z0-9() ]+)?)?")
    return (
        pp.Optional(pp.CaselessKeyword("unique"))("unique")
        + pp.CaselessKeyword("index")
        + pp.Suppress("(")
        + pp.DelimitedList(column)("columns")
        + pp.Suppress(")")
        + pp.StringEnd()
    )


_ATTRIBUTE = _attribute_grammar()
_FOREIGN_KEY = _foreign_key_grammar() + pp.rest_of_line("rest")
_INDEX = _index_grammar()
_INDEX_LINE = re.compile(r"^(unique\s+)?index\s*\(.*\)\s*(#.*)?$", re.I)


@dataclasses.dataclass(frozen=True)
class AttributeLine:
    """``name [= default] : type [# comment]`` (spec §3.1 item 6).

    Attributes:
        default: the default text as written, stripped (``'mouse'``, ``20.5``,
            ``CURRENT_TIMESTAMP``), or None when absent. ``null`` makes it nullable.
    """

    name: str
    type: str
    default: str | None
    comment: str
    in_key: bool
    line: str

    @property
    def nullable(self) -> bool:
        """True when declared ``=null`` (the only way to be nullable, spec §2.5)."""
        return self.default is not None and self.default.lower() == "null"


@dataclasses.dataclass(frozen=True)
class ForeignKeyLine:
    """``-> [options] Reference[.proj(new="old", ...)]`` (spec §3.2).

    Attributes:
        reference: dotted name of the parent table class (``Session.Trial``,
            ``lab.Subject``), resolved against the schema context at declaration.
        renames: ``((new, old), ...)`` from ``.proj``.
        options: lower-case option names (``nullable``, ``unique``).
    """

    reference: str
    renames: tuple[tuple[str, str], ...]
    options: frozenset[str]
    in_key: bool
    line: str

    @property
    def nullable(self) -> bool:
        return "nullable" in self.options

    @property
    def unique(self) -> bool:
        return "unique" in self.options


@dataclasses.dataclass(frozen=True)
class IndexLine:
    """``[unique] index(a, b)`` (spec §3.1 item 5).

    Attributes:
        position: how many attribute and foreign-key lines precede it. DataJoint emits
            indexes in definition order, a ``-> [unique]`` line's index among them, and the
            server names indexes in that order (``a``, ``a_2``, spec §3.3).
    """

    columns: tuple[str, ...]
    unique: bool
    line: str
    position: int = 0


@dataclasses.dataclass(frozen=True)
class TableDefinition:
    """A parsed definition: the table comment, then attribute and foreign-key lines in
    order, then index lines."""

    comment: str
    lines: tuple[AttributeLine | ForeignKeyLine, ...]
    indexes: tuple[IndexLine, ...]


def parse_definition(text: str, table: str | None = None) -> TableDefinition:
    """Parse DataJoint definition text (spec §3.1).

    Args:
        text: the definition (a class's ``definition`` string).
        table: table name used in error messages.
    Raises:
        DefinitionError: naming the table, the line and the reason; also for an empty
            definition (DataJoint would declare it as a ``_singleton`` table, which is never
            what a class without a ``definition`` meant).
    """
    if not text.strip():
        raise DefinitionError("the definition is empty", table=table)
    lines = [line.strip() for line in text.strip().split("\n")]
    comment = ""
    if lines and lines[0].startswith("#"):
        comment = lines.pop(0)[1:].strip()
        if comment.startswith(":"):
            raise DefinitionError('table comment must not start with a colon ":"', table=table)
    in_key = True
    items: list[AttributeLine | ForeignKeyLine] = []
    indexes: list[IndexLine] = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.startswith("---"):
            in_key = False
        elif _is_foreign_key(line):
            items.append(_parse_foreign_key(line, in_key, table))
        elif _INDEX_LINE.match(line):
            indexes.append(_parse_index(re.sub(r"\s*#.*$", "", line), table, len(items)))
        else:
            items.append(_parse_attribute(line, in_key, table))
    return TableDefinition(comment, tuple(items), tuple(indexes))


def _is_foreign_key(line: str) -> bool:
    arrow = line.find("->")
    return arrow >= 0 and not any(c in line[:arrow] for c in "\"#'")


def _parse_foreign_key(line: str, in_key: bool, table: str | None) -> ForeignKeyLine:
    try:
        result = _FOREIGN_KEY.parse_string(line)
    except pp.ParseException as err:
        raise DefinitionError(
            f"invalid foreign key syntax at position {err.loc}", table=table, line=line
        ) from None
    rest = result.rest.strip()
    if rest.startswith(".proj"):
        raise DefinitionError(
            f'invalid foreign key syntax: "{rest}" (.proj() renames are written '
            'new_name="parent_attribute")',
            table=table,
            line=line,
        )
    if rest:
        # DataJoint refuses these too: "Dependency ... is not supported" (spec §3.2)
        raise DefinitionError(
            f'invalid foreign key syntax: "{rest}" (a foreign key references a '
            "table or its projection, not a restriction, join or other expression)",
            table=table,
            line=line,
        )
    options = frozenset(o.lower() for o in (result.options[0] if result.options else []))
    bad = options - {"nullable", "unique"}
    if bad:
        raise DefinitionError(
            f'invalid foreign key option "{sorted(bad)[0]}"', table=table, line=line
        )
    if in_key and "nullable" in options:
        raise DefinitionError("primary dependencies cannot be nullable", table=table, line=line)
    renames = tuple((new, old) for new, old in (result.renames[0] if result.renames else []))
    return ForeignKeyLine(result.ref, renames, options, in_key, line)


def _parse_index(line: str, table: str | None, position: int) -> IndexLine:
    try:
        result = _INDEX.parse_string(line)
    except pp.ParseException:
        raise DefinitionError("invalid index syntax", table=table, line=line) from None
    return IndexLine(tuple(result.columns), bool(result.unique), line, position)


def _parse_attribute(line: str, in_key: bool, table: str | None) -> AttributeLine:
    if line.startswith("_"):
        raise DefinitionError(
            "attribute names starting with an underscore are reserved for platform-managed columns",
            table=table,
            line=line,
        )
    try:
        result = _ATTRIBUTE.parse_string(line)
    except pp.ParseException as err:
        reason = (
            "attribute names must be lower case"
            if re.match(r"\s*[a-z0-9_]*[A-Z]", line)
            else f"invalid attribute syntax at position {err.loc}"
        )
        raise DefinitionError(reason, table=table, line=line) from None
    default = result.default.strip() if "default" in result else None
    # DataJoint drops trailing "#" characters of a comment ("and #" -> "and")
    comment = result.comment.rstrip("#").strip() if "comment" in result else ""
    attribute = AttributeLine(
        result.name, result.type.strip(), default or None, comment, in_key, line
    )
    if attribute.comment.startswith(":"):
        raise DefinitionError(
            "an attribute comment must not start with a colon",
            table=table,
            line=line,
            attribute=attribute.name,
        )
    if in_key and attribute.nullable:
        raise DefinitionError(
            "primary key attributes cannot be nullable",
            table=table,
            line=line,
            attribute=attribute.name,
        )
    return attribute
