"""Expression -> ``(sql, params)`` (architecture convention 2; spec §9).

Every node compiles to a SELECT; a node that cannot be merged into its parent becomes a
derived table ``(...) AS `$n```. Values only as ``%s`` parameters; identifiers checked
against the heading, then quoted. An unknown node or condition raises.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from typing import Any

from ..condition import AndList, Not
from ..errors import DataJointError, QueryError, UnknownAttributeError
from ..expression import JoinNode, ProjNode, QueryExpression, RestrictNode, TableNode
from ..heading import Heading
from ..values import DEFAULT, encode
from .quoting import quote


@dataclasses.dataclass
class _Select:
    fields: list[tuple[str, str]]  # (SQL expression, output name)
    source: str
    where: list[str]
    params: list

    def identity(self) -> bool:
        return all(expr == quote(name) for expr, name in self.fields)

    def sql(self) -> str:
        fields = ", ".join(expr if expr == quote(name) else f"{expr} AS {quote(name)}"
                           for expr, name in self.fields)
        where = f" WHERE {' AND '.join(f'({w})' for w in self.where)}" if self.where else ""
        return f"SELECT {fields} FROM {self.source}{where}"


class _Compiler:
    def __init__(self):
        self._aliases = itertools.count()

    def alias(self) -> str:
        return quote(f"${next(self._aliases):x}")

    def wrap(self, select: _Select) -> _Select:
        """Make ``select`` a derived table with identity fields."""
        alias = self.alias()
        return _Select([(quote(n), n) for _, n in select.fields], f"({select.sql()}) AS {alias}",
                       [], list(select.params))

    def node(self, node) -> _Select:
        heading = node.heading
        if isinstance(node, TableNode):
            return _Select([(quote(n), n) for n in heading.names], node.full_name, [], [])
        if isinstance(node, RestrictNode):
            select = self.node(node.child)
            if not select.identity():
                select = self.wrap(select)
            sql, params = self.condition(node.condition, heading)
            select.where.append(sql)
            select.params.extend(params)
            return select
        if isinstance(node, ProjNode):
            select = self.node(node.child)
            exprs = dict((name, expr) for expr, name in select.fields)
            return _Select([(exprs[old], new) for new, old in node.mapping], select.source,
                           select.where, select.params)
        if isinstance(node, JoinNode):
            left = self.as_source(node.left)
            right = self.as_source(node.right)
            using = (f" JOIN {right.source} USING ({', '.join(quote(n) for n in node.on)})"
                     if node.on else f" CROSS JOIN {right.source}")
            names = heading.names
            return _Select([(quote(n), n) for n in names], left.source + using, [],
                           left.params + right.params)
        raise DataJointError(f"Cannot compile node {type(node).__name__}")

    def as_source(self, node) -> _Select:
        """A node as a FROM item: a base table, or a derived table."""
        if isinstance(node, TableNode):
            return _Select([], node.full_name, [], [])
        return self.wrap(self.node(node))

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
        if isinstance(cond, str):
            trusted = getattr(cond, "params", None)  # built by this layer, with parameters
            return (str(cond), list(trusted)) if trusted is not None else (cond.replace("%", "%%"), [])
        if isinstance(cond, type) and hasattr(cond, "heading"):
            cond = cond()
        if isinstance(cond, QueryExpression):
            common = [n for n in heading.names if n in cond.heading]
            inner = self.node(cond.node)
            if not common:
                return f"EXISTS ({inner.sql()})", inner.params
            exprs = dict((n, e) for e, n in inner.fields)
            sub = _Select([(exprs[n], n) for n in common], inner.source, inner.where, inner.params)
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
        raise QueryError(f"Invalid restriction type {type(cond).__name__}")

    def dict_condition(self, cond: dict, heading: Heading) -> tuple[str, list]:
        terms, params = [], []
        for name, value in cond.items():
            if name not in heading:
                continue  # DataJoint ignores keys that are not attributes (spec §9.1)
            attr = heading[name]
            if attr.is_blob or attr.codec:
                raise QueryError(f"Cannot restrict by blob attribute `{name}`", attribute=name)
            encoded = encode(attr, value)
            if encoded is DEFAULT:
                terms.append(f"{quote(name)} IS NULL")
            else:
                terms.append(f"{quote(name)} = %s")
                params.append(encoded)
        return (" AND ".join(terms) if terms else "TRUE"), params


_ORDER = re.compile(r"\s*([a-z_][a-z0-9_]*)(\s+(?i:asc|desc))?\s*")


def order_clause(order_by, heading: Heading) -> str:
    """``ORDER BY`` text from ``"KEY"``, ``"name DESC"`` or a list of those; every name is
    checked against the heading.

    Raises:
        UnknownAttributeError: a name not in the heading.
        QueryError: malformed order item.
    """
    if order_by is None:
        return ""
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    parts = []
    for item in items:
        if item.strip().upper() in ("KEY", "KEY ASC", "KEY DESC"):
            direction = " DESC" if item.strip().upper().endswith("DESC") else ""
            parts.extend(quote(n) + direction for n in heading.primary_key)
            continue
        match = _ORDER.fullmatch(item)
        if not match:
            raise QueryError(f"Invalid order_by item {item!r}")
        if match.group(1) not in heading:
            raise UnknownAttributeError(f"order_by: `{match.group(1)}` is not in the heading",
                                        attribute=match.group(1))
        parts.append(quote(match.group(1)) + (match.group(2) or "").upper())
    return " ORDER BY " + ", ".join(parts) if parts else ""


def compile_select(expr: QueryExpression, order_by=None, limit: int | None = None,
                   offset: int | None = None, attributes=None) -> tuple[str, list]:
    """Compile an expression into ``(sql, params)``, optionally ordered and paged and
    restricted to some attributes (checked against the heading)."""
    select = _Compiler().node(expr.node)
    if attributes is not None:
        exprs = dict((n, e) for e, n in select.fields)
        for name in attributes:
            if name not in exprs:
                raise UnknownAttributeError(f"`{name}` is not in the heading", attribute=name)
        select = _Select([(exprs[n], n) for n in attributes], select.source, select.where,
                         select.params)
    sql = select.sql() + order_clause(order_by, expr.heading)
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
    return sql, select.params


def keyset_condition(columns: list[str], last: list, heading: Heading) -> tuple[str, list]:
    """Rows strictly after ``last`` in the order of ``columns`` (all ascending), in the
    expanded form ``a > %s OR (a = %s AND b > %s) ...`` that MariaDB answers with an index
    range (spec §12.9; a row-constructor comparison is not optimised there)."""
    for name in columns:
        if name not in heading:
            raise UnknownAttributeError(f"`{name}` is not in the heading", attribute=name)
    terms, params = [], []
    for i, name in enumerate(columns):
        equal = [f"{quote(c)} = %s" for c in columns[:i]]
        terms.append(" AND ".join(equal + [f"{quote(name)} > %s"]))
        params.extend(last[:i] + [last[i]])
    return " OR ".join(f"({t})" for t in terms), params
