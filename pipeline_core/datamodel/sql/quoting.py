"""Identifier validation and quoting, and DDL literals.

Every identifier that reaches SQL passes through :func:`quote`; every value reaches SQL
as a driver parameter, except inside DDL (``CREATE TABLE`` takes no parameters), where
defaults and comments are rendered by :func:`literal` with full escaping.
"""

from __future__ import annotations

import functools
import re

from ..errors import DataJointError

#: Identifiers DataJoint produces: table names (with ``#``, ``_``, ``~`` prefixes),
#: attribute and database names. Backquotes, NUL and control characters are refused.
_IDENTIFIER = re.compile(r"[~#]{0,2}[A-Za-z0-9_$][A-Za-z0-9_$#\-]*")


def check_identifier(name: str) -> str:
    """Validate a database, table or column name; return it unchanged.

    Raises:
        DataJointError: the name is empty, longer than 64 characters, or contains
            characters outside ``[A-Za-z0-9_$#~-]`` (backquotes, quotes, spaces, ...).
    """
    if not isinstance(name, str) or len(name) > 64 or not _IDENTIFIER.fullmatch(name):
        raise DataJointError(f"Invalid SQL identifier {name!r}")
    return name


def quote(name: str) -> str:
    """Return a validated identifier in backquotes: ``subject_id`` -> `` `subject_id` ``.

    Raises:
        DataJointError: see :func:`check_identifier`.
    """
    if not isinstance(name, str):
        raise DataJointError(f"Invalid SQL identifier {name!r}")
    return _quoted(name)


@functools.lru_cache(maxsize=4096)
def _quoted(name: str) -> str:
    """:func:`quote` of a string, memoised: the compiler quotes the same few names again
    and again (a refused name raises, and nothing is cached for it)."""
    return f"`{check_identifier(name)}`"


def full_name(database: str, table: str) -> str:
    """Return `` `database`.`table` `` with both parts validated."""
    return f"{quote(database)}.{quote(table)}"


def literal(value: str) -> str:
    """Render a string as a single-quoted SQL literal for DDL, escaping ``\\`` and ``'``.

    Used only where MySQL accepts no parameters (column DEFAULT and COMMENT clauses).
    """
    if "\x00" in value:
        raise DataJointError("NUL characters are not allowed in definitions")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
