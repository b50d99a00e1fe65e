"""JSON query description -> :class:`~..expression.QueryExpression`: validation against the
headings and construction (format: :mod:`.query_json`)."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

from ..catalog import catalog_of
from ..condition import AGGREGATE_FUNCTIONS, OPERATORS, Aggregate, AndList, Comparison, Not
from ..errors import DataJointError, MissingTableError, QueryDescriptionError
from ..expression import QueryExpression, U, check_compatible
from ..nodes import TableNode
from ..heading import Attribute, Heading, TableInfo
from ..paging import ordering
from ..sql.quoting import check_identifier
from ..values import DEFAULT, encode

MAX_DEPTH = 10  #: nesting of queries and condition groups
MAX_TABLES = 16  #: table references in one description
MAX_CONDITIONS = 200  #: comparisons and matching terms in one description
MAX_LIST = 500  #: items of any list or object (values of ``in``, keep, join, ...)
MAX_STRING = 4096  #: characters of a string value
MAX_LIMIT = 1000  #: rows per page
MAX_INTEGER = 2**64

_TOP_KEYS = ("from", "join", "where", "proj", "aggr", "group", "order", "limit", "after")
_QUERY_KEYS = _TOP_KEYS[:6]
_NEW_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*)?")
_RESERVED = ("self", "group", "exclude_nonmatching")  # keyword parameters of proj/aggr
_TEXT_TYPES = (
    "char",
    "varchar",
    "enum",
    "text",
    "tinytext",
    "mediumtext",
    "longtext",
    "expression",
)
_NUMBER_TYPES = (
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "bigint",
    "integer",
    "float32",
    "float64",
    "float",
    "double",
    "real",
    "decimal",
    "numeric",
    "bool",
    "expression",
)

#: ``resolve(schema, table) -> TableInfo``, raising MissingTableError for an unknown table
#: (with ``table=None`` when the schema itself is unknown or holds no table).
Resolver = Callable[[str, str], TableInfo]


@dataclasses.dataclass(frozen=True)
class DescribedQuery:
    """A description turned into an expression, with its paging.

    Attributes:
        expression: the :class:`~.expression.QueryExpression` (order and paging not applied).
        order: ``((attribute, descending), ...)`` as described (not completed by the key).
        limit: rows per page, or None when not given.
        after: the keyset cursor (``{attribute: JSON value}``), or None.
    """

    expression: QueryExpression
    order: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    after: dict | None = None

    @property
    def order_by(self) -> list[str] | None:
        """``order`` as :func:`.paging.page` takes it (``["a DESC", "b"]``), or None."""
        return [f"{n} DESC" if d else n for n, d in self.order] or None


def catalog_resolver(connection) -> Resolver:
    """A resolver finding visible (non-``~``) tables by raw or class name through the
    connection's catalog."""
    catalog = catalog_of(connection)

    def resolve(schema: str, name: str) -> TableInfo:
        tables = catalog.tables(schema)
        if not tables:
            raise MissingTableError(f"no schema `{schema}` (or it holds no table)")
        for info in tables:
            if name in (info.table_name, info.class_name):
                return info
        raise MissingTableError(
            f"no table or class `{name}` in schema `{schema}`", table=f"`{schema}`.`{name}`"
        )

    return resolve


def to_query(
    description: Any, connection=None, *, resolve: Resolver | None = None
) -> DescribedQuery:
    """Validate a description (see the module docstring) and build its expression.

    Args:
        description: the parsed JSON (a dict).
        connection: the :class:`~.connection.Connection` the expression runs on; tables are
            found in its catalog unless ``resolve`` is given.
        resolve: ``(schema, table) -> TableInfo`` (raising MissingTableError); other
            DataJointErrors it raises (e.g. a schema that is not visible) pass through.
    Returns:
        a :class:`DescribedQuery`.
    Raises:
        QueryDescriptionError: anything invalid, with ``path`` naming where.
    """
    if resolve is None:
        if connection is None:
            raise ValueError("to_query needs a connection or a resolver")
        resolve = catalog_resolver(connection)
    return _Parser(resolve, connection).top(description)


# --- helpers ---------------------------------------------------------------------------------
def _at(path: str, key: Any) -> str:
    return f"{path}.{_shown(key)}" if path else _shown(key)


def _shown(text: Any, length: int = 64) -> str:
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    for types, name in (
        (bool, "a boolean"),
        ((int, float), "a number"),
        (str, "a string"),
        ((list, tuple), "an array"),
        (dict, "an object"),
    ):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _object(value: Any, path: str, what: str, allowed: tuple, required: tuple = ()) -> dict:
    if not isinstance(value, dict):
        raise QueryDescriptionError(f"expected {what} (an object), not {_kind(value)}", path)
    if len(value) > MAX_LIST:
        raise QueryDescriptionError(f"too many keys (at most {MAX_LIST})", path)
    for key in value:
        if key not in allowed:
            raise QueryDescriptionError(
                f"unknown key {_shown(key)!r} in {what}; expected " + ", ".join(allowed),
                _at(path, key),
            )
    for key in required:
        if key not in value:
            raise QueryDescriptionError(f"{what} needs {key!r}", _at(path, key))
    return value


def _mapping(value: Any, path: str, what: str) -> dict:
    """An object whose keys are new names (renames, aggregates)."""
    if not isinstance(value, dict):
        raise QueryDescriptionError(f"expected {what} (an object), not {_kind(value)}", path)
    if len(value) > MAX_LIST:
        raise QueryDescriptionError(f"too many keys (at most {MAX_LIST})", path)
    return value


def _list(value: Any, path: str, what: str, minimum: int = 0) -> list:
    if not isinstance(value, list):
        raise QueryDescriptionError(f"expected {what} (an array), not {_kind(value)}", path)
    if len(value) > MAX_LIST:
        raise QueryDescriptionError(f"too many items (at most {MAX_LIST})", path)
    if len(value) < minimum:
        raise QueryDescriptionError(f"expected at least {minimum} item(s) in {what}", path)
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise QueryDescriptionError(f"expected true or false, not {_kind(value)}", path)
    return value


def _scalar(value: Any, path: str) -> Any:
    """A JSON string, finite number or boolean."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise QueryDescriptionError(f"string longer than {MAX_STRING} characters", path)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise QueryDescriptionError("numbers must be finite", path)
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= MAX_INTEGER:
            raise QueryDescriptionError("integer out of range", path)
    elif not isinstance(value, bool):
        raise QueryDescriptionError(
            f"expected a string, number or boolean, not {_kind(value)}"
            + ("; use the operator 'is null'" if value is None else ""),
            path,
        )
    return value


def _attribute(name: Any, heading: Heading, path: str) -> Attribute:
    if not isinstance(name, str):
        raise QueryDescriptionError(f"expected an attribute name, not {_kind(name)}", path)
    if name not in heading:
        known = ", ".join(heading.names[:30]) + (", ..." if len(heading) > 30 else "")
        raise QueryDescriptionError(
            f"unknown attribute {_shown(name)!r}; the heading has: {known}",
            path,
            attribute=_shown(name),
        )
    return heading[name]


def _comparable(attr: Attribute, path: str, doing: str) -> Attribute:
    if attr.is_blob or attr.codec is not None or attr.is_bytes or attr.is_json:
        raise QueryDescriptionError(
            f"cannot {doing} `{attr.name}` ({attr.type})", path, attribute=attr.name
        )
    return attr


def _names(value: Any, heading: Heading, path: str, what: str) -> list[str]:
    names = _list(value, path, what)
    for i, name in enumerate(names):
        _attribute(name, heading, f"{path}[{i}]")
        if names.index(name) != i:
            raise QueryDescriptionError(f"`{name}` is named twice", f"{path}[{i}]", attribute=name)
    return names


def _new_name(name: Any, path: str, taken) -> str:
    if not isinstance(name, str) or not _NEW_NAME.fullmatch(name) or name in _RESERVED:
        raise QueryDescriptionError(
            f"invalid new attribute name {_shown(name)!r}: use lower-case "
            "letters, digits and _ (starting with a letter; not " + ", ".join(_RESERVED) + ")",
            path,
        )
    if name in taken:
        raise QueryDescriptionError(f"attribute `{name}` already exists", path, attribute=name)
    return name


def _check_value(attr: Attribute, value: Any, path: str) -> None:
    """The value fits the attribute (encoded as the compiler will)."""
    if attr.type == "expression":
        return
    try:
        encoded = encode(attr, value)
    except DataJointError as exc:
        raise QueryDescriptionError(
            f"invalid value {_shown(repr(value))} for `{attr.name}` ({attr.type})",
            path,
            attribute=attr.name,
        ) from exc
    if encoded is DEFAULT:
        raise QueryDescriptionError(
            f"empty value for `{attr.name}` ({attr.type}); use the operator 'is null'",
            path,
            attribute=attr.name,
        )


def _guarded(path: str, build: Callable[[], Any]) -> Any:
    """Run an operator; its data-model errors become description errors at ``path``."""
    try:
        return build()
    except QueryDescriptionError:
        raise
    except (DataJointError, ValueError, TypeError) as exc:
        raise QueryDescriptionError(
            str(exc), path, attribute=getattr(exc, "attribute", None)
        ) from exc


# --- description -> expression -------------------------------------------------------------------
class _Parser:
    def __init__(self, resolve: Resolver, connection):
        self.resolve = resolve
        self.connection = connection
        self.tables = 0
        self.conditions = 0

    @staticmethod
    def depth(path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise QueryDescriptionError(f"nested too deeply (at most {MAX_DEPTH} levels)", path)

    def top(self, description: Any) -> DescribedQuery:
        d = _object(description, "", "a query", _TOP_KEYS, ("from",))
        expr = self.query(d, "", 0)
        heading = expr.heading
        order = []
        for i, item in enumerate(_list(d.get("order", []), "order", "an order")):
            path = f"order[{i}]"
            item = _object(item, path, "an order item", ("attribute", "descending"), ("attribute",))
            attr = _comparable(
                _attribute(item["attribute"], heading, _at(path, "attribute")),
                _at(path, "attribute"),
                "order by",
            )
            if attr.name in (n for n, _ in order):
                raise QueryDescriptionError(
                    f"`{attr.name}` is ordered twice", path, attribute=attr.name
                )
            order.append((attr.name, _bool(item.get("descending", False), _at(path, "descending"))))
        limit = d.get("limit")
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT
        ):
            raise QueryDescriptionError(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
        after = d.get("after")
        if after is not None:
            names = [n for n, _ in ordering(expr, [f"{n} DESC" if s else n for n, s in order])]
            after = _object(after, "after", "a cursor", tuple(names), tuple(names))
            for name, value in after.items():
                if value is not None:
                    _check_value(
                        heading[name], _scalar(value, _at("after", name)), _at("after", name)
                    )
        return DescribedQuery(expr, tuple(order), limit, after)

    def query(self, d: dict, path: str, depth: int) -> QueryExpression:
        self.depth(path, depth)
        expr = self.source(d["from"], _at(path, "from"), depth + 1)
        if "join" in d:
            items = _list(d["join"], _at(path, "join"), "a list of sources", 1)
            for i, item in enumerate(items):
                expr = self.join(expr, item, f"{_at(path, 'join')}[{i}]", depth + 1)
        if "where" in d:
            condition = self.condition(d["where"], expr, _at(path, "where"), depth + 1)
            expr = _guarded(_at(path, "where"), lambda: expr.restrict(condition))
        if "proj" in d:
            expr = self.proj(d["proj"], expr, _at(path, "proj"))
        if "aggr" in d and "group" in d:
            raise QueryDescriptionError(
                "use either aggr or group (nest queries for both)", _at(path, "group")
            )
        if "aggr" in d:
            expr = self.aggr(d["aggr"], expr, _at(path, "aggr"), depth + 1)
        if "group" in d:
            expr = self.group(d["group"], expr, _at(path, "group"))
        return expr

    def source(
        self, value: Any, path: str, depth: int, cross_allowed: bool = False
    ) -> QueryExpression:
        extra = ("cross",) if cross_allowed else ()
        if isinstance(value, dict) and "from" in value:
            for key in ("order", "limit", "after"):
                if key in value:
                    raise QueryDescriptionError(
                        f"{key} is allowed only at the top level", _at(path, key)
                    )
            return self.query(_object(value, path, "a query", _QUERY_KEYS + extra), path, depth)
        d = _object(
            value,
            path,
            "a table {schema, table} or a query {from, ...}",
            ("schema", "table", *extra),
            ("schema", "table"),
        )
        schema, table = d["schema"], d["table"]
        if not isinstance(schema, str) or not _valid_identifier(schema):
            raise QueryDescriptionError(
                f"invalid schema name {_shown(repr(schema))}", _at(path, "schema")
            )
        if not isinstance(table, str) or not (
            _valid_identifier(table) or _CLASS_NAME.fullmatch(table)
        ):
            raise QueryDescriptionError(
                f"invalid table name {_shown(repr(table))}: a raw table name or a class name",
                _at(path, "table"),
            )
        self.tables += 1
        if self.tables > MAX_TABLES:
            raise QueryDescriptionError(f"too many tables (at most {MAX_TABLES})", path)
        try:
            info = self.resolve(schema, table)
        except MissingTableError as exc:
            raise QueryDescriptionError(
                str(exc), _at(path, "table" if exc.table else "schema"), table=exc.table
            ) from None
        return QueryExpression(
            self.connection, TableNode(info.ref, info.heading, not info.legacy)
        )

    def join(self, expr: QueryExpression, item: Any, path: str, depth: int) -> QueryExpression:
        other = self.source(item, path, depth, cross_allowed=True)
        cross = _bool(item.get("cross", False), _at(path, "cross"))
        shared = [n for n in expr.heading.names if n in other.heading]
        if not shared and not cross:
            raise QueryDescriptionError(
                "no attribute in common with the query so far; add "
                '"cross": true for a cross product',
                path,
            )
        if shared and cross:
            raise QueryDescriptionError(
                f'"cross": true, but the operands share {", ".join(shared)}', _at(path, "cross")
            )
        _semantic_check(expr, other, path)
        return _guarded(path, lambda: expr.join(other))

    def condition(self, value: Any, expr: QueryExpression, path: str, depth: int) -> Any:
        self.depth(path, depth)
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("and", "or"):
            key = next(iter(value))
            items = _list(value[key], _at(path, key), "a list of conditions", 1)
            parts = [
                self.condition(c, expr, f"{_at(path, key)}[{i}]", depth + 1)
                for i, c in enumerate(items)
            ]
            return AndList(parts) if key == "and" else tuple(parts)
        if isinstance(value, dict) and len(value) == 1 and "not" in value:
            return Not(self.condition(value["not"], expr, _at(path, "not"), depth + 1))
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise QueryDescriptionError(f"too many conditions (at most {MAX_CONDITIONS})", path)
        if isinstance(value, dict) and len(value) == 1 and "matching" in value:
            other = self.source(value["matching"], _at(path, "matching"), depth + 1)
            if not set(expr.heading.names) & set(other.heading.names):
                raise QueryDescriptionError(
                    "the matched query shares no attribute with the rows restricted: it would keep "
                    "all rows or none",
                    _at(path, "matching"),
                )
            _semantic_check(expr, other, _at(path, "matching"))
            return other
        return self.comparison(value, expr.heading, path)

    def comparison(self, value: Any, heading: Heading, path: str) -> Comparison:
        if not isinstance(value, dict) or ("attribute" not in value and "operator" not in value):
            raise QueryDescriptionError(
                "expected a condition: {attribute, operator, value}, "
                "{and: [...]}, {or: [...]}, {not: ...} or {matching: ...}; "
                f"not {_kind(value)}"
                + (
                    " with keys " + ", ".join(map(_shown, list(value)[:5]))
                    if isinstance(value, dict)
                    else ""
                ),
                path,
            )
        d = _object(
            value,
            path,
            "a comparison",
            ("attribute", "operator", "value"),
            ("attribute", "operator"),
        )
        attr = _comparable(
            _attribute(d["attribute"], heading, _at(path, "attribute")),
            _at(path, "attribute"),
            "compare",
        )
        op = d["operator"]
        if op not in OPERATORS:
            raise QueryDescriptionError(
                f"unknown operator {_shown(repr(op))}; use one of " + ", ".join(OPERATORS),
                _at(path, "operator"),
                attribute=attr.name,
            )
        where = _at(path, "value")
        if op in ("is null", "is not null"):
            if "value" in d:
                raise QueryDescriptionError(f"'{op}' takes no value", where, attribute=attr.name)
            return Comparison(attr.name, op)
        if "value" not in d:
            raise QueryDescriptionError(f"'{op}' needs a value", where, attribute=attr.name)
        if op in ("in", "not in", "between"):
            values = _list(d["value"], where, "a list of values", 1)
            if op == "between" and len(values) != 2:
                raise QueryDescriptionError("between takes [low, high]", where, attribute=attr.name)
            for i, v in enumerate(values):
                _check_value(attr, _scalar(v, f"{where}[{i}]"), f"{where}[{i}]")
            return Comparison(attr.name, op, tuple(values))
        v = _scalar(d["value"], where)
        if op == "like" and (not isinstance(v, str) or attr.base_type not in _TEXT_TYPES):
            raise QueryDescriptionError(
                "like compares text attributes with a string pattern",
                where if not isinstance(v, str) else _at(path, "attribute"),
                attribute=attr.name,
            )
        _check_value(attr, v, where)
        return Comparison(attr.name, op, v)

    def proj(self, value: Any, expr: QueryExpression, path: str) -> QueryExpression:
        d = _object(value, path, "a projection", ("keep", "rename"))
        heading = expr.heading
        keep = _names(d.get("keep", []), heading, _at(path, "keep"), "a list of attributes")
        for i, name in enumerate(keep):
            if heading[name].in_key:
                raise QueryDescriptionError(
                    f"`{name}` is in the primary key, which is always kept",
                    f"{_at(path, 'keep')}[{i}]",
                    attribute=name,
                )
        rename = _mapping(d.get("rename", {}), _at(path, "rename"), "renames {new name: attribute}")
        taken = set(keep) | {n for n in heading.primary_key if n not in rename.values()}
        for new, old in rename.items():
            where = _at(_at(path, "rename"), new)
            _new_name(new, where, taken)
            taken.add(new)
            _attribute(old, heading, where)
            if old == new or old.lower() in ("null", "current_timestamp"):
                raise QueryDescriptionError(
                    f"cannot rename `{old}` to `{new}`", where, attribute=old
                )
        return _guarded(path, lambda: expr.proj(*keep, **rename))

    def aggregates(self, value: Any, heading: Heading, path: str, taken, minimum: int) -> dict:
        compute = _mapping(value, path, "aggregates {new name: aggregate}")
        if len(compute) < minimum:
            raise QueryDescriptionError("expected at least one aggregate", path)
        result = {}
        for name, spec in compute.items():
            where = _at(path, name)
            _new_name(name, where, taken)
            spec = _object(
                spec, where, "an aggregate", ("function", "attribute", "distinct"), ("function",)
            )
            function, attribute = spec["function"], spec.get("attribute")
            if function not in AGGREGATE_FUNCTIONS:
                raise QueryDescriptionError(
                    f"unknown aggregate function {_shown(repr(function))}; use "
                    "one of " + ", ".join(AGGREGATE_FUNCTIONS),
                    _at(where, "function"),
                )
            distinct = _bool(spec.get("distinct", False), _at(where, "distinct"))
            if attribute is None:
                if function != "count" or distinct:
                    raise QueryDescriptionError(
                        f"{function}{' distinct' if distinct else ''} needs an attribute",
                        _at(where, "attribute"),
                    )
            else:
                attr = _attribute(attribute, heading, _at(where, "attribute"))
                if function != "count":
                    _comparable(attr, _at(where, "attribute"), function)
                if (
                    function in ("sum", "avg")
                    and attr.base_type.replace(" unsigned", "") not in _NUMBER_TYPES
                ):
                    raise QueryDescriptionError(
                        f"{function} needs a numeric attribute, not `{attribute}` ({attr.type})",
                        _at(where, "attribute"),
                        attribute=attribute,
                    )
            result[name] = Aggregate(function, attribute, distinct)
            taken = set(taken) | {name}
        return result

    def aggr(self, value: Any, expr: QueryExpression, path: str, depth: int) -> QueryExpression:
        d = _object(
            value,
            path,
            "an aggregation",
            ("over", "compute", "keep", "exclude_nonmatching"),
            ("over", "compute"),
        )
        over = self.source(d["over"], _at(path, "over"), depth)
        missing = [n for n in expr.primary_key if n not in over.heading]
        if missing:
            raise QueryDescriptionError(
                "over must contain the primary key of the query so far; it "
                "lacks " + ", ".join(missing),
                _at(path, "over"),
            )
        keep = _names(d.get("keep", []), expr.heading, _at(path, "keep"), "a list of attributes")
        for i, name in enumerate(keep):
            if expr.heading[name].in_key:
                raise QueryDescriptionError(
                    f"`{name}` is in the primary key, which is always kept",
                    f"{_at(path, 'keep')}[{i}]",
                    attribute=name,
                )
        merged = Heading(
            list(expr.heading) + [a for a in over.heading if a.name not in expr.heading]
        )
        compute = self.aggregates(
            d["compute"], merged, _at(path, "compute"), set(expr.primary_key) | set(keep), 1
        )
        exclude = _bool(d.get("exclude_nonmatching", False), _at(path, "exclude_nonmatching"))
        return _guarded(
            path, lambda: expr.aggr(over, *keep, exclude_nonmatching=exclude, **compute)
        )

    def group(self, value: Any, expr: QueryExpression, path: str) -> QueryExpression:
        d = _object(value, path, "a grouping", ("by", "compute"))
        by = _names(d.get("by", []), expr.heading, _at(path, "by"), "a list of attributes")
        for i, name in enumerate(by):
            _comparable(expr.heading[name], f"{_at(path, 'by')}[{i}]", "group by")
        compute = self.aggregates(
            d.get("compute", {}), expr.heading, _at(path, "compute"), set(by), 0 if by else 1
        )
        return _guarded(path, lambda: U(*by).aggr(expr, **compute))


def _semantic_check(expr: QueryExpression, other: QueryExpression, path: str) -> None:
    """DataJoint's semantic check (spec §7), explained in the description's terms."""
    try:
        check_compatible(expr.heading, other.heading, expr.node, other.node, True)
    except DataJointError as exc:
        name = exc.attribute
        raise QueryDescriptionError(
            f"cannot match on attribute `{name}`: both operands have it, but not from the same "
            f"origin ({expr.heading[name].lineage or 'none'} vs {other.heading[name].lineage or 'none'}: "
            "only attributes that come from the same table through foreign keys match). Rename "
            "or drop it with proj in one operand",
            path,
            attribute=name,
        ) from None


def _valid_identifier(name: str) -> bool:
    try:
        check_identifier(name)
    except DataJointError:
        return False
    return True
