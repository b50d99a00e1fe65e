"""QueryExpression -> canonical JSON query description (format: :mod:`.query_json`)."""

from __future__ import annotations

from typing import Any

from ..condition import Aggregate, AndList, Comparison, Computation, Not
from ..errors import QueryDescriptionError
from ..expression import QueryExpression
from ..nodes import (
    AggrNode,
    GroupNode,
    JoinNode,
    ProjNode,
    RestrictNode,
    TableNode,
    UnionNode,
    is_node,
)
from . import compute as computing
from .parse import DescribedQuery
from .structure import at as _at


def to_description(query: DescribedQuery | QueryExpression) -> dict:
    """The canonical description of a query built from one (see the module docstring).

    Args:
        query: a :class:`DescribedQuery` (its order, limit and cursor are included) or a
            :class:`~.expression.QueryExpression` made of describable operators.
    Raises:
        QueryDescriptionError: the expression uses something a description cannot say (SQL
            text, a union, a left join, dict restrictions, Top ...), with ``path`` naming
            where it would be.
    """
    expr = query.expression if isinstance(query, DescribedQuery) else query
    d = _describe_query(expr.node, "")
    if isinstance(query, DescribedQuery):
        if query.order:
            d["order"] = [
                {"attribute": n, **({"descending": True} if desc else {})}
                for n, desc in query.order
            ]
        if query.limit is not None:
            d["limit"] = query.limit
        if query.after is not None:
            d["after"] = dict(query.after)
    return d


def _not_describable(what: str, path: str) -> QueryDescriptionError:
    return QueryDescriptionError(f"{what} cannot be described in JSON", path)


def _describe_source(node, path: str) -> dict:
    if isinstance(node, TableNode):
        return {"schema": node.ref.database, "table": node.ref.table}
    return _describe_query(node, path)


_STAGES = (UnionNode, AggrNode, GroupNode, ProjNode, RestrictNode, JoinNode, TableNode)


def _describe_query(node, path: str) -> dict:
    if not isinstance(node, _STAGES):
        raise _not_describable(f"a {type(node).__name__.removesuffix('Node').lower()} node", path)
    stages: dict = {}
    unions = []
    while isinstance(node, UnionNode):
        unions.insert(0, node.right)
        node = node.left
    if unions:
        stages["union"] = [
            _describe_source(right, f"{_at(path, 'union')}[{i}]") for i, right in enumerate(unions)
        ]
    if isinstance(node, AggrNode):
        stages["aggr"] = _describe_aggr(node, _at(path, "aggr"))
        node = node.group
    elif isinstance(node, GroupNode):
        group = {"by": list(node.by)} if node.by else {}
        compute = _describe_aggregates(node.items, _at(path, "group.compute"))
        stages["group"] = {**group, **({"compute": compute} if compute else {})}
        node = node.child
    if isinstance(node, ProjNode):
        stages["proj"] = _describe_proj(node, _at(path, "proj"))
        node = node.child
    if isinstance(node, RestrictNode):
        stages["where"] = _describe_condition(node.condition, _at(path, "where"))
        node = node.child
    joins = []
    while isinstance(node, JoinNode):
        if node.left_join:
            raise _not_describable("a left join (extend)", _at(path, "join"))
        joins.insert(0, (node.right, not node.on))
        node = node.left
    d = {"from": _describe_source(node, _at(path, "from"))}
    if joins:
        d["join"] = [
            {
                **_describe_source(right, f"{_at(path, 'join')}[{i}]"),
                **({"cross": True} if cross else {}),
            }
            for i, (right, cross) in enumerate(joins)
        ]
    for key in ("where", "proj", "aggr", "group", "union"):
        if key in stages:
            d[key] = stages[key]
    return d


def _describe_condition(cond: Any, path: str) -> Any:
    if isinstance(cond, Comparison):
        d = {"attribute": cond.attribute, "operator": cond.operator}
        if cond.operator not in ("is null", "is not null"):
            d["value"] = list(cond.value) if isinstance(cond.value, tuple) else cond.value
        return d
    if isinstance(cond, Not):
        return {"not": _describe_condition(cond.condition, _at(path, "not"))}
    if isinstance(cond, tuple):  # AndList is a tuple too
        key = "and" if isinstance(cond, AndList) else "or"
        return {key: [_describe_condition(c, f"{_at(path, key)}[{i}]") for i, c in enumerate(cond)]}
    if is_node(cond):  # a restriction by another query (a semijoin)
        return {"matching": _describe_source(cond, _at(path, "matching"))}
    raise _not_describable(f"a restriction by {type(cond).__name__}", path)


def _describe_proj(node: ProjNode, path: str) -> dict:
    key = node.child.heading.primary_key
    keep, rename, compute = [], {}, {}
    for item in node.items:
        if item.source is None:
            if not isinstance(item.expression, Computation):
                raise _not_describable(
                    f"the computed attribute `{item.name}`", _at(path, item.name)
                )
            compute[item.name] = computing.describe(item.expression)
        elif item.source == item.name:
            if item.name not in key:
                keep.append(item.name)
        else:
            rename[item.name] = item.source
    return {
        **({"keep": keep} if keep else {}),
        **({"rename": rename} if rename else {}),
        **({"compute": compute} if compute else {}),
    }


def _describe_aggregates(items, path: str) -> dict:
    compute = {}
    for item in items:
        if item.source is not None:
            continue
        if not isinstance(item.expression, Aggregate):
            raise _not_describable(f"the computed attribute `{item.name}`", _at(path, item.name))
        a = item.expression
        compute[item.name] = {
            "function": a.function,
            **({"attribute": a.attribute} if a.attribute else {}),
            **({"distinct": True} if a.distinct else {}),
        }
    return compute


def _describe_aggr(node: AggrNode, path: str) -> dict:
    key = node.group.heading.primary_key
    keep = [i.name for i in node.items if i.source is not None and i.name not in key]
    d = {
        "over": _describe_source(node.source, _at(path, "over")),
        "compute": _describe_aggregates(node.items, _at(path, "compute")),
    }
    if keep:
        d["keep"] = keep
    if node.exclude_nonmatching:
        d["exclude_nonmatching"] = True
    return d
