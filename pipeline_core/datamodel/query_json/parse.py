"""JSON query description -> :class:`~..expression.QueryExpression` (format: :mod:`.query_json`).

The structure is checked first, by the JSON Schema (:mod:`.structure`); what is left here
depends on the tables: names are resolved and looked up in headings, values checked against
their attributes' types, new names against the names already there, joins and semijoins
against lineage, and the counts over the whole description (depth, tables, conditions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..catalog import catalog_of
from ..condition import Aggregate, AndList, Comparison, Not
from ..errors import MissingTableError, QueryDescriptionError
from ..expression import QueryExpression, U
from ..heading import Heading, TableInfo
from ..nodes import TableNode
from ..order_by import order_item
from ..paging import ordering
from ..tableref import TableRef
from . import checks, compute
from .schema import LIST_OPERATORS, MAX_CONDITIONS, MAX_DEPTH, MAX_TABLES, NULL_OPERATORS
from .structure import at, check_structure, shown

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
        """``order`` as :func:`.paging.page` takes it (``["a DESC", "b"]``; a name with
        blanks, commas or backquotes in backquotes: ``"`bad col` DESC"``), or None."""
        return [order_item(n, d) for n, d in self.order] or None


def catalog_resolver(connection) -> Resolver:
    """A resolver finding visible (non-``~``) tables by raw or class name through the
    connection's catalog."""
    catalog = catalog_of(connection)

    def resolve(schema: str, name: str) -> TableInfo:
        if not catalog.tables(schema):
            raise MissingTableError(f"no schema `{schema}` (or it holds no table)")
        found = catalog.named(schema, name)
        if found is not None:
            return found
        raise MissingTableError(
            f"no table or class `{name}` in schema `{schema}`",
            table=TableRef.label(schema, name),
        )

    return resolve


def to_query(
    description: Any, connection=None, *, resolve: Resolver | None = None
) -> DescribedQuery:
    """Validate a description (see the module docstring) and build its expression.

    The structure is checked against :data:`.schema.SCHEMA` first (:func:`.check_structure`),
    then names, values and operands against the headings of the tables named.

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
        ValueError: neither ``connection`` nor ``resolve`` given.
    """
    if resolve is None:
        if connection is None:
            raise ValueError("to_query needs a connection or a resolver")
        resolve = catalog_resolver(connection)
    check_structure(description)
    return _Parser(resolve, connection).top(description)


def restrict(
    expr: QueryExpression, condition: Any, source: dict, connection=None, *, resolve=None
) -> QueryExpression:
    """``expr`` restricted by ``condition``, a condition in the description's ``where``
    form, its attributes checked against ``expr``'s heading (e.g. a restriction of a
    table's key_source for populate).

    Args:
        source: ``{"schema", "table"}`` of the table the condition is about (its structure
            is checked as ``{"from": source, "where": condition}``).
    Raises:
        QueryDescriptionError: an invalid condition (``path`` from ``where``).
    """
    if resolve is None:
        resolve = catalog_resolver(connection)
    check_structure({"from": source, "where": condition})
    parser = _Parser(resolve, connection)
    built = parser.condition(condition, expr, "where", 1)
    return checks.guarded("where", lambda: expr.restrict(built))


# --- description -> expression -------------------------------------------------------------------
class _Parser:
    """One description's construction; the description's structure is already valid."""

    def __init__(self, resolve: Resolver, connection):
        self.resolve = resolve
        self.connection = connection
        self.tables = 0
        self.conditions = 0

    @staticmethod
    def depth(path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise QueryDescriptionError(f"nested too deeply (at most {MAX_DEPTH} levels)", path)

    def top(self, d: dict) -> DescribedQuery:
        expr = self.query(d, "", 0)
        heading = expr.heading
        order = []
        for i, item in enumerate(d.get("order", [])):
            path = f"order[{i}]"
            attr = checks.comparable(
                checks.attribute(item["attribute"], heading, at(path, "attribute")),
                at(path, "attribute"),
                "order by",
            )
            if attr.name in (n for n, _ in order):
                raise QueryDescriptionError(
                    f"`{attr.name}` is ordered twice", path, attribute=attr.name
                )
            order.append((attr.name, item.get("descending", False)))
        after = d.get("after")
        if after is not None:
            self.cursor(after, expr, order)
        return DescribedQuery(expr, tuple(order), d.get("limit"), after)

    @staticmethod
    def cursor(after: dict, expr: QueryExpression, order: list) -> None:
        """``after`` names exactly the ordering attributes (completed by the key)."""
        names = [n for n, _ in ordering(expr, [order_item(n, s) for n, s in order])]
        for name in after:
            if name not in names:
                raise QueryDescriptionError(
                    f"unknown key {shown(name)!r} in a cursor; expected " + ", ".join(names),
                    at("after", name),
                )
        for name in names:
            if name not in after:
                raise QueryDescriptionError(
                    f"missing required key {name!r} in a cursor: it needs the last row's value "
                    "of every ordering attribute (" + ", ".join(names) + ")",
                    at("after", name),
                )
            if after[name] is not None:
                checks.check_value(expr.heading[name], after[name], at("after", name))

    def query(self, d: dict, path: str, depth: int) -> QueryExpression:
        self.depth(path, depth)
        expr = self.source(d["from"], at(path, "from"), depth + 1)
        for i, item in enumerate(d.get("join", [])):
            expr = self.join(expr, item, f"{at(path, 'join')}[{i}]", depth + 1)
        if "where" in d:
            condition = self.condition(d["where"], expr, at(path, "where"), depth + 1)
            expr = checks.guarded(at(path, "where"), lambda: expr.restrict(condition))
        if "proj" in d:
            expr = self.proj(d["proj"], expr, at(path, "proj"))
        if "aggr" in d:
            expr = self.aggr(d["aggr"], expr, at(path, "aggr"), depth + 1)
        if "group" in d:
            expr = self.group(d["group"], expr, at(path, "group"))
        for i, item in enumerate(d.get("union", [])):
            expr = self.union(expr, item, f"{at(path, 'union')}[{i}]", depth + 1)
        return expr

    def source(self, d: dict, path: str, depth: int) -> QueryExpression:
        if "from" in d:
            return self.query(d, path, depth)
        self.tables += 1
        if self.tables > MAX_TABLES:
            raise QueryDescriptionError(f"too many tables (at most {MAX_TABLES})", path)
        try:
            info = self.resolve(d["schema"], d["table"])
        except MissingTableError as exc:
            raise QueryDescriptionError(
                str(exc), at(path, "table" if exc.table else "schema"), table=exc.table
            ) from None
        return QueryExpression(self.connection, TableNode(info.ref, info.heading, not info.legacy))

    def join(self, expr: QueryExpression, item: dict, path: str, depth: int) -> QueryExpression:
        other = self.source(item, path, depth)
        shared = [n for n in expr.heading.names if n in other.heading]
        if not shared and not item.get("cross", False):
            raise QueryDescriptionError(
                "no attribute in common with the query so far; add "
                '"cross": true for a cross product',
                path,
            )
        if shared and item.get("cross", False):
            raise QueryDescriptionError(
                f'"cross": true, but the operands share {", ".join(shared)}', at(path, "cross")
            )
        checks.semantic_check(expr, other, path)
        return checks.guarded(path, lambda: expr.join(other))

    def condition(self, d: dict, expr: QueryExpression, path: str, depth: int) -> Any:
        self.depth(path, depth)
        for key in ("and", "or"):
            if key in d:
                parts = [
                    self.condition(c, expr, f"{at(path, key)}[{i}]", depth + 1)
                    for i, c in enumerate(d[key])
                ]
                return AndList(parts) if key == "and" else tuple(parts)
        if "not" in d:
            return Not(self.condition(d["not"], expr, at(path, "not"), depth + 1))
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise QueryDescriptionError(f"too many conditions (at most {MAX_CONDITIONS})", path)
        if "matching" in d:
            other = self.source(d["matching"], at(path, "matching"), depth + 1)
            if not set(expr.heading.names) & set(other.heading.names):
                raise QueryDescriptionError(
                    "the matched query shares no attribute with the rows restricted: it would keep "
                    "all rows or none",
                    at(path, "matching"),
                )
            checks.semantic_check(expr, other, at(path, "matching"))
            return other
        return self.comparison(d, expr.heading, path)

    @staticmethod
    def comparison(d: dict, heading: Heading, path: str) -> Comparison:
        where = at(path, "attribute")
        attr = checks.comparable(checks.attribute(d["attribute"], heading, where), where, "compare")
        op = d["operator"]
        if op in NULL_OPERATORS:
            return Comparison(attr.name, op)
        value = d["value"]
        if op in LIST_OPERATORS or op == "between":
            for i, v in enumerate(value):
                checks.check_value(attr, v, f"{at(path, 'value')}[{i}]")
            return Comparison(attr.name, op, tuple(value))
        if op == "like":
            checks.text(attr, where)
        checks.check_value(attr, value, at(path, "value"))
        return Comparison(attr.name, op, value)

    @staticmethod
    def proj(d: dict, expr: QueryExpression, path: str) -> QueryExpression:
        heading = expr.heading
        keep = checks.secondary(d.get("keep", []), heading, at(path, "keep"))
        rename = d.get("rename", {})
        taken = set(keep) | {n for n in heading.primary_key if n not in rename.values()}
        for new, old in rename.items():
            where = at(at(path, "rename"), new)
            taken.add(checks.new_name(new, where, taken))
            checks.attribute(old, heading, where)
            if old == new or old.lower() in ("null", "current_timestamp"):
                raise QueryDescriptionError(
                    f"cannot rename `{old}` to `{new}`", where, attribute=old
                )
        computed = {}
        for new, spec in d.get("compute", {}).items():
            where = at(at(path, "compute"), new)
            taken.add(checks.new_name(new, where, taken))
            computed[new] = compute.computation(spec, heading, where)
        return checks.guarded(path, lambda: expr.proj(*keep, **rename, **computed))

    def union(self, expr: QueryExpression, item: dict, path: str, depth: int) -> QueryExpression:
        other = self.source(item, path, depth)
        mine, theirs = expr.heading, other.heading
        if set(mine.primary_key) != set(theirs.primary_key):
            raise QueryDescriptionError(
                "a union needs queries with the same primary key: the query so far has ("
                + ", ".join(mine.primary_key)
                + "), this one ("
                + ", ".join(theirs.primary_key)
                + ")",
                path,
            )
        shared = [n for n in mine.secondary_attributes if n in theirs.secondary_attributes]
        if shared:
            raise QueryDescriptionError(
                "a union needs queries without common secondary attributes; both have "
                + ", ".join(shared)
                + " (drop or rename them with proj in one of them)",
                path,
                attribute=shared[0],
            )
        if mine.secondary_attributes or theirs.secondary_attributes:
            checks.semantic_check(expr, other, path)
        return checks.guarded(path, lambda: expr + other)

    @staticmethod
    def aggregates(compute: dict, heading: Heading, path: str, taken: set) -> dict:
        result = {}
        for name, spec in compute.items():
            where = at(path, name)
            taken = taken | {checks.new_name(name, where, taken)}
            function, attribute = spec["function"], spec.get("attribute")
            if attribute is not None:
                attr = checks.attribute(attribute, heading, at(where, "attribute"))
                if function != "count":
                    checks.comparable(attr, at(where, "attribute"), function)
                if function in ("sum", "avg"):
                    checks.numeric(attr, at(where, "attribute"), function)
            result[name] = Aggregate(function, attribute, spec.get("distinct", False))
        return result

    def aggr(self, d: dict, expr: QueryExpression, path: str, depth: int) -> QueryExpression:
        over = self.source(d["over"], at(path, "over"), depth)
        missing = [n for n in expr.primary_key if n not in over.heading]
        if missing:
            raise QueryDescriptionError(
                "over must contain the primary key of the query so far; it "
                "lacks " + ", ".join(missing),
                at(path, "over"),
            )
        keep = checks.secondary(d.get("keep", []), expr.heading, at(path, "keep"))
        merged = Heading(
            list(expr.heading) + [a for a in over.heading if a.name not in expr.heading]
        )
        compute = self.aggregates(
            d["compute"], merged, at(path, "compute"), set(expr.primary_key) | set(keep)
        )
        exclude = d.get("exclude_nonmatching", False)
        return checks.guarded(
            path, lambda: expr.aggr(over, *keep, exclude_nonmatching=exclude, **compute)
        )

    def group(self, d: dict, expr: QueryExpression, path: str) -> QueryExpression:
        by = d.get("by", [])
        for i, name in enumerate(by):
            where = f"{at(path, 'by')}[{i}]"
            checks.comparable(checks.attribute(name, expr.heading, where), where, "group by")
        compute = self.aggregates(d.get("compute", {}), expr.heading, at(path, "compute"), set(by))
        return checks.guarded(path, lambda: U(*by).aggr(expr, **compute))
