"""The operators of the query algebra as functions over query trees (spec §7, §9): each
checks its operands, computes the result's heading by DataJoint's rules and returns a new
node. :class:`~.expression.QueryExpression` and :class:`~.expression.U` call them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .condition import Aggregate, Computation
from .errors import DataJointError, QueryError
from .heading import Attribute, Heading
from .nodes import (
    AggrNode,
    DistinctNode,
    GroupNode,
    JoinNode,
    Node,
    ProjItem,
    ProjNode,
    UnionNode,
    lineage_available,
)
from .sql.quoting import check_identifier
from .types import comparable


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
        if comparable(source, ordered=False):
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


def join(a: Node, b: Node, *, semantic_check: bool = True, left: bool = False) -> JoinNode:
    """``a * b``: natural join on all shared attribute names (spec §9.2), after the semantic
    check. The result's primary key is PK(a) if a determines b, else PK(b) if b determines
    a, else the union. ``left=True`` keeps every row of ``a`` (requires a → b).

    Raises:
        DataJointError: the semantic check fails, or a left join where ``a`` does not
            determine ``b``.
    """
    ha, hb = a.heading, b.heading
    check_compatible(ha, hb, a, b, semantic_check)
    a_determines_b = set(hb.primary_key) <= set(ha.names)
    if left and not a_determines_b:
        missing = [n for n in hb.primary_key if n not in ha.names]
        raise DataJointError(
            "Left join requires the left operand to determine the right operand (A → B); "
            "these primary-key attributes of the right operand are not in the left one: "
            f"{missing}"
        )
    on = tuple(n for n in ha.names if n in hb)
    if a_determines_b:
        key, first, second = ha.primary_key, ha, hb
    elif set(ha.primary_key) <= set(hb.names):
        key, first, second = hb.primary_key, hb, ha
    else:
        key = ha.primary_key + [n for n in hb.primary_key if n not in ha.primary_key]
        first, second = ha, hb
    ordered = [first[n] for n in key if n in first] + [second[n] for n in key if n not in first]
    rest = [x for x in first if x.name not in key] + [
        x for x in second if x.name not in key and x.name not in first
    ]
    if left:  # the right operand's own attributes are NULL where nothing matches
        rest = [dataclasses.replace(x, nullable=True) if x.name not in ha else x for x in rest]
    heading = Heading([_with_key(x, True) for x in ordered] + [_with_key(x, False) for x in rest])
    return JoinNode(a, b, on, heading, left_join=left)


def union(a: Node, b: Node) -> UnionNode:
    """``a + b`` (spec §9.6): the same primary key, no shared secondary attribute; rows of
    either operand, secondary attributes of the other operand NULL.

    Raises:
        DataJointError: different primary keys, shared secondary attributes, or (when the
            union joins, i.e. either side has secondary attributes) the semantic check.
    """
    ha, hb = a.heading, b.heading
    if set(ha.primary_key) != set(hb.primary_key):
        raise DataJointError("The operands of a union must share the same primary key.")
    if set(ha.secondary_attributes) & set(hb.secondary_attributes):
        raise DataJointError("The operands of a union must not share any secondary attributes.")
    if ha.secondary_attributes or hb.secondary_attributes:
        check_compatible(ha, hb, a, b, True)  # the outer union joins
    attrs = [ha[n] for n in ha.primary_key]
    attrs += [dataclasses.replace(ha[n], nullable=True) for n in ha.secondary_attributes]
    attrs += [dataclasses.replace(hb[n], nullable=True) for n in hb.secondary_attributes]
    return UnionNode(a, b, Heading(attrs))


def aggregation(
    group: Node, source: Node, attributes, named: dict, exclude_nonmatching: bool
) -> AggrNode:
    """``group.aggr(source, *attributes, **named)`` (spec §9.4).

    Raises:
        DataJointError: ``source`` lacks a primary-key attribute of ``group``, or fails the
            semantic check. QueryError: unknown or clashing attribute names.
    """
    hg, hs = group.heading, source.heading
    missing = [n for n in hg.primary_key if n not in hs]
    if missing:
        raise DataJointError(
            "Aggregation requires the group expression to contain all primary "
            f"key attributes of the grouping expression. Missing attributes: {missing}."
        )
    check_compatible(hg, hs, group, source, True)
    keep = _kept(hg, attributes)
    _check_unique(named, hg.primary_key + keep)
    merged = Heading(list(hg) + [x for x in hs if x.name not in hg])
    items = tuple(ProjItem(n, n) for n in hg.primary_key + keep) + _computed_items(named, merged)
    heading = Heading(
        [hg[n] for n in hg.primary_key + keep]
        + [_computed(i.name, i.expression, merged) for i in items if i.source is None]
    )
    on = tuple(n for n in hg.names if n in hs)
    return AggrNode(group, source, on, items, exclude_nonmatching, heading)


def distinct(node: Node, names: list[str]) -> DistinctNode:
    """``U(*names) & node``: the distinct values of ``names``, which become the primary key
    (spec §9.5).

    Raises:
        DataJointError: a name not in the heading.
    """
    missing = [n for n in names if n not in node.heading]
    if missing:
        raise DataJointError(f"Attributes {missing} not found in the restricting expression.")
    return DistinctNode(node, Heading([_with_key(node.heading[n], True) for n in names]))


def grouping(node: Node, by: list[str], named: dict) -> GroupNode:
    """``U(*by).aggr(node, **named)``: one row per distinct value of ``by`` (spec §9.5).

    Raises:
        DataJointError: a name of ``by`` not in the heading. QueryError: bad new names.
    """
    heading = node.heading
    missing = [n for n in by if n not in heading]
    if missing:
        raise DataJointError(f"Attributes {missing} not found in the group expression.")
    _check_unique(named, by)
    items = tuple(ProjItem(n, n) for n in by) + _computed_items(named, heading)
    result = Heading(
        [_with_key(heading[n], True) for n in by]
        + [_computed(i.name, i.expression, heading) for i in items if i.source is None]
    )
    return GroupNode(node, tuple(by), items, result)


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
        elif isinstance(value, Computation):
            for attribute in value.attributes():
                if attribute not in heading:
                    raise QueryError(f"Attribute `{attribute}` not found.", attribute=attribute)
        elif not isinstance(value, str):
            raise QueryError(
                f"`{name}`: a computed attribute is an SQL expression string, a Computation "
                f"or an Aggregate, not {type(value).__name__}",
                attribute=name,
            )
        items.append(ProjItem(name, expression=value))
    return tuple(items)


def projection(node: Node, attributes, named: dict, *, columns: bool = False) -> ProjNode:
    """``node.proj(*attributes, **named)`` by DataJoint's rules (spec §9.3).

    Args:
        columns: the new names are columns of a table (a foreign key's renames, followed by
            a cascade): any name the server accepts (``x%y``), not only plain identifiers.
    Raises:
        QueryError: unknown attribute, excluded primary-key attribute, or a name clash.
    """
    heading = node.heading
    renames, computes = {}, {}
    for new, value in named.items():
        if columns:
            check_identifier(new)
        else:
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
