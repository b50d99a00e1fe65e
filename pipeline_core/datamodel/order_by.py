"""The ``order_by`` grammar of fetches and :class:`~.condition.Top` (spec §9.7), in one
place for the compiler and for keyset paging.

An ``order_by`` is a string or a sequence of strings; each string holds one or more items
separated by commas, as DataJoint accepts them (``"points DESC, grade"``). An item is
``KEY`` (the primary key; ``KEY ASC``, ``KEY DESC``) or an attribute name followed by an
optional ``ASC`` or ``DESC`` (any letter case). A name holding blanks, commas or
backquotes (a legacy column ``bad col``) is written in backquotes as in SQL, a backquote
inside doubled: ``"`bad col` DESC"`` (:func:`order_item` writes an item).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from .errors import QueryError, UnknownAttributeError
from .heading import Heading

#: One item: a name (bare: no blanks, commas or backquotes; or in backquotes, a backquote
#: inside doubled) and an optional direction. Whether the name is an attribute is checked
#: against the heading.
_ITEM = re.compile(r"\s*(?:([^\s,`]+)|`((?:[^`]|``)+)`)(?:\s+(?i:(asc)|(desc)))?\s*", re.S)
_KEY = re.compile(r"\s*(?i:key)(?:\s+(?i:(asc)|(desc)))?\s*")
#: A comma outside backquotes (where :func:`items_of` cuts a string).
_COMMA = re.compile(r",|`(?:[^`]|``)*`?", re.S)
_BARE = re.compile(r"[^\s,`]+")


@functools.lru_cache(maxsize=1024)
def order_item(name: str, descending: bool = False) -> str:
    """The ``order_by`` item ordering by the attribute ``name``: ``"points DESC"``;
    ``"`bad col` DESC"`` for a name that needs backquotes (blanks, commas, backquotes)."""
    text = name if _BARE.fullmatch(name) else "`" + name.replace("`", "``") + "`"
    return f"{text} DESC" if descending else text


def items_of(order_by: str | Sequence[str] | None) -> list[str]:
    """The items of an ``order_by``, commas split: ``"a DESC, b"`` -> ``["a DESC", "b"]``.

    Raises:
        QueryError: an item that is not a string, or an empty one (``"a,,b"``).
    """
    if order_by is None:
        return []
    texts = [order_by] if isinstance(order_by, str) else list(order_by)
    items = []
    for text in texts:
        if not isinstance(text, str):
            raise QueryError(f"Invalid order_by item {text!r}: items are strings")
        for item in _split(text) if "`" in text else text.split(","):
            if not item.strip():
                raise QueryError(f"Invalid order_by {text!r}: an empty item")
            items.append(item)
    return items


def _split(text: str) -> list[str]:
    """``text`` cut at the commas outside backquotes."""
    pieces, start = [], 0
    for match in _COMMA.finditer(text):
        if match.group(0) == ",":
            pieces.append(text[start : match.start()])
            start = match.end()
    return [*pieces, text[start:]]


def parse_order_by(
    order_by: str | Sequence[str] | None, heading: Heading
) -> list[tuple[str, bool]]:
    """``[(attribute, descending), ...]`` in the order given, ``KEY`` expanded to the
    heading's primary key; repeated attributes are kept (see :func:`total_order`).

    Raises:
        UnknownAttributeError: a name not in the heading (named).
        QueryError: a malformed item (``"a DESC x"``), or not a string.
    """
    result: list[tuple[str, bool]] = []
    for item in items_of(order_by):
        key, match = _KEY.fullmatch(item), _ITEM.fullmatch(item)
        if key and not (match and match.group(1) in heading):  # an attribute `key` wins
            result += [(n, bool(key.group(2))) for n in heading.primary_key]
            continue
        if not match:
            raise QueryError(f"Invalid order_by item {item.strip()!r}")
        name = match.group(1) or match.group(2).replace("``", "`")
        if name not in heading:
            raise UnknownAttributeError(f"order_by: `{name}` is not in the heading", attribute=name)
        result.append((name, bool(match.group(4))))
    return result


def total_order(order_by: str | Sequence[str] | None, heading: Heading) -> list[tuple[str, bool]]:
    """:func:`parse_order_by` completed by the primary-key attributes not already in it (a
    total order when the heading has a primary key); a repeated attribute keeps its first
    direction.

    Raises:
        UnknownAttributeError, QueryError: as :func:`parse_order_by`.
    """
    result = parse_order_by(order_by, heading)
    result += [(n, False) for n in heading.primary_key]
    first: dict[str, bool] = {}
    for name, descending in result:
        first.setdefault(name, descending)
    return list(first.items())
