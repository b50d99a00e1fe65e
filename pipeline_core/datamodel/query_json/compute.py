"""Computed attributes of a description's ``proj`` (``"compute": {new name: computation}``)
<-> :class:`~..condition.Computation` (format: :mod:`.query_json`).

A computation is ``{"attribute": name}``, ``{"value": number}`` or ``{"function": f,
"args": [computation, ...]}`` with ``f`` one of :data:`~..condition.COMPUTE_FUNCTIONS`.
The structure is checked by the JSON Schema; here the number of arguments, the attributes
(in the heading, comparable) and the kind of value each function takes, with the path of
the argument at fault.
"""

from __future__ import annotations

import math
from typing import Any

from .. import types
from ..condition import Computation, arity_problem
from ..errors import QueryDescriptionError
from ..heading import Heading
from . import checks
from .structure import at

#: What each function takes: "number", "text", "date" or "any" (per argument), and gives.
_TAKES = {
    **dict.fromkeys(("+", "-", "*", "/", "abs", "round", "floor", "ceil"), "number"),
    **dict.fromkeys(("lower", "upper", "length"), "text"),
    **dict.fromkeys(("concat", "coalesce"), "any"),
    **dict.fromkeys(("year", "month", "day"), "date"),
}
_GIVES = {
    **dict.fromkeys(("+", "-", "*", "/", "abs", "round", "floor", "ceil"), "number"),
    **dict.fromkeys(("lower", "upper", "concat"), "text"),
    **dict.fromkeys(("length", "year", "month", "day"), "number"),
}
#: Type families of attributes each kind admits (``expression``: a computed attribute).
_FAMILIES = {
    "number": ("integer", "float", "decimal", "bool", "expression"),
    "text": ("text", "expression"),
    "date": ("date", "datetime", "expression"),
}
_WORDS = {"number": "a number", "text": "text", "date": "a date or datetime"}
#: ``round``'s digits: a small integer.
MAX_DIGITS = 30


def computation(d: dict, heading: Heading, path: str) -> Computation:
    """The :class:`Computation` of a (structurally valid) computation description.

    Raises:
        QueryDescriptionError: an unknown or uncomparable attribute, a wrong number or
            kind of arguments, a non-finite number, at the path of the element at fault.
    """
    value, _ = _operand(d, heading, path)
    if not isinstance(value, Computation):
        raise QueryDescriptionError(
            "a computed attribute applies a function ({function, args}); to copy an attribute "
            "use rename",
            path,
        )
    return value


def _operand(d: dict, heading: Heading, path: str) -> tuple[Any, str]:
    """``(argument of a Computation, kind it gives)``."""
    if "attribute" in d:
        where = at(path, "attribute")
        attr = checks.comparable(checks.attribute(d["attribute"], heading, where), where, "compute")
        family = types.type_family(attr.type)
        kind = next((k for k, fams in _FAMILIES.items() if family in fams), "other")
        return attr.name, "any" if family == "expression" else kind
    if "value" in d:
        number = d["value"]
        if isinstance(number, float) and not math.isfinite(number):
            raise QueryDescriptionError("numbers must be finite", at(path, "value"))
        return number, "number"
    function, args = d["function"], d["args"]
    problem = arity_problem(function, len(args))
    if problem:
        raise QueryDescriptionError(problem, at(path, "args"))
    built, kinds = [], []
    for i, arg in enumerate(args):
        where = f"{at(path, 'args')}[{i}]"
        value, kind = _operand(arg, heading, where)
        wanted = _TAKES[function]
        if function == "round" and i == 1:
            if not (isinstance(value, int) and 0 <= value <= MAX_DIGITS):
                raise QueryDescriptionError(
                    f"round's second argument is its digits: an integer {{value}} from 0 to "
                    f"{MAX_DIGITS}",
                    where,
                )
        elif wanted != "any" and kind not in (wanted, "any"):
            raise QueryDescriptionError(
                f"{function} takes {_WORDS[wanted]}, not {_what(arg, kind)}",
                where,
                attribute=arg.get("attribute"),
            )
        built.append(value)
        kinds.append(kind)
    gives = _GIVES.get(function) or kinds[0]  # coalesce: the kind of its first argument
    return Computation(function, tuple(built)), gives


def _what(arg: dict, kind: str) -> str:
    if "attribute" in arg:
        return f"`{arg['attribute']}` ({kind if kind != 'other' else 'not a number, text or date'})"
    return {"number": "a number", "text": "text", "date": "a date"}.get(kind, kind)


def describe(value: Any) -> dict:
    """The description of a :class:`Computation` argument (the inverse of
    :func:`computation`)."""
    if isinstance(value, Computation):
        return {"function": value.function, "args": [describe(a) for a in value.args]}
    if isinstance(value, str):
        return {"attribute": value}
    return {"value": value}
