"""SQL text of the ``datajoint`` flavour of "Copy as Python"
(:mod:`..query_json.python_code`): the restrictions, computed attributes and aggregates a
script hands to DataJoint for Python as strings.

Names are back-quoted (backquotes doubled) and string literals quoted (``'`` doubled,
``\\`` escaped), so no name or value of a description becomes SQL of its own. The text is
not sent through this package's driver: ``%`` is left as it is (DataJoint escapes it)."""

from __future__ import annotations

from typing import Any

from .computation import FUNCTIONS


def column(name: str) -> str:
    """A back-quoted attribute name."""
    return "`" + name.replace("`", "``") + "`"


def literal(value: Any) -> str:
    """A JSON scalar as an SQL literal: ``TRUE``/``FALSE``, numbers by ``repr``, anything
    else as a quoted string (``'`` doubled, ``\\`` escaped)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def comparison(attribute: str, op: str, value: Any) -> str:
    """A comparison of a description's condition (operators of
    :data:`..condition.OPERATORS`; ``value`` a list for ``in``/``not in``, a pair for
    ``between``, absent for ``is null``/``is not null``)."""
    name = column(attribute)
    if op in ("is null", "is not null"):
        return f"{name} {op.upper()}"
    if op in ("in", "not in"):
        return f"{name} {op.upper()} ({', '.join(map(literal, value))})"
    if op == "between":
        return f"{name} BETWEEN {literal(value[0])} AND {literal(value[1])}"
    return f"{name} {op.upper()} {literal(value)}"


def computation(spec: dict) -> str:
    """A description's computation (``{"attribute"}``, ``{"value"}`` or ``{"function",
    "args"}``) as SQL, with the functions :mod:`.computation` writes."""
    if "attribute" in spec:
        return column(spec["attribute"])
    if "value" in spec:
        return f"({spec['value']!r})"
    args = [computation(a) for a in spec["args"]]
    function = spec["function"]
    if function in ("+", "-", "*", "/"):
        return f"({args[0]} {function} {args[1]})"
    return f"{FUNCTIONS[function]}({', '.join(args)})"


def aggregate(function: str, attribute: str | None, distinct: bool) -> str:
    """An aggregate of ``aggr``: ``count(*)``, ``sum(`x`)``, ``count(distinct `x`)``..."""
    inner = "*" if attribute is None else column(attribute)
    return f"{function}({'distinct ' if distinct else ''}{inner})"
