"""Checks of a description's names and values against the headings of the tables it names
(what :data:`.schema.SCHEMA` cannot know); each raises a
:class:`~..errors.QueryDescriptionError` at the path given."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import types
from ..errors import DataJointError, QueryDescriptionError
from ..expression import QueryExpression, check_compatible
from ..heading import Attribute, Heading
from ..values import DEFAULT, encode
from .structure import shown

#: Type families ``like`` applies to, and ``sum``/``avg`` (``expression``: a computed
#: attribute, whose type is not known), see :func:`..types.type_family`.
TEXT_FAMILIES = ("text", "expression")
NUMBER_FAMILIES = ("integer", "float", "decimal", "bool", "expression")


def attribute(name: str, heading: Heading, path: str) -> Attribute:
    """The attribute ``name`` of the heading (the error lists the heading's names)."""
    if name not in heading:
        known = ", ".join(heading.names[:30]) + (", ..." if len(heading) > 30 else "")
        raise QueryDescriptionError(
            f"unknown attribute {shown(name)!r}; the heading has: {known}",
            path,
            attribute=shown(name),
        )
    return heading[name]


def comparable(attr: Attribute, path: str, doing: str) -> Attribute:
    """An attribute that can be compared, ordered and grouped by (no blob, stored or json,
    :func:`..types.comparable`)."""
    if not types.comparable(attr):
        raise QueryDescriptionError(
            f"cannot {doing} `{attr.name}` ({attr.type})", path, attribute=attr.name
        )
    return attr


def text(attr: Attribute, path: str) -> Attribute:
    """An attribute ``like`` applies to."""
    if types.type_family(attr.type) not in TEXT_FAMILIES:
        raise QueryDescriptionError(
            f"like compares text attributes with a string pattern, not `{attr.name}` ({attr.type})",
            path,
            attribute=attr.name,
        )
    return attr


def numeric(attr: Attribute, path: str, function: str) -> Attribute:
    """An attribute ``sum`` and ``avg`` apply to."""
    if types.type_family(attr.type) not in NUMBER_FAMILIES:
        raise QueryDescriptionError(
            f"{function} needs a numeric attribute, not `{attr.name}` ({attr.type})",
            path,
            attribute=attr.name,
        )
    return attr


def secondary(names: list[str], heading: Heading, path: str) -> list[str]:
    """Attributes to keep: in the heading and not in the primary key (always kept)."""
    for i, name in enumerate(names):
        if attribute(name, heading, f"{path}[{i}]").in_key:
            raise QueryDescriptionError(
                f"`{name}` is in the primary key, which is always kept",
                f"{path}[{i}]",
                attribute=name,
            )
    return names


def new_name(name: str, path: str, taken) -> str:
    """``name`` for a new attribute (a rename or computed value), refused when ``taken``
    (a collection of the names already in the result) holds it."""
    if name in taken:
        raise QueryDescriptionError(f"attribute `{name}` already exists", path, attribute=name)
    return name


def check_value(attr: Attribute, value: Any, path: str) -> None:
    """The value fits the attribute (encoded as the compiler will)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise QueryDescriptionError("numbers must be finite", path)  # JSON has no NaN
    if attr.type == "expression":
        return
    try:
        encoded = encode(attr, value)
    except DataJointError as exc:
        raise QueryDescriptionError(
            f"invalid value {shown(repr(value))} for `{attr.name}` ({attr.type})",
            path,
            attribute=attr.name,
        ) from exc
    if encoded is DEFAULT:
        raise QueryDescriptionError(
            f"empty value for `{attr.name}` ({attr.type}); use the operator 'is null'",
            path,
            attribute=attr.name,
        )


def guarded(path: str, build: Callable[[], Any]) -> Any:
    """Run an operator; its data-model errors become description errors at ``path``."""
    try:
        return build()
    except QueryDescriptionError:
        raise
    except (DataJointError, ValueError, TypeError) as exc:
        raise QueryDescriptionError(
            str(exc), path, attribute=getattr(exc, "attribute", None)
        ) from exc


def semantic_check(expr: QueryExpression, other: QueryExpression, path: str) -> None:
    """DataJoint's semantic check (spec §7), explained in the description's terms."""
    try:
        check_compatible(expr.heading, other.heading, expr.node, other.node, True)
    except DataJointError as exc:
        name = exc.attribute
        raise QueryDescriptionError(
            f"cannot match on attribute `{name}`: both operands have it, but not from the same "
            f"origin ({expr.heading[name].lineage or 'none'} vs "
            f"{other.heading[name].lineage or 'none'}: only attributes that come from the same "
            "table through foreign keys match). Rename or drop it with proj in one operand",
            path,
            attribute=name,
        ) from None
