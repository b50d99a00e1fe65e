"""Identifier validation and quoting, and DDL literals.

Two rules for names (spec §1.1):

* a name that exists on the server, :func:`check_identifier`: whatever MySQL and MariaDB
  accept as a quoted identifier (1 to 64 characters of the Basic Multilingual Plane, no
  NUL, not ending in a space): a legacy or hand-made database may hold ``bad name``,
  ``a.b``, ``a`b``, ``Mixed Case`` or ``ünï``, and LabBook browses and queries them;
* a name DataJoint declares, :func:`check_declared_name`: letters, digits, ``_$#-`` and
  the tier prefixes ``#``, ``_``, ``~``; :mod:`..declare` enforces it for new tables.

Every identifier that reaches SQL passes through :func:`quote` (backquotes, a backquote
inside doubled, as MySQL reads them); every value reaches SQL as a driver parameter,
except inside DDL (``CREATE TABLE`` takes no parameters), where defaults and comments are
rendered by :func:`literal` with full escaping. SQL text is a driver template (PyMySQL
``%``-formats it; :meth:`..connection.Connection.query` always passes parameters, as
DataJoint does), so both write a ``%`` as ``%%``: a table ``x%s`` never takes a value.
"""

from __future__ import annotations

import functools
import re

from ..errors import DataJointError

#: MySQL's and MariaDB's limit on database, table and column names, in characters.
MAX_IDENTIFIER_LENGTH = 64

#: Identifiers DataJoint produces: table names (with ``#``, ``_``, ``~`` prefixes),
#: attribute and database names.
_DECLARED = re.compile(r"[~#]{0,2}[A-Za-z0-9_$][A-Za-z0-9_$#\-]*")

#: Identifiers the server accepts: 1 to 64 characters of the Basic Multilingual Plane
#: except NUL (and surrogates, which no UTF-8 text holds), the last one not a space (MySQL
#: reference manual, "Schema Object Names"). A pattern Python and ECMA-262 read alike.
SERVER_IDENTIFIER = r"[\x01-\uD7FF\uE000-\uFFFF]{0,63}[\x01-\x1F\x21-\uD7FF\uE000-\uFFFF]"
_SERVER = re.compile(SERVER_IDENTIFIER)


def check_identifier(name: str) -> str:
    """Validate a database, table or column name as the server accepts it (any name a
    legacy database can hold: see the module docstring); return it unchanged.

    Raises:
        DataJointError: not a string, empty, longer than 64 characters, holding NUL or a
            character outside the Basic Multilingual Plane, or ending in a space.
    """
    if not isinstance(name, str) or not _SERVER.fullmatch(name):
        raise DataJointError(f"Invalid SQL identifier {name!r}")
    return name


def check_declared_name(name: str) -> str:
    """Validate a name DataJoint declares (stricter than :func:`check_identifier`);
    return it unchanged.

    Raises:
        DataJointError: empty, longer than 64 characters, or holding characters outside
            ``[A-Za-z0-9_$#~-]`` (spaces, dots, backquotes, quotes, non-ASCII, ...), or
            ``~``/``#`` anywhere but in the prefix.
    """
    if (
        not isinstance(name, str)
        or len(name) > MAX_IDENTIFIER_LENGTH
        or not _DECLARED.fullmatch(name)
    ):
        raise DataJointError(f"Invalid SQL identifier {name!r}")
    return name


def quote(name: str) -> str:
    """Return a validated identifier in backquotes, a backquote inside doubled, as a driver
    template (``%`` doubled): ``subject_id`` -> `` `subject_id` ``, ``a`b`` -> `` `a``b` ``,
    ``x%y`` -> `` `x%%y` ``.

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
    check_identifier(name)
    if "`" in name or "%" in name:
        name = name.replace("`", "``").replace("%", "%%")
    return f"`{name}`"


def full_name(database: str, table: str) -> str:
    """Return `` `database`.`table` `` with both parts validated and quoted."""
    return f"{quote(database)}.{quote(table)}"


def literal(value: str) -> str:
    """Render a string as a single-quoted SQL literal for DDL, escaping ``\\`` and ``'``
    (and ``%`` doubled: SQL text is a driver template).

    Used only where MySQL accepts no parameters (column DEFAULT and COMMENT clauses).
    """
    if "\x00" in value:
        raise DataJointError("NUL characters are not allowed in definitions")
    return "'" + value.replace("\\", "\\\\").replace("'", "''").replace("%", "%%") + "'"
