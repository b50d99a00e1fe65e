"""Immutable query expressions (architecture convention 1; spec §9).

A :class:`QueryExpression` holds a connection and a tree of frozen nodes, each with its
:class:`~.heading.Heading`. Operators return new expressions; operands are never changed.
SQL is produced by :func:`.sql.compiler.compile_select` and run by :mod:`.fetch`.

Nodes: :class:`TableNode`, :class:`RestrictNode`, :class:`JoinNode` (inner or left),
:class:`ProjNode` (keep, rename, compute), :class:`AggrNode` (``a.aggr(b)``),
:class:`GroupNode` (``U(...).aggr(q)``), :class:`DistinctNode` (``U(...) & q``),
:class:`UnionNode` and :class:`TopNode`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .condition import Aggregate, AndList, Comparison, Not, Top, normalize
from .errors import DataJointError, QueryError
from .heading import Attribute, Heading


# --- nodes -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TableNode:
    """A base table, by full name; ``lineage`` is False for a database without ``~lineage``
    (0.14), which turns the semantic check off (spec §7)."""

    full_name: str
    heading: Heading
    lineage: bool = True


@dataclasses.dataclass(frozen=True)
class RestrictNode:
    """``child & condition`` (condition normalised; may hold expressions)."""

    child: Any
    condition: Any

    @property
    def heading(self) -> Heading:
        return self.child.heading


@dataclasses.dataclass(frozen=True)
class JoinNode:
    """``left * right`` on the shared attribute names ``on``; ``left_join`` keeps every
    row of ``left`` (``extend``)."""

    left: Any
    right: Any
    on: tuple[str, ...]
    heading: Heading
    left_join: bool = False


@dataclasses.dataclass(frozen=True)
class ProjItem:
    """One output attribute of a projection or aggregation: ``name`` from attribute
    ``source`` (kept or renamed), or computed by ``expression`` (trusted SQL text or an
    :class:`~.condition.Aggregate`)."""

    name: str
    source: str | None = None
    expression: Any = None


@dataclasses.dataclass(frozen=True)
class ProjNode:
    """Projection: output items in order (spec §9.3)."""

    child: Any
    items: tuple[ProjItem, ...]
    heading: Heading


@dataclasses.dataclass(frozen=True)
class AggrNode:
    """``group.aggr(source, ...)``: one row per row of ``group`` (left join unless
    ``exclude_nonmatching``), items computed over its matching ``source`` rows (spec §9.4)."""

    group: Any
    source: Any
    on: tuple[str, ...]
    items: tuple[ProjItem, ...]
    exclude_nonmatching: bool
    heading: Heading


@dataclasses.dataclass(frozen=True)
class GroupNode:
    """``U(*by).aggr(child, ...)``: one row per distinct value of ``by`` in ``child`` (one
    row in all when ``by`` is empty), spec §9.5."""

    child: Any
    by: tuple[str, ...]
    items: tuple[ProjItem, ...]
    heading: Heading


@dataclasses.dataclass(frozen=True)
class DistinctNode:
    """``U(*by) & child``: the distinct values of ``by`` (spec §9.5)."""

    child: Any
    heading: Heading


@dataclasses.dataclass(frozen=True)
class UnionNode:
    """``left + right``: same primary key, no shared secondary attribute (spec §9.6)."""

    left: Any
    right: Any
    heading: Heading


@dataclasses.dataclass(frozen=True)
class TopNode:
    """``child & Top(...)``: order, limit and offset (spec §9.7)."""

    child: Any
    top: Top

    @property
    def heading(self) -> Heading:
        return self.child.heading


def lineage_available(node) -> bool:
    """False when a table of the expression lives in a database without ``~lineage``."""
    if isinstance(node, TableNode):
        return node.lineage
    children = [
        getattr(node, f.name)
        for f in dataclasses.fields(node)
        if f.name in ("child", "left", "right", "group", "source")
    ]
    return all(lineage_available(c) for c in children)


def check_compatible(a: Heading, b: Heading, a_node, b_node, semantic_check: bool) -> None:
    """DataJoint's semantic check (spec §7): every shared attribute must have the same,
    non-NULL lineage on both sides; skipped for 0.14 databases or ``semantic_check=False``.

    Raises:
        DataJointError: naming the attribute and both lineages.
    """
    if not semantic_check or not lineage_available(a_node) or not lineage_available(b_node):
        return
    for name in a.names:
        if name not in b:
            continue
        first, second = a[name].lineage, b[name].lineage
        if first is None or second is None:
            raise DataJointError(
                f"Cannot join on attribute `{name}`: lineage missing on one side ({first} vs "
                f"{second}). If the attributes are genuinely different, use .proj() to rename "
                "one of them; to match on the name alone, pass semantic_check=False.",
                attribute=name,
            )
        if first != second:
            raise DataJointError(
                f"Cannot join on attribute `{name}`: different lineages ({first} vs {second}). "
                "Use .proj() to rename one of the attributes.",
                attribute=name,
            )


def _with_key(attr: Attribute, in_key: bool) -> Attribute:
    return attr if attr.in_key == in_key else dataclasses.replace(attr, in_key=in_key)


def _computed(name: str, expression: Any = None, heading: Heading | None = None) -> Attribute:
    """Heading entry of a computed attribute: no declared type, no lineage; ``min``/``max``
    of an attribute (an :class:`Aggregate`) keep that attribute's type, so that values
    decode and page as the attribute's (e.g. exact float32 cursors)."""
    if (
        isinstance(expression, Aggregate)
        and expression.function in ("min", "max")
        and heading is not None
        and expression.attribute in heading
    ):
        source = heading[expression.attribute]
        if not (source.is_blob or source.codec or source.is_json):
            return dataclasses.replace(
                source,
                name=name,
                in_key=False,
                nullable=True,
                lineage=None,
                autoincrement=False,
                comment="calculated attribute",
            )
    return Attribute(
        name=name,
        type="expression",
        sql_type="",
        in_key=False,
        nullable=True,
        default=None,
        default_is_expression=False,
        comment="calculated attribute",
    )


_NEW_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_RENAME = re.compile(r"\s*(?!(?i:null|current_timestamp)\s*$)([A-Za-z_]\w*)\s*")
_DUPLICATE = re.compile(r"\s*\(\s*(?!(?i:null|current_timestamp)\s*\))([A-Za-z_]\w*)\s*\)\s*")


def _as_expression(other) -> QueryExpression:
    if isinstance(other, type) and hasattr(other, "heading"):
        other = other()
    if not isinstance(other, QueryExpression):
        raise DataJointError(f"Expected a query expression, not {type(other).__name__}")
    return other


# --- expressions -------------------------------------------------------------------------------
class QueryExpression:
    """A query over one or more tables; immutable.

    Attributes:
        connection: the :class:`~.connection.Connection` it runs on.
        heading: the attributes of its result (``primary_key`` among them).
    """

    def __init__(self, connection, node):
        self._connection = connection
        self._node = node

    @property
    def connection(self):
        return self._connection

    @property
    def heading(self) -> Heading:
        return self._node.heading

    @property
    def node(self):
        return self._node

    @property
    def primary_key(self) -> list[str]:
        return self.heading.primary_key

    def _derive(self, node) -> QueryExpression:
        return QueryExpression(self._connection, node)

    # --- restriction ---------------------------------------------------------------
    def restrict(self, condition: Any, semantic_check: bool = True) -> QueryExpression:
        """Rows matching ``condition`` (spec §9.1): a dict (unknown keys ignored), a
        list/tuple/set (OR), ``AndList``, ``Not``, another expression or table class
        (semijoin on shared attributes), ``U(...)`` (no-op), ``Top``, ``True``/``False``,
        a numpy record, a :class:`~.condition.Comparison`, or an SQL string (trusted code
        only). ``semantic_check=False`` matches expressions on names alone (spec §7).

        Raises:
            TypeError: condition is None or of an unsupported type.
            DataJointError: an expression condition fails the semantic check.
        """
        condition = normalize(condition)
        if isinstance(condition, Top):
            return self._top(condition)
        if isinstance(condition, U):
            return self
        condition = _prepare_condition(condition, self, semantic_check)
        if condition is True:
            return self
        return self._derive(RestrictNode(self._node, condition))

    def _top(self, top: Top) -> QueryExpression:
        node = self._node
        if isinstance(node, TopNode) and (
            top.order_by is None or top.order_by == node.top.order_by
        ):
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
            return self._derive(TopNode(node.child, merged))
        return self._derive(TopNode(node, top))

    def __and__(self, condition: Any) -> QueryExpression:
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> QueryExpression:
        if isinstance(condition, U):
            raise DataJointError("Restricting by the complement of U is not supported")
        return self.restrict(Not(normalize(condition)))

    # --- join ------------------------------------------------------------------------------
    def join(self, other, semantic_check: bool = True, left: bool = False) -> QueryExpression:
        """Natural join on all shared attribute names (spec §9.2), after the semantic check.
        The result's primary key is PK(a) if a determines b, else PK(b) if b determines a,
        else the union. ``left=True`` keeps every row of ``self`` (requires a → b).

        Raises:
            DataJointError: ``other`` is ``U(...)`` or not an expression, the semantic
                check fails, or a left join where ``self`` does not determine ``other``.
        """
        if isinstance(other, U):
            raise DataJointError(
                "table * dj.U(...) is not supported: restrict by the U instead (dj.U(...) & table)"
            )
        other = _as_expression(other)
        a, b = self.heading, other.heading
        check_compatible(a, b, self._node, other._node, semantic_check)
        a_determines_b = set(b.primary_key) <= set(a.names)
        if left and not a_determines_b:
            missing = [n for n in b.primary_key if n not in a.names]
            raise DataJointError(
                "Left join requires the left operand to determine the right operand (A → B); "
                f"these primary-key attributes of the right operand are not in the left one: {missing}"
            )
        on = tuple(n for n in a.names if n in b)
        if a_determines_b:
            key, first, second = a.primary_key, a, b
        elif set(a.primary_key) <= set(b.names):
            key, first, second = b.primary_key, b, a
        else:
            key, first, second = (
                a.primary_key + [n for n in b.primary_key if n not in a.primary_key],
                a,
                b,
            )
        ordered = [first[n] for n in key if n in first] + [second[n] for n in key if n not in first]
        rest = [x for x in first if x.name not in key] + [
            x for x in second if x.name not in key and x.name not in first
        ]
        if left:  # the right operand's own attributes are NULL where nothing matches
            rest = [dataclasses.replace(x, nullable=True) if x.name not in a else x for x in rest]
        heading = Heading(
            [_with_key(x, True) for x in ordered] + [_with_key(x, False) for x in rest]
        )
        return self._derive(JoinNode(self._node, other._node, on, heading, left_join=left))

    def __mul__(self, other) -> QueryExpression:
        return self.join(other)

    def extend(self, other, semantic_check: bool = True) -> QueryExpression:
        """Left join keeping every row of ``self`` (DataJoint's ``extend``)."""
        return self.join(other, semantic_check=semantic_check, left=True)

    def __matmul__(self, other):
        raise DataJointError(
            "The @ operator has been removed in DataJoint 2.0; use "
            ".join(other, semantic_check=False)"
        )

    def __xor__(self, other):
        raise DataJointError(
            "The ^ operator has been removed in DataJoint 2.0; use "
            ".restrict(other, semantic_check=False)"
        )

    # --- union -------------------------------------------------------------------------------
    def __add__(self, other) -> QueryExpression:
        """Union (spec §9.6): the same primary key, no shared secondary attribute; rows of
        either operand, secondary attributes of the other operand NULL.

        Raises:
            DataJointError: different primary keys or shared secondary attributes.
        """
        other = _as_expression(other)
        if set(self.primary_key) != set(other.primary_key):
            raise DataJointError("The operands of a union must share the same primary key.")
        if set(self.heading.secondary_attributes) & set(other.heading.secondary_attributes):
            raise DataJointError("The operands of a union must not share any secondary attributes.")
        if self.heading.secondary_attributes or other.heading.secondary_attributes:
            check_compatible(
                self.heading, other.heading, self._node, other._node, True
            )  # outer union joins
        attrs = [self.heading[n] for n in self.primary_key]
        attrs += [
            dataclasses.replace(self.heading[n], nullable=True)
            for n in self.heading.secondary_attributes
        ]
        attrs += [
            dataclasses.replace(other.heading[n], nullable=True)
            for n in other.heading.secondary_attributes
        ]
        return self._derive(UnionNode(self._node, other._node, Heading(attrs)))

    # --- projection ----------------------------------------------------------------------------
    def proj(self, /, *attributes: Any, **named: Any) -> QueryExpression:
        """Keep the primary key plus the named attributes (spec §9.3): ``...`` keeps every
        secondary attribute, ``"-name"`` drops one, ``new="old"`` renames, ``new="(old)"``
        duplicates, ``new="<SQL expression>"`` (trusted code) or ``new=Aggregate(...)``
        computes.

        Raises:
            QueryError: unknown attribute, excluded primary-key attribute, or a name clash.
        """
        return self._derive(_projection(self._node, attributes, named))

    # --- aggregation --------------------------------------------------------------------------
    def aggr(
        self, group, /, *attributes: Any, exclude_nonmatching: bool = False, **named: Any
    ) -> QueryExpression:
        """One row per row of ``self`` with values computed over the matching rows of
        ``group`` (spec §9.4): ``named`` are SQL aggregate expressions (trusted code) or
        :class:`~.condition.Aggregate` values; ``attributes`` keeps attributes of ``self``
        (``...`` all). Rows of ``self`` without a match are kept (``count(*)`` is then 1, as
        in DataJoint) unless ``exclude_nonmatching``.

        Raises:
            DataJointError: ``group`` lacks a primary-key attribute of ``self``, or fails
                the semantic check.
        """
        source = _as_expression(group)
        missing = [n for n in self.primary_key if n not in source.heading]
        if missing:
            raise DataJointError(
                "Aggregation requires the group expression to contain all primary "
                f"key attributes of the grouping expression. Missing attributes: {missing}."
            )
        check_compatible(self.heading, source.heading, self._node, source._node, True)
        keep = _kept(self.heading, attributes)
        _check_unique(named, self.primary_key + keep)
        merged = Heading(
            list(self.heading) + [x for x in source.heading if x.name not in self.heading]
        )
        items = tuple(ProjItem(n, n) for n in self.primary_key + keep) + _computed_items(
            named, merged
        )
        heading = Heading(
            [self.heading[n] for n in self.primary_key + keep]
            + [_computed(i.name, i.expression, merged) for i in items if i.source is None]
        )
        on = tuple(n for n in self.heading.names if n in source.heading)
        return self._derive(
            AggrNode(self._node, source._node, on, items, exclude_nonmatching, heading)
        )

    aggregate = aggr

    # --- fetching (implemented in fetch.py) ------------------------------------------
    def to_dicts(
        self,
        order_by=None,
        limit=None,
        offset=None,
        *,
        decode=True,
        download_path=None,
        lazy=False,
        timeout=None,
    ) -> list[dict]:
        """All rows as dicts in heading order; values decoded (blobs unpacked, spec §4;
        stored values per ``download_path``/``lazy``; ``timeout`` in seconds, see
        :func:`.fetch.to_dicts`)."""
        from .fetch import to_dicts

        return to_dicts(
            self,
            order_by=order_by,
            limit=limit,
            offset=offset,
            decode=decode,
            download_path=download_path,
            lazy=lazy,
            timeout=timeout,
        )

    def fetch(
        self,
        *attributes: str,
        as_dict: bool = False,
        order_by=None,
        limit=None,
        offset=None,
        download_path=None,
        lazy=False,
        timeout=None,
    ):
        """Rows as a list of dicts (``as_dict``) or, with attribute names, a list of
        value lists per attribute (one list if one name), as DataJoint's ``fetch``."""
        from .fetch import fetch

        return fetch(
            self,
            *attributes,
            as_dict=as_dict,
            order_by=order_by,
            limit=limit,
            offset=offset,
            download_path=download_path,
            lazy=lazy,
            timeout=timeout,
        )

    def fetch1(self, *attributes: str, download_path=None, lazy=False, timeout=None):
        """The single row as a dict, or the given attributes' values.

        Raises:
            QueryError: the expression does not have exactly one row.
        """
        from .fetch import fetch1

        return fetch1(self, *attributes, download_path=download_path, lazy=lazy, timeout=timeout)

    def to_arrays(
        self, *attributes: str, include_key: bool = False, order_by=None, limit=None, offset=None
    ):
        """A numpy record array of all rows, or one array per named attribute (with the
        keys first when ``include_key``), as DataJoint's ``to_arrays``."""
        from .fetch import to_arrays

        return to_arrays(
            self,
            *attributes,
            include_key=include_key,
            order_by=order_by,
            limit=limit,
            offset=offset,
        )

    def to_pandas(self, order_by=None, limit=None, offset=None):
        """A pandas DataFrame indexed by the primary key (pandas must be installed).

        Raises:
            ImportError: pandas is not installed.
        """
        from .fetch import to_pandas

        return to_pandas(self, order_by=order_by, limit=limit, offset=offset)

    def stream(
        self, batch_size: int = 1000, order_by=None, download_path=None, lazy=False, timeout=None
    ):
        """Iterate over decoded rows from a server-side cursor, ``batch_size`` at a time:
        the result is never held in memory whole (see :func:`.fetch.stream`)."""
        from .fetch import stream

        return stream(
            self,
            batch_size=batch_size,
            order_by=order_by,
            download_path=download_path,
            lazy=lazy,
            timeout=timeout,
        )

    def keys(self, order_by=None, limit=None, offset=None) -> list[dict]:
        """Primary-key dicts of all rows."""
        return self.proj().to_dicts(order_by=order_by, limit=limit, offset=offset)

    def head(self, n: int = 25) -> list[dict]:
        """The first ``n`` rows in primary-key order."""
        return self.to_dicts(order_by="KEY", limit=n)

    def tail(self, n: int = 25) -> list[dict]:
        """The last ``n`` rows in primary-key order."""
        return list(reversed(self.to_dicts(order_by="KEY DESC", limit=n)))

    def __len__(self) -> int:
        from .fetch import count

        return count(self)

    def __bool__(self) -> bool:
        from .fetch import exists

        return exists(self)

    def __contains__(self, key: Any) -> bool:
        return bool(self & key)

    def __iter__(self):
        return iter(self.stream())

    def make_sql(self) -> tuple[str, list]:
        """``(sql, params)`` of the SELECT this expression runs."""
        from .sql.compiler import compile_select

        return compile_select(self)


class U:
    """DataJoint's universal set ``U(*attributes)`` (spec §9.5).

    ``U(...) & q`` gives the distinct values of the attributes in ``q`` (they become the
    primary key); ``U(...).aggr(q, ...)`` groups ``q`` by them (``U().aggr(q, ...)`` gives one
    row); ``q & U(...)`` is ``q``. ``U * q`` and ``U - q`` raise.
    """

    def __init__(self, *attributes: str):
        self.primary_key = list(attributes)

    def __and__(self, other) -> QueryExpression:
        other = _as_expression(other)
        missing = [n for n in self.primary_key if n not in other.heading]
        if missing:
            raise DataJointError(f"Attributes {missing} not found in the restricting expression.")
        heading = Heading([_with_key(other.heading[n], True) for n in self.primary_key])
        return other._derive(DistinctNode(other._node, heading))

    def __mul__(self, other):
        raise DataJointError(
            "dj.U(...) * table is not supported: restrict the U instead (dj.U(...) & table)"
        )

    def __sub__(self, other):
        raise DataJointError("dj.U(...) - table produces an infinite set and is not supported.")

    def aggr(self, group, /, exclude_nonmatching: bool = True, **named: Any) -> QueryExpression:
        """Group ``group`` by the U's attributes and compute ``named`` per group.

        Raises:
            DataJointError: ``exclude_nonmatching=False``, or an attribute missing in ``group``.
        """
        if exclude_nonmatching is False:
            raise DataJointError(
                "Cannot set exclude_nonmatching=False when aggregating on a universal set."
            )
        source = _as_expression(group)
        missing = [n for n in self.primary_key if n not in source.heading]
        if missing:
            raise DataJointError(f"Attributes {missing} not found in the group expression.")
        _check_unique(named, self.primary_key)
        items = tuple(ProjItem(n, n) for n in self.primary_key) + _computed_items(
            named, source.heading
        )
        heading = Heading(
            [_with_key(source.heading[n], True) for n in self.primary_key]
            + [_computed(i.name, i.expression, source.heading) for i in items if i.source is None]
        )
        return source._derive(GroupNode(source._node, tuple(self.primary_key), items, heading))

    aggregate = aggr

    def __repr__(self) -> str:
        return f"U({', '.join(map(repr, self.primary_key))})"


# --- helpers -----------------------------------------------------------------------------------
def _prepare_condition(condition: Any, expr: QueryExpression, semantic_check: bool) -> Any:
    """Check a condition's types and the semantic check of expression conditions; turn
    table classes into expressions and drop ``U`` terms (TRUE)."""
    if isinstance(condition, (dict, str, bool, Comparison)):
        return condition
    if isinstance(condition, Not):
        inner = _prepare_condition(normalize(condition.condition), expr, semantic_check)
        return Not(inner) if inner is not True else False
    if isinstance(condition, AndList):
        return AndList(_prepare_condition(normalize(c), expr, semantic_check) for c in condition)
    if isinstance(condition, (list, tuple)):
        return tuple(_prepare_condition(normalize(c), expr, semantic_check) for c in condition)
    if isinstance(condition, U):
        return True
    if isinstance(condition, type) and hasattr(condition, "heading"):
        condition = condition()
    if isinstance(condition, QueryExpression):
        check_compatible(expr.heading, condition.heading, expr.node, condition.node, semantic_check)
        return condition
    raise TypeError(f"Invalid restriction type {type(condition).__name__}")


def _kept(heading: Heading, attributes) -> list[str]:
    """Secondary attributes named (``...`` for all) among ``attributes``, heading order."""
    names = set()
    for item in attributes:
        if item is Ellipsis:
            names.update(heading.secondary_attributes)
        elif not isinstance(item, str):
            raise QueryError(f"{item!r} is not a valid attribute name for .proj/.aggr")
        elif item not in heading:
            raise QueryError(f"Attribute `{item}` not found.", attribute=item)
        else:
            names.add(item)
    return [n for n in heading.secondary_attributes if n in names]


def _check_new_name(name: str) -> None:
    """Refuse a new attribute name (rename target, computed attribute) that is not a plain
    identifier (``[A-Za-z_][A-Za-z0-9_]*``, at most 64 characters), when the expression is
    built rather than when it is compiled."""
    if not isinstance(name, str) or not _NEW_NAME.fullmatch(name):
        raise QueryError(
            f"Invalid attribute name {name!r}: use letters, digits and underscores, "
            "not starting with a digit (at most 64 characters)",
            attribute=name,
        )


def _check_unique(named: dict, kept: list[str]) -> None:
    """Refuse computed attributes named like a kept attribute (DataJoint's message)."""
    for name in named:
        if name in kept:
            raise QueryError(f"Attribute `{name}` already exists", attribute=name)


def _computed_items(named: dict, heading: Heading) -> tuple[ProjItem, ...]:
    items = []
    for name, value in named.items():
        _check_new_name(name)
        if isinstance(value, Aggregate):
            if value.attribute is not None and value.attribute not in heading:
                raise QueryError(
                    f"Attribute `{value.attribute}` not found.", attribute=value.attribute
                )
        elif not isinstance(value, str):
            raise QueryError(
                f"`{name}`: a computed attribute is an SQL expression string or an "
                f"Aggregate, not {type(value).__name__}",
                attribute=name,
            )
        items.append(ProjItem(name, expression=value))
    return tuple(items)


def _projection(node, attributes, named) -> ProjNode:
    """The ProjNode of ``proj(*attributes, **named)`` over ``node`` (DataJoint's rules)."""
    heading = node.heading
    renames, computes = {}, {}
    for new, value in named.items():
        _check_new_name(new)
        if isinstance(value, Aggregate):
            raise QueryError(f"`{new}`: an Aggregate needs aggr(), not proj()", attribute=new)
        if isinstance(value, str) and value.strip() in heading:  # any attribute name, quoted later
            renames[new] = value.strip()
        elif (isinstance(value, str) and (match := _RENAME.fullmatch(value))) or (
            isinstance(value, str) and (match := _DUPLICATE.fullmatch(value))
        ):
            renames[new] = match.group(1)
        else:
            computes[new] = value
    excluded = set()
    keep = set()
    for item in attributes:
        if item is Ellipsis:
            keep.update(n for n in heading.secondary_attributes if n not in renames.values())
        elif not isinstance(item, str):
            raise QueryError(f"{item!r} is not a valid data type for an attribute in .proj")
        elif item.strip().startswith("-"):
            excluded.add(item.strip()[1:].strip())
        else:
            keep.add(item.strip())
    for name in excluded:
        if name in heading.primary_key:
            raise QueryError(f"Cannot exclude primary key attribute {name}", attribute=name)
    for name in list(keep) + list(renames.values()) + list(excluded):
        if name not in heading:
            raise QueryError(f"Attribute `{name}` not found.", attribute=name)
    keep -= excluded
    keep.update(n for n in heading.primary_key if n not in renames.values())
    for name in list(renames) + list(computes):
        if (
            name in keep
            or list(renames).count(name) + list(computes).count(name) > 1
            or (name in renames and name in computes)
        ):
            raise QueryError(f"Attribute `{name}` already exists", attribute=name)
    renamed_sources = {}
    for new, old in renames.items():
        renamed_sources.setdefault(old, []).append(new)
    items, attrs = [], []
    for attr in heading:
        if attr.name in keep:
            items.append(ProjItem(attr.name, attr.name))
            attrs.append(attr)
        for new in renamed_sources.get(attr.name, []):
            in_key = (
                attr.in_key and new not in computes and _DUPLICATE.fullmatch(named[new]) is None
            )
            items.append(ProjItem(new, attr.name))
            attrs.append(dataclasses.replace(attr, name=new, in_key=in_key))
    for item in _computed_items(computes, heading):
        items.append(item)
        attrs.append(_computed(item.name))
    names = [a.name for a in attrs]
    if len(set(names)) != len(names):
        raise QueryError("Attribute name clash in proj")
    ordered = [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
    order = {a.name: i for i, a in enumerate(ordered)}
    return ProjNode(node, tuple(sorted(items, key=lambda i: order[i.name])), Heading(ordered))
