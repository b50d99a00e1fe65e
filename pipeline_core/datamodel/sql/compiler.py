"""Query tree -> ``(sql, params)`` (architecture convention 2; spec §9).

Every node compiles to a :class:`_Select`; a node that cannot be merged into its parent
becomes a derived table ``(...) AS `$n```. Values reach SQL only as ``%s`` parameters;
identifiers are checked against the headings, then quoted. Trusted SQL text (string
conditions and computed attributes written in Python code) is copied verbatim with ``%``
doubled for the driver. An unknown node or condition raises.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

from ..condition import (
    Aggregate,
    AndList,
    Comparison,
    Computation,
    Not,
    RawSQL,
    Top,
    invalid_restriction,
)
from ..errors import DataJointError, QueryError, UnknownAttributeError
from ..heading import Heading
from ..nodes import (
    AggrNode,
    DistinctNode,
    GroupNode,
    JoinNode,
    Node,
    ProjNode,
    RestrictNode,
    TableNode,
    TopNode,
    UnionNode,
    is_node,
    with_top,
)
from ..order_by import parse_order_by
from ..types import comparable
from ..values import DEFAULT, encode
from .computation import computation_sql
from .quoting import quote


class _Select(NamedTuple):
    """One SELECT, immutable: ``fields`` are ``(SQL expression, output name)``; the
    parameters are kept per clause, in the order the clauses appear in the text."""

    fields: tuple[tuple[str, str], ...]
    source: str
    source_params: tuple = ()
    where: tuple[str, ...] = ()
    where_params: tuple = ()
    group_by: tuple[str, ...] | None = None  # () aggregates without GROUP BY
    having: tuple[str, ...] = ()
    having_params: tuple = ()
    distinct: bool = False
    order: str = ""
    limit: str = ""
    union: bool = False  # source is a complete query: the select cannot be extended

    @property
    def params(self) -> list:
        return [*self.source_params, *self.where_params, *self.having_params]

    def identity(self) -> bool:
        return all(expr == quote(name) for expr, name in self.fields)

    def plain(self) -> bool:
        """No grouping, DISTINCT, order or limit: WHERE terms and fields can be added."""
        return (
            self.group_by is None
            and not self.distinct
            and not self.order
            and not self.limit
            and not self.union
        )

    def exprs(self) -> dict[str, str]:
        """Output name -> its SQL expression."""
        return {name: expr for expr, name in self.fields}

    def listing(self, names) -> _Select:
        """The same SELECT listing exactly ``names`` (output names), in that order."""
        exprs = self.exprs()
        return self._replace(fields=tuple((exprs[n], n) for n in names))

    def sql(self) -> str:
        if self.union:
            return self.source
        fields = (
            ", ".join(
                expr if expr == quote(name) else f"{expr} AS {quote(name)}"
                for expr, name in self.fields
            )
            or "1"
        )
        text = f"SELECT {'DISTINCT ' if self.distinct else ''}{fields} FROM {self.source}"
        if self.where:
            text += " WHERE " + " AND ".join(f"({w})" for w in self.where)
        if self.group_by:
            text += " GROUP BY " + ", ".join(self.group_by)
        if self.having:
            text += " HAVING " + " AND ".join(f"({h})" for h in self.having)
        return text + self.order + self.limit


def _identity(names) -> tuple[tuple[str, str], ...]:
    return tuple((quote(n), n) for n in names)


def _trusted(text: str) -> str:
    """Trusted SQL text as a driver template: ``%`` doubled."""
    return text.replace("%", "%%")


class _Compiler:
    def __init__(self):
        self._aliases = itertools.count()

    def alias(self) -> str:
        return quote(f"${next(self._aliases):x}")

    def wrap(self, select: _Select) -> _Select:
        """Make ``select`` a derived table with identity fields."""
        return _Select(
            _identity(n for _, n in select.fields),
            f"({select.sql()}) AS {self.alias()}",
            tuple(select.params),
        )

    def source(self, node: Node) -> _Select:
        """A node as a FROM item: a base table, or a derived table."""
        if isinstance(node, TableNode):
            return self._TableNode(node)
        return self.wrap(self.node(node))

    # --- nodes ------------------------------------------------------------------------------
    def node(self, node: Node) -> _Select:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise DataJointError(f"Cannot compile node {type(node).__name__}")
        return method(node)

    def _TableNode(self, node: TableNode) -> _Select:
        return _Select(_identity(node.heading.names), node.ref.sql_name)

    def _RestrictNode(self, node: RestrictNode) -> _Select:
        select = self.node(node.child)
        sql, params = self.condition(node.condition, node.heading)
        if (
            select.group_by is not None
            and not select.order
            and not select.limit
            and not select.distinct
        ):
            return select._replace(  # aggregations restrict their results in HAVING
                having=(*select.having, sql),
                having_params=(*select.having_params, *params),
            )
        if not select.plain() or not select.identity():
            select = self.wrap(select)
        return select._replace(
            where=(*select.where, sql), where_params=(*select.where_params, *params)
        )

    def _ProjNode(self, node: ProjNode) -> _Select:
        select = self.node(node.child)
        computed = any(item.expression is not None for item in node.items)
        if not select.plain() or (computed and not select.identity()):
            select = self.wrap(select)
        exprs = select.exprs()
        fields = tuple(
            (exprs[item.source], item.name)
            if item.source is not None
            else (self.value_expression(item.expression, node.child.heading), item.name)
            for item in node.items
        )
        return select._replace(fields=fields)

    def _distinct_sources(self, left: _Select, right: _Select) -> _Select:
        """``right`` aliased when it is the same base table as ``left`` (``P * P``): the
        server refuses one table name twice in a FROM (error 1066)."""
        if right.source == left.source:
            return right._replace(source=f"{right.source} AS {self.alias()}")
        return right

    def _JoinNode(self, node: JoinNode) -> _Select:
        left, right = self.source(node.left), self.source(node.right)
        right = self._distinct_sources(left, right)
        kind = "LEFT JOIN" if node.left_join else "JOIN"
        using = (
            f" {kind} {right.source} USING ({', '.join(quote(n) for n in node.on)})"
            if node.on
            else (
                f" {kind} {right.source} ON TRUE"
                if node.left_join
                else f" CROSS JOIN {right.source}"
            )
        )
        return _Select(
            _identity(node.heading.names), left.source + using, (*left.params, *right.params)
        )

    def _AggrNode(self, node: AggrNode) -> _Select:
        group, source = self.source(node.group), self.source(node.source)
        source = self._distinct_sources(group, source)
        kind = "JOIN" if node.exclude_nonmatching else "LEFT JOIN"
        on = f" USING ({', '.join(quote(n) for n in node.on)})" if node.on else " ON TRUE"
        heading = _merged(node.group.heading, node.source.heading)
        fields = tuple(
            (quote(i.source), i.name)
            if i.source is not None
            else (self.value_expression(i.expression, heading), i.name)
            for i in node.items
        )
        by = tuple(quote(i.source) for i in node.items if i.source is not None)
        return _Select(
            fields,
            f"{group.source} {kind} {source.source}{on}",
            (*group.params, *source.params),
            group_by=by or None,
        )

    def _GroupNode(self, node: GroupNode) -> _Select:
        child = self.source(node.child)
        fields = tuple(
            (quote(i.source), i.name)
            if i.source is not None
            else (self.value_expression(i.expression, node.child.heading), i.name)
            for i in node.items
        )
        # without ``by``: one row over everything, aggregates without GROUP BY (group_by=())
        return _Select(
            fields, child.source, tuple(child.params), group_by=tuple(quote(n) for n in node.by)
        )

    def _DistinctNode(self, node: DistinctNode) -> _Select:
        select = self.node(node.child)
        if not select.plain():
            select = self.wrap(select)
        return select.listing(node.heading.names)._replace(distinct=True)

    def _UnionNode(self, node: UnionNode) -> _Select:
        names = node.heading.names
        key = node.heading.primary_key
        left_heading, right_heading = node.left.heading, node.right.heading
        if not left_heading.secondary_attributes and not right_heading.secondary_attributes:
            first, second = self.node(node.left), self.node(node.right)
            first_sql = self._fields_sql(first, key)
            second_sql = self._fields_sql(second, key)
            return _Select(
                _identity(names),
                f"({first_sql}) UNION ({second_sql})",
                (*first.params, *second.params),
                union=True,
            )
        left, right = self.source(node.left), self.source(node.right)
        columns = ", ".join(quote(n) for n in key)
        outer = (
            f"SELECT {', '.join(quote(n) for n in names)} FROM {left.source} "
            f"LEFT JOIN {right.source} USING ({columns})"
        )
        right_again, left_again = self.source(node.right), self.source(node.left)
        rest = ", ".join(quote(n) if n in right_heading else f"NULL AS {quote(n)}" for n in names)
        second = (
            f"SELECT {rest} FROM {right_again.source} WHERE ({columns}) NOT IN "
            f"(SELECT {columns} FROM {left_again.source})"
        )
        return _Select(
            _identity(names),
            f"({outer}) UNION ({second})",
            (*left.params, *right.params, *right_again.params, *left_again.params),
            union=True,
        )

    def _fields_sql(self, select: _Select, names: list[str]) -> str:
        """``select`` listing exactly ``names`` in that order (a union or a HAVING that
        may name other fields is wrapped first)."""
        if select.union or select.having:
            select = self.wrap(select)
        return select.listing(names).sql()

    def _TopNode(self, node: TopNode) -> _Select:
        select = self.node(node.child)
        if select.order or select.limit or select.union:
            select = self.wrap(select)
        top = node.top
        limit = ""
        if top.limit is not None:
            limit = f" LIMIT {int(top.limit)}" + (
                f" OFFSET {int(top.offset)}" if top.offset else ""
            )
        elif top.offset:
            limit = f" LIMIT 18446744073709551615 OFFSET {int(top.offset)}"
        return select._replace(order=order_clause(top.order_by, node.heading), limit=limit)

    # --- values and conditions -------------------------------------------------------------
    def value_expression(self, expression: Any, heading: Heading) -> str:
        """SQL of a computed attribute: trusted text, a :class:`Computation` or an
        :class:`Aggregate`."""
        if isinstance(expression, Computation):
            return computation_sql(expression, heading)
        if isinstance(expression, Aggregate):
            if expression.attribute is None:
                return "count(*)"
            if expression.attribute not in heading:
                raise UnknownAttributeError(
                    f"`{expression.attribute}` is not in the heading",
                    attribute=expression.attribute,
                )
            distinct = "DISTINCT " if expression.distinct else ""
            return f"{expression.function}({distinct}{quote(expression.attribute)})"
        return _trusted(expression)

    def condition(self, cond: Any, heading: Heading) -> tuple[str, list]:
        if cond is True:
            return "TRUE", []
        if cond is False:
            return "FALSE", []
        if isinstance(cond, Not):
            sql, params = self.condition(cond.condition, heading)
            return f"NOT ({sql})", params
        if isinstance(cond, dict):
            return self.dict_condition(cond, heading)
        if isinstance(cond, Comparison):
            return self.comparison(cond, heading)
        if isinstance(cond, RawSQL):
            return cond.sql, list(cond.params)
        if isinstance(cond, str):
            return _trusted(cond), []
        if is_node(cond):  # a semijoin on the shared attributes
            common = [n for n in heading.names if n in cond.heading]
            inner = self.node(cond)
            if not common:
                return f"EXISTS ({inner.sql()})", inner.params
            if not inner.plain():
                inner = self.wrap(inner)
            sub = inner.listing(common)
            columns = ", ".join(quote(n) for n in common)
            return f"({columns}) IN ({sub.sql()})", sub.params
        if isinstance(cond, AndList):
            parts = [self.condition(c, heading) for c in cond]
            if not parts:
                return "TRUE", []
            return " AND ".join(f"({s})" for s, _ in parts), [p for _, ps in parts for p in ps]
        if isinstance(cond, (list, tuple)):
            parts = [self.condition(c, heading) for c in cond]
            if not parts:
                return "FALSE", []
            return " OR ".join(f"({s})" for s, _ in parts), [p for _, ps in parts for p in ps]
        raise invalid_restriction(cond)

    def dict_condition(self, cond: dict, heading: Heading) -> tuple[str, list]:
        terms, params = [], []
        for name, value in cond.items():
            if name not in heading:
                continue  # DataJoint ignores keys that are not attributes (spec §9.1)
            attr = heading[name]
            if not comparable(attr, ordered=False):
                raise QueryError(f"Cannot restrict by blob attribute `{name}`", attribute=name)
            encoded = encode(attr, value)
            if encoded is DEFAULT:
                terms.append(f"{quote(name)} IS NULL")
            else:
                terms.append(f"{quote(name)} = %s")
                params.append(encoded)
        return (" AND ".join(terms) if terms else "TRUE"), params

    def comparison(self, cond: Comparison, heading: Heading) -> tuple[str, list]:
        """``attr <op> %s`` with the attribute checked and the value(s) encoded."""
        if cond.attribute not in heading:
            raise UnknownAttributeError(
                f"`{cond.attribute}` is not in the heading", attribute=cond.attribute
            )
        attr = heading[cond.attribute]
        if not comparable(attr):
            raise QueryError(
                f"Cannot restrict by blob attribute `{cond.attribute}`", attribute=cond.attribute
            )
        column = quote(cond.attribute)
        op = cond.operator
        if op in ("is null", "is not null"):
            return f"{column} {op.upper()}", []

        def value(v):
            if attr.type == "expression":
                return v
            encoded = encode(attr, v)
            if encoded is DEFAULT:
                raise QueryError(
                    f"`{cond.attribute}` {op}: use 'is null' to compare with NULL",
                    attribute=cond.attribute,
                )
            return encoded

        if op in ("in", "not in"):
            values = [value(v) for v in cond.value]
            return f"{column} {op.upper()} ({', '.join(['%s'] * len(values))})", values
        if op == "between":
            return f"{column} BETWEEN %s AND %s", [value(v) for v in cond.value]
        return f"{column} {op.upper()} %s", [value(cond.value)]


def _merged(a: Heading, b: Heading) -> Heading:
    return Heading(list(a) + [x for x in b if x.name not in a])


def order_clause(order_by, heading: Heading) -> str:
    """`` ORDER BY ...`` of an ``order_by`` (the grammar of :mod:`..order_by`), every name
    checked against the heading; ``""`` for None.

    Raises:
        UnknownAttributeError: a name not in the heading.
        QueryError: a malformed item.
    """
    parts = [quote(n) + (" DESC" if desc else "") for n, desc in parse_order_by(order_by, heading)]
    return " ORDER BY " + ", ".join(parts) if parts else ""


def compile_select(
    node: Node,
    order_by=None,
    limit: int | None = None,
    offset: int | None = None,
    attributes=None,
) -> tuple[str, list]:
    """Compile a query tree into ``(sql, params)``, optionally ordered and paged (a Top
    applied on top, :func:`..nodes.with_top`) and restricted to some attributes (spec §9).

    With ``attributes`` the SELECT lists only those; when the dropped fields could still be
    needed (by HAVING, DISTINCT, GROUP BY, a union, or an ORDER BY naming a renamed or
    computed field) the full SELECT becomes a derived table, ordered again outside.

    Raises:
        UnknownAttributeError: an attribute not in the heading.
        QueryError / DataJointError: a tree that cannot be compiled (an unknown node or
            condition).
    """
    if order_by is not None or limit is not None or offset:
        node = with_top(node, Top(limit, order_by, offset or 0))
    compiler = _Compiler()
    select = compiler.node(node)
    if attributes is not None:
        exprs = select.exprs()
        for name in attributes:
            if name not in exprs:
                raise UnknownAttributeError(f"`{name}` is not in the heading", attribute=name)
        dropped_alias = any(e != quote(n) for e, n in select.fields if n not in attributes)
        if (
            select.union
            or select.distinct
            or select.having
            or select.group_by is not None
            or (select.order and dropped_alias)
        ):
            select = compiler.wrap(select)._replace(order=select.order)
        select = select.listing(attributes)
    return select.sql(), select.params
