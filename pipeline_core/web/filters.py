"""Column filters of a table page: one control per column header, each writing one condition
of the page's ``where`` (``{"and": [...]}``, one condition per column, in the JSON query
description's condition form), shown as removable chips.

A filter is submitted as a plain GET form (``filter=<attribute>&op=<operator>&value=<text>``
next to the page's ``where`` and ``order``); the view turns it into the new ``where``
(:func:`apply_filter`) and answers with the page's canonical URL. Values are typed here by
the attribute's type family (integers, floats, booleans; dates and text as text, which the
data model converts and checks).
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel.types import enum_values, type_family

#: Operators of the column filters: value -> label. ``like`` only for text attributes,
#: the null tests only for nullable ones.
OPERATORS = {
    "=": "=",
    "!=": "≠",
    "<": "<",
    "<=": "≤",
    ">": ">",
    ">=": "≥",
    "like": "like (% and _ wildcards)",
    "is null": "is NULL",
    "is not null": "is not NULL",
}
NULL_OPERATORS = ("is null", "is not null")
#: HTML input type by type family (others: text).
INPUT_TYPES = {"integer": "number", "float": "number", "decimal": "text", "date": "date"}


@dataclasses.dataclass(frozen=True)
class ColumnFilter:
    """The filter control of one column header.

    Attributes:
        name: the attribute; operators: ``[(value, label)]`` it may use.
        input_type: the HTML input type (``number``, ``date``, ``text``), or ``select``
            with ``choices`` (enum values, true/false).
        step: the number input's step (``1``, ``any``) or "".
        operator, value: the current filter on the column (prefilled), or "".
    """

    name: str
    operators: list[tuple[str, str]]
    input_type: str
    choices: list[str]
    step: str
    operator: str
    value: str

    @property
    def active(self) -> bool:
        """Whether the column is filtered now."""
        return bool(self.operator)


@dataclasses.dataclass(frozen=True)
class Chip:
    """An active filter: its text and the URL of the page without it."""

    text: str
    remove_url: str


def items_of(where: Any) -> list:
    """The conditions ANDed at the top of ``where`` (``{"and": [...]}`` -> its items; any
    other condition is one item; None: none)."""
    if where is None:
        return []
    if isinstance(where, dict) and set(where) == {"and"} and isinstance(where["and"], list):
        return list(where["and"])
    return [where]


def _on(item: Any, name: str) -> bool:
    """``item`` is a comparison of attribute ``name``."""
    return isinstance(item, dict) and item.get("attribute") == name


def _joined(items: list) -> dict | None:
    return {"and": items} if items else None


def column_filter(attr, where: Any) -> ColumnFilter | None:
    """The filter control of a column (None for attributes that cannot be compared:
    blobs, json, stored values)."""
    if not services.sortable(attr):
        return None
    family = type_family(attr.type)
    names = ["=", "!=", "<", "<=", ">", ">="]
    if family == "text":
        names.append("like")
    if attr.nullable:
        names += list(NULL_OPERATORS)
    choices: list[str] = []
    input_type = INPUT_TYPES.get(family, "text")
    if attr.base_type == "enum":
        input_type, choices = "select", enum_values(attr.type)
    elif family == "bool":
        input_type, choices = "select", ["true", "false"]
    elif family == "datetime":
        input_type = "datetime-local"
    current = next((i for i in items_of(where) if _on(i, attr.name)), None)
    operator = current.get("operator", "") if current else ""
    value = _value_text(current.get("value", "")) if current else ""
    if input_type == "datetime-local":
        value = value.replace(" ", "T")  # what the input takes
    return ColumnFilter(
        name=attr.name,
        operators=[(n, OPERATORS[n]) for n in names],
        input_type=input_type,
        choices=choices,
        step={"integer": "1", "float": "any"}.get(family, ""),
        operator=operator,
        value=value,
    )


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    return "" if value is None else str(value)


def apply_filter(info, where: Any, name: str, operator: str, text: str) -> dict | None:
    """``where`` with the filter of column ``name`` set to ``operator`` and the typed
    ``text`` (replacing any comparison of that column at the top of ``where``); an empty
    ``operator`` removes the column's filter.

    Returns:
        the new condition, ``{"and": [...]}``, or None when nothing is left.
    Raises:
        UnknownAttributeError: no attribute ``name``. QueryError: an attribute that cannot
            be compared, an unknown operator, or a value missing or not of the attribute's
            type (named).
    """
    if name not in info.heading:
        raise dm.UnknownAttributeError(
            f"{info.full_name}: cannot filter by `{name}`: no such attribute",
            table=info.full_name,
            attribute=name,
        )
    attr = info.heading[name]
    items = [i for i in items_of(where) if not _on(i, name)]
    operator = operator.strip()
    if not operator:
        return _joined(items)
    control = column_filter(attr, None)
    if control is None or operator not in dict(control.operators):
        raise dm.QueryError(
            f"{info.full_name}: cannot filter `{name}` ({attr.type}) with {operator!r}",
            table=info.full_name,
            attribute=name,
        )
    condition: dict[str, Any] = {"attribute": name, "operator": operator}
    if operator not in NULL_OPERATORS:
        condition["value"] = _typed(info, attr, text)
    return _joined([*items, condition])


def _typed(info, attr, text: str) -> Any:
    """A filter's text as the JSON value of a condition on ``attr``."""
    text = text.strip()
    family = type_family(attr.type)

    def refuse(reason: str):
        return dm.QueryError(
            f"{info.full_name}: filter on `{attr.name}` ({attr.type}): {reason}",
            table=info.full_name,
            attribute=attr.name,
        )

    if not text:
        raise refuse("a value is needed (or choose “is NULL”)")
    try:
        if family == "integer":
            return int(text)
        if family == "float":
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
    except ValueError:
        raise refuse(f"{text!r} is not a number") from None
    if family == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise refuse(f"{text!r} is not true or false")
        return text.lower() in ("true", "1")
    if family == "datetime":
        return text.replace("T", " ")
    return text


def chips(state) -> list[Chip]:
    """The active filters of a :class:`~.table_state.TableState` (the items ANDed at the top
    of its ``where``), each with the URL of the first page without it."""
    items = items_of(state.where)
    return [
        Chip(
            condition_text(item),
            state.with_changes(where=_joined(items[:i] + items[i + 1 :])).first_url(),
        )
        for i, item in enumerate(items)
    ]


def condition_text(condition: Any) -> str:
    """A condition as people read it: ``score ≥ 3``, ``name like "A%"``, ``(a = 1 or b is
    NULL)``, ``not (…)``, ``matching lab.Session``."""
    if not isinstance(condition, dict):
        return json.dumps(condition)
    for key in ("and", "or"):
        if key in condition and isinstance(condition[key], list):
            return "(" + f" {key} ".join(condition_text(c) for c in condition[key]) + ")"
    if "not" in condition:
        return f"not {condition_text(condition['not'])}"
    if "matching" in condition:
        source = condition["matching"]
        if isinstance(source, dict) and "table" in source:
            return f"matching {source.get('schema', '')}.{source['table']}"
        return "matching a query"
    name, operator = condition.get("attribute", "?"), condition.get("operator", "?")
    label = "like" if operator == "like" else OPERATORS.get(operator, operator)
    if "value" not in condition:
        return f"{name} {label}"
    value = condition["value"]
    if operator == "between" and isinstance(value, list) and len(value) == 2:
        return f"{name} between {_shown(value[0])} and {_shown(value[1])}"
    return f"{name} {label} {_shown(value)}"


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _value_text(value)
