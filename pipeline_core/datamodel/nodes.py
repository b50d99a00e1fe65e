"""The query tree: frozen nodes that a :class:`~.expression.QueryExpression` holds and that
:mod:`.sql.compiler` turns into SQL (architecture conventions 1 and 2; spec §9).

Each node carries the :class:`~.heading.Heading` of its result. Nodes are values: equal when
built alike, never changed; an operator makes new nodes over old ones. A restriction's
condition (spec §9.1) is one of :data:`Condition`, already checked against its operand by
the expression layer; an expression used as a condition is kept as its node (a semijoin).

Nodes: :class:`TableNode`, :class:`RestrictNode`, :class:`JoinNode` (inner or left),
:class:`ProjNode` (keep, rename, compute), :class:`AggrNode` (``a.aggr(b)``),
:class:`GroupNode` (``U(...).aggr(q)``), :class:`DistinctNode` (``U(...) & q``),
:class:`UnionNode` and :class:`TopNode`.
"""

from __future__ import annotations

import dataclasses
from typing import TypeAlias

from .condition import Aggregate, AndList, Comparison, Computation, Not, RawSQL, Top
from .heading import Heading
from .tableref import TableRef


@dataclasses.dataclass(frozen=True)
class TableNode:
    """A base table. ``lineage`` is False for a database without ``~lineage`` (0.14), which
    turns the semantic check off (spec §7)."""

    ref: TableRef
    heading: Heading
    lineage: bool = True


@dataclasses.dataclass(frozen=True)
class RestrictNode:
    """``child & condition`` (spec §9.1)."""

    child: Node
    condition: Condition

    @property
    def heading(self) -> Heading:
        """The operand's heading: restricting and ordering keep the attributes."""
        return self.child.heading


@dataclasses.dataclass(frozen=True)
class JoinNode:
    """``left * right`` on the shared attribute names ``on``; ``left_join`` keeps every row
    of ``left`` (``extend``), spec §9.2."""

    left: Node
    right: Node
    on: tuple[str, ...]
    heading: Heading
    left_join: bool = False


@dataclasses.dataclass(frozen=True)
class ProjItem:
    """One output attribute of a projection or aggregation: ``name`` from attribute
    ``source`` (kept or renamed), or computed by ``expression`` (trusted SQL text written in
    Python code, a :class:`~.condition.Computation` or an :class:`~.condition.Aggregate`)."""

    name: str
    source: str | None = None
    expression: str | Computation | Aggregate | None = None


@dataclasses.dataclass(frozen=True)
class ProjNode:
    """Projection: output items in heading order (spec §9.3)."""

    child: Node
    items: tuple[ProjItem, ...]
    heading: Heading


@dataclasses.dataclass(frozen=True)
class AggrNode:
    """``group.aggr(source, ...)``: one row per row of ``group`` (a left join unless
    ``exclude_nonmatching``), items computed over its matching ``source`` rows (spec §9.4)."""

    group: Node
    source: Node
    on: tuple[str, ...]
    items: tuple[ProjItem, ...]
    exclude_nonmatching: bool
    heading: Heading


@dataclasses.dataclass(frozen=True)
class GroupNode:
    """``U(*by).aggr(child, ...)``: one row per distinct value of ``by`` in ``child`` (one
    row in all when ``by`` is empty), spec §9.5."""

    child: Node
    by: tuple[str, ...]
    items: tuple[ProjItem, ...]
    heading: Heading


@dataclasses.dataclass(frozen=True)
class DistinctNode:
    """``U(*by) & child``: the distinct values of the heading's attributes (spec §9.5)."""

    child: Node
    heading: Heading


@dataclasses.dataclass(frozen=True)
class UnionNode:
    """``left + right``: the same primary key, no shared secondary attribute (spec §9.6)."""

    left: Node
    right: Node
    heading: Heading


@dataclasses.dataclass(frozen=True)
class TopNode:
    """``child & Top(...)``: order, limit and offset (spec §9.7)."""

    child: Node
    top: Top

    @property
    def heading(self) -> Heading:
        """The operand's heading: restricting and ordering keep the attributes."""
        return self.child.heading


Node: TypeAlias = (
    TableNode
    | RestrictNode
    | JoinNode
    | ProjNode
    | AggrNode
    | GroupNode
    | DistinctNode
    | UnionNode
    | TopNode
)

#: What a :class:`RestrictNode` may hold (spec §9.1): a dict of attribute values (unknown
#: keys ignored), trusted SQL text (``str``) or SQL with parameters (:class:`RawSQL`),
#: True/False, a :class:`Comparison`, a node (semijoin on the shared attributes), and
#: :class:`Not`, :class:`AndList` and tuples (OR) of those.
Condition: TypeAlias = dict | str | bool | RawSQL | Comparison | Not | AndList | tuple | Node

_CHILD_FIELDS = ("child", "left", "right", "group", "source")


def children(node: Node) -> list[Node]:
    """The operand nodes of ``node`` (not those inside its conditions)."""
    return [getattr(node, f) for f in _CHILD_FIELDS if hasattr(node, f)]


def lineage_available(node: Node) -> bool:
    """False when a table of the tree lives in a database without ``~lineage`` (spec §7)."""
    if isinstance(node, TableNode):
        return node.lineage
    return all(lineage_available(c) for c in children(node))


def tables_read(value: Node | Condition) -> set[TableRef]:
    """The base tables a node or a condition reads, operands and conditions included."""
    if isinstance(value, TableNode):
        return {value.ref}
    if isinstance(value, Not):
        return tables_read(value.condition)
    if isinstance(value, (list, tuple)):
        return set().union(*(tables_read(v) for v in value))
    if isinstance(value, RestrictNode):
        return tables_read(value.child) | tables_read(value.condition)
    if isinstance(value, _NODE_TYPES):
        return set().union(*(tables_read(c) for c in children(value)))
    return set()


def base_table(node: Node) -> TableNode | None:
    """The table under a chain of restrictions (and Tops), or None for any other tree."""
    while isinstance(node, (RestrictNode, TopNode)):
        node = node.child
    return node if isinstance(node, TableNode) else None


def with_top(node: Node, top: Top) -> TopNode:
    """``node & top``: a :class:`Top` over ``node``, merged with a Top already at the root
    when ``top`` keeps its order (no ``order_by``, or the same): the limits combine and the
    offsets add up (spec §9.7)."""
    if isinstance(node, TopNode) and (top.order_by is None or top.order_by == node.top.order_by):
        old = node.top
        limits = [
            n
            for n in (old.limit, None if top.limit is None else max(0, top.limit))
            if n is not None
        ]
        if old.limit is not None and top.offset:
            limits = [max(0, old.limit - top.offset)] + (
                [top.limit] if top.limit is not None else []
            )
        merged = Top(min(limits) if limits else None, old.order_by, old.offset + top.offset)
        return TopNode(node.child, merged)
    return TopNode(node, top)


_NODE_TYPES = (
    TableNode,
    RestrictNode,
    JoinNode,
    ProjNode,
    AggrNode,
    GroupNode,
    DistinctNode,
    UnionNode,
    TopNode,
)


def is_node(value: object) -> bool:
    """True for a query node (of any kind)."""
    return isinstance(value, _NODE_TYPES)
