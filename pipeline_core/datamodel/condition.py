"""Restriction conditions as values (spec §9.1): :class:`AndList`, :class:`Not`, and the
normalisation of what ``expr & cond`` accepts. SQL is rendered by :mod:`.sql.compiler`."""

from __future__ import annotations

import collections.abc
import dataclasses
from typing import Any

import numpy as np


class AndList(tuple):
    """A conjunction of conditions: ``expr & AndList([c1, c2])`` means c1 AND c2.

    A plain list or tuple of conditions means OR (spec §9.1)."""

    def __new__(cls, conditions=()):
        return super().__new__(cls, conditions)


@dataclasses.dataclass(frozen=True)
class Not:
    """Negation of a condition: ``expr & Not(c)`` == ``expr - c``."""

    condition: Any


def normalize(condition: Any) -> Any:
    """Turn numpy records into dicts and sets/generators into tuples; leave the rest.

    Raises:
        TypeError: for ``None`` ("Invalid restriction type None", spec §9.1).
    """
    if condition is None:
        raise TypeError("Invalid restriction type None")
    if isinstance(condition, np.void) and condition.dtype.names:
        return {name: condition[name].item() if hasattr(condition[name], "item") else condition[name]
                for name in condition.dtype.names}
    if isinstance(condition, np.ndarray) and condition.dtype.names:
        return tuple(normalize(r) for r in condition)
    if isinstance(condition, (set, frozenset)) or (
            isinstance(condition, collections.abc.Iterator)):
        return tuple(condition)
    return condition
