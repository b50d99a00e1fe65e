"""SQL of a :class:`~..condition.Computation` (a computed attribute of ``proj`` built from
a fixed set of functions): attributes checked and quoted, numbers written from Python
numbers, function names from a fixed table."""

from __future__ import annotations

from ..condition import Computation
from ..errors import UnknownAttributeError
from ..heading import Heading
from .quoting import quote

#: SQL of the functions of a :class:`Computation` (infix operators are written apart).
FUNCTIONS = {
    "abs": "ABS",
    "round": "ROUND",
    "floor": "FLOOR",
    "ceil": "CEILING",
    "lower": "LOWER",
    "upper": "UPPER",
    "length": "CHAR_LENGTH",
    "concat": "CONCAT",
    "coalesce": "COALESCE",
    "year": "YEAR",
    "month": "MONTH",
    "day": "DAYOFMONTH",
}


def computation_sql(computation: Computation, heading: Heading) -> str:
    """The SQL of a :class:`Computation`: attributes checked against ``heading`` and
    quoted, numbers written by ``repr`` of the (finite) Python number, functions from a
    fixed table; no text of the caller's reaches the SQL.

    Raises:
        UnknownAttributeError: an attribute not in the heading.
    """

    def operand(arg) -> str:
        if isinstance(arg, Computation):
            return computation_sql(arg, heading)
        if isinstance(arg, str):
            if arg not in heading:
                raise UnknownAttributeError(f"`{arg}` is not in the heading", attribute=arg)
            return quote(arg)
        number = int(arg) if isinstance(arg, int) else float(arg)  # never text
        return f"({number!r})"

    args = [operand(a) for a in computation.args]
    if computation.function in ("+", "-", "*", "/"):
        return f"({args[0]} {computation.function} {args[1]})"
    return f"{FUNCTIONS[computation.function]}({', '.join(args)})"
