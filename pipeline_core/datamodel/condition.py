"""Restriction conditions as values (spec §9.1): :class:`AndList`, :class:`Not`, and the
normalisation of what ``expr & cond`` accepts. SQL is rendered by :mod:`.sql.compiler`."""

from __future__ import annotations

import collections.abc
import dataclasses
from typing import Any

import numpy as np

from .errors import QueryError


class AndList(tuple):
    """A conjunction of conditions: ``expr & AndList([c1, c2])`` means c1 AND c2.

    A plain list or tuple of conditions means OR (spec §9.1)."""

    def __new__(cls, conditions=()):
        return super().__new__(cls, conditions)


@dataclasses.dataclass(frozen=True)
class Not:
    """Negation of a condition: ``expr & Not(c)`` == ``expr - c``."""

    condition: Any


def invalid_restriction(condition: Any) -> QueryError:
    """DataJoint's error for a restriction of a type it does not take (spec §9.1):
    ``Invalid restriction type None``, ``Invalid restriction type 5``."""
    return QueryError(f"Invalid restriction type {condition!r}")


def normalize(condition: Any) -> Any:
    """Turn numpy records into dicts and sets/generators into tuples; leave the rest.

    Raises:
        QueryError: for ``None`` ("Invalid restriction type None", spec §9.1).
    """
    if condition is None:
        raise invalid_restriction(condition)
    if isinstance(condition, np.void) and condition.dtype.names:
        return {
            name: condition[name].item() if hasattr(condition[name], "item") else condition[name]
            for name in condition.dtype.names
        }
    if isinstance(condition, np.ndarray) and condition.dtype.names:
        return tuple(normalize(r) for r in condition)
    if isinstance(condition, (set, frozenset, collections.abc.Iterator)):
        return tuple(condition)
    return condition


@dataclasses.dataclass(frozen=True)
class RawSQL:
    """A condition in SQL built by the SQL layer itself, with its own driver parameters:
    ``RawSQL("`a` > %s", (3,))``. Not for text from users (values belong in ``params``).

    Attributes:
        sql: SQL text with ``%s`` placeholders (a literal ``%`` written ``%%``).
        params: the values of the placeholders, in order.
    """

    sql: str
    params: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "params", tuple(self.params))


@dataclasses.dataclass(frozen=True)
class Top:
    """Order and limit as a restriction: ``expr & Top(limit, order_by, offset)`` keeps the
    first ``limit`` rows in ``order_by`` order after skipping ``offset`` (spec §9.7).

    Attributes:
        limit: number of rows (None: no limit, only the order).
        order_by: ``"KEY"`` (default), ``"KEY DESC"``, ``"attr [ASC|DESC]"``, a list of
            those, or None (no order).
        offset: rows skipped before the first one kept.

    Raises:
        TypeError / ValueError: limit or offset not a non-negative integer.
    """

    limit: int | None = 1
    order_by: Any = "KEY"
    offset: int = 0

    def __post_init__(self):
        for name in ("limit", "offset"):
            value = getattr(self, name)
            if value is None and name == "limit":
                continue
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise TypeError(f"Top {name} must be a non-negative integer, not {value!r}")
        order = self.order_by
        if isinstance(order, str):
            object.__setattr__(self, "order_by", (order,))
        elif order is not None:
            object.__setattr__(self, "order_by", tuple(order))
        object.__setattr__(self, "offset", int(self.offset))


#: Operators of a :class:`Comparison` (the fixed set a JSON query description may use).
OPERATORS = (
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not in",
    "like",
    "is null",
    "is not null",
    "between",
)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """``attribute <operator> value``, compiled with the value as a parameter.

    Attributes:
        attribute: an attribute of the restricted expression (checked when compiled).
        operator: one of :data:`OPERATORS`.
        value: a scalar (``in``/``not in``: a non-empty sequence; ``between``: two values;
            ``is null``/``is not null``: ignored).

    Raises:
        QueryError: unknown operator or a value of the wrong shape for it (naming the
            attribute).
    """

    attribute: str
    operator: str
    value: Any = None

    def __post_init__(self):
        operator = " ".join(str(self.operator).lower().split())
        if operator not in OPERATORS:
            raise QueryError(
                f"unknown operator {self.operator!r} for `{self.attribute}`; use one of "
                + ", ".join(OPERATORS),
                attribute=self.attribute,
            )
        object.__setattr__(self, "operator", operator)
        value = self.value
        if operator in ("in", "not in"):
            if isinstance(value, (str, bytes)) or not isinstance(value, collections.abc.Iterable):
                raise QueryError(
                    f"`{self.attribute}` {operator}: the value must be a list",
                    attribute=self.attribute,
                )
            value = tuple(value)
            if not value:
                raise QueryError(
                    f"`{self.attribute}` {operator}: the list is empty", attribute=self.attribute
                )
        elif operator == "between":
            if (
                isinstance(value, (str, bytes))
                or not isinstance(value, collections.abc.Iterable)
                or len(tuple(value)) != 2
            ):
                raise QueryError(
                    f"`{self.attribute}` between: the value must be [low, high]",
                    attribute=self.attribute,
                )
            value = tuple(value)
        elif operator in ("is null", "is not null"):
            value = None
        object.__setattr__(self, "value", value)


#: Functions an :class:`Aggregate` may apply (the fixed set a JSON description may use).
AGGREGATE_FUNCTIONS = ("count", "sum", "avg", "min", "max")


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """An aggregate value for ``aggr``: ``count(*)``, ``count([distinct] attr)``,
    ``sum/avg/min/max(attr)``, with the attribute checked and quoted when compiled.

    Raises:
        QueryError: unknown function, or an attribute missing for one other than count.
    """

    function: str
    attribute: str | None = None
    distinct: bool = False

    def __post_init__(self):
        function = str(self.function).lower()
        if function not in AGGREGATE_FUNCTIONS:
            raise QueryError(
                f"unknown aggregate function {self.function!r}; use one of "
                + ", ".join(AGGREGATE_FUNCTIONS)
            )
        if self.attribute is None and function != "count":
            raise QueryError(f"{function} needs an attribute")
        object.__setattr__(self, "function", function)


#: Functions a :class:`Computation` may apply: name -> (fewest, most arguments; None: any).
COMPUTE_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "+": (2, 2),
    "-": (2, 2),
    "*": (2, 2),
    "/": (2, 2),
    "abs": (1, 1),
    "round": (1, 2),
    "floor": (1, 1),
    "ceil": (1, 1),
    "lower": (1, 1),
    "upper": (1, 1),
    "length": (1, 1),
    "concat": (2, None),
    "coalesce": (2, None),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
}


def arity_problem(function: str, count: int) -> str | None:
    """Why ``count`` arguments do not suit ``function`` (one of :data:`COMPUTE_FUNCTIONS`),
    e.g. ``"round takes 1 to 2 argument(s), not 3"``; None when they do."""
    fewest, most = COMPUTE_FUNCTIONS[function]
    if fewest <= count and (most is None or count <= most):
        return None
    if fewest == most:
        wanted = str(fewest)
    else:
        wanted = f"{fewest} or more" if most is None else f"{fewest} to {most}"
    return f"{function} takes {wanted} argument(s), not {count}"


@dataclasses.dataclass(frozen=True)
class Computation:
    """A computed attribute for ``proj`` built from a fixed set of functions (no SQL text):
    ``Computation("-", ("stop_time", "start_time"))``, ``Computation("round", (
    Computation("/", ("weight", 1000)), 2))``. Arguments are attribute names (``str``),
    finite numbers (``int``/``float``; never reaching SQL as text from a user: they are
    Python numbers, written by ``repr``) or nested computations. The attributes are checked
    against the heading and quoted when compiled (:mod:`.sql.compiler`).

    Functions (:data:`COMPUTE_FUNCTIONS`): ``+ - * /``; ``abs``, ``round`` (optional second
    argument: digits), ``floor``, ``ceil``; ``lower``, ``upper``, ``length`` (characters);
    ``concat``, ``coalesce`` (two or more arguments); ``year``, ``month``, ``day`` of a
    date or datetime. SQL's rules apply (``NULL`` in, ``NULL`` out; ``x / 0`` is NULL).

    Raises:
        QueryError: unknown function, wrong number of arguments, or an argument that is
            not an attribute name, a finite number or a Computation.
    """

    function: str
    args: tuple = ()

    def __post_init__(self):
        function = str(self.function).lower()
        if function not in COMPUTE_FUNCTIONS:
            raise QueryError(
                f"unknown function {self.function!r}; use one of " + ", ".join(COMPUTE_FUNCTIONS)
            )
        args = tuple(self.args)
        problem = arity_problem(function, len(args))
        if problem:
            raise QueryError(problem)
        for arg in args:
            if isinstance(arg, bool) or not isinstance(arg, (str, int, float, Computation)):
                raise QueryError(
                    f"{function}: an argument is an attribute name, a number or a Computation, "
                    f"not {type(arg).__name__}"
                )
            if isinstance(arg, float) and not np.isfinite(arg):
                raise QueryError(f"{function}: numbers must be finite")
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "args", args)

    def attributes(self) -> list[str]:
        """The attribute names it reads, in order (repeats kept)."""
        names = []
        for arg in self.args:
            if isinstance(arg, Computation):
                names += arg.attributes()
            elif isinstance(arg, str):
                names.append(arg)
        return names
