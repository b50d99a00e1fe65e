"""Keyset pagination conditions (spec §12.9): the rows strictly after a given row in a total
order, written so that MariaDB can use an index range."""

from __future__ import annotations

from ..condition import RawSQL
from ..errors import InvalidValueError, UnknownAttributeError
from ..heading import Heading
from ..types import enum_values
from .quoting import quote


def _enum_rank(attr, value) -> int:
    """The 1-based position of ``value`` among the enum's values (case-insensitively, as
    the server compares them).

    Raises:
        InvalidValueError: not one of the values.
    """
    values = enum_values(attr.type)
    folded = [v.lower() for v in values]
    if not isinstance(value, str) or value.lower() not in folded:
        raise InvalidValueError(
            f"invalid value {value!r} for attribute `{attr.name}` of type "
            f"{attr.type}: not one of {values}",
            attribute=attr.name,
        )
    return folded.index(value.lower()) + 1


def keyset_after(order: list[tuple[str, bool]], last: list, heading: Heading) -> RawSQL:
    """Rows strictly after ``last`` in ``order`` (``[(attribute, descending)]``, a total
    order), expanded as ``a > %s OR (a = %s AND b > %s) ...`` so MariaDB uses an index
    range (spec §12.9), as a :class:`RawSQL` condition. Nullable attributes compare with
    ``<=>``; NULL sorts first
    ascending and last descending, and enums by their declaration order (MySQL/MariaDB
    order; ``last`` holds enum values as text).

    Raises:
        UnknownAttributeError: an attribute not in the heading.
    """
    terms, params = [], []
    equal: list[str] = []
    equal_params: list = []
    for (name, descending), value in zip(order, last):
        if name not in heading:
            raise UnknownAttributeError(f"`{name}` is not in the heading", attribute=name)
        column = quote(name)
        nullable = heading[name].nullable
        rank, rank_value = column, value
        if heading[name].base_type == "enum" and value is not None:
            rank, rank_value = f"({column} + 0)", _enum_rank(heading[name], value)
        if value is None:
            after, after_params = (None, []) if descending else (f"{column} IS NOT NULL", [])
        elif descending:
            after = f"{rank} < %s" + (f" OR {column} IS NULL" if nullable else "")
            after_params = [rank_value]
        else:
            after, after_params = f"{rank} > %s", [rank_value]
        if after is not None:
            terms.append(" AND ".join([*equal, f"({after})"]))
            params.extend(equal_params + after_params)
        if value is None:
            equal.append(f"{column} IS NULL")
        else:
            equal.append(f"{column} {'<=>' if nullable else '='} %s")
            equal_params.append(value)
    if not terms:
        return RawSQL("FALSE")
    return RawSQL(" OR ".join(f"({t})" for t in terms), params)
