"""Schema name patterns in the style of MySQL's ``GRANT ... ON `db`.*``: the one matcher
of role grants (:class:`pipeline_core.models.RoleGrant`).

* ``%`` matches any sequence of characters, the empty one included;
* ``_`` matches exactly one character;
* a backslash makes the next character literal: ``\\_`` is an underscore, ``\\%`` a
  percent sign, ``\\\\`` a backslash. A pattern may not end in a lone backslash.

Matching is case-sensitive (as database names are on a Linux server) and covers the whole
name: ``lab\\_%`` matches ``lab_ephys`` and ``lab_`` but not ``lab2`` nor ``mylab_x``.
Remember that an unescaped ``_`` is a wildcard, as in MySQL: ``lab_%`` also matches
``lab2x``. This module does not import Django.
"""

from __future__ import annotations

import functools
import re

#: Longest pattern accepted (a database name has at most 64 characters; escapes double it).
MAX_PATTERN_LENGTH = 128


class PatternError(ValueError):
    """A schema pattern that cannot be used (empty, too long, or a trailing backslash)."""


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a usable schema pattern.

    Raises:
        PatternError: empty, longer than :data:`MAX_PATTERN_LENGTH`, or ending in a lone
            backslash (an escape with nothing to escape).
    """
    if not isinstance(pattern, str) or not pattern:
        raise PatternError("A schema pattern may not be empty (use % for every schema).")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"A schema pattern has at most {MAX_PATTERN_LENGTH} characters, not {len(pattern)}."
        )
    _compile(pattern)
    return pattern


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern:
    """The regular expression equivalent to ``pattern`` (anchored, DOTALL).

    Raises:
        PatternError: the pattern ends in a lone backslash.
    """
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise PatternError(
                    f"Schema pattern {pattern!r} ends in a lone backslash; write \\\\ for a "
                    "literal backslash, \\_ and \\% for a literal underscore and percent sign."
                )
            parts.append(re.escape(escaped))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def matches(pattern: str, name: str) -> bool:
    """True if schema ``name`` matches ``pattern`` as a whole (see the module's rules).

    Raises:
        PatternError: the pattern ends in a lone backslash.
    """
    return _compile(pattern).fullmatch(name) is not None


def escape(name: str) -> str:
    """The pattern matching exactly ``name`` (``\\``, ``%`` and ``_`` escaped), e.g.
    ``escape("lab_x") + "%"`` is every schema whose name starts with ``lab_x``."""
    return "".join("\\" + c if c in "\\%_" else c for c in name)
