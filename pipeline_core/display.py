"""Names from requests as LabBook's messages show them (one rule for every front door)."""

from __future__ import annotations

#: Longest name :func:`shown` writes out whole.
SHOWN_LENGTH = 80


def shown(name: object) -> str:
    """A name from a request as messages show it: in backquotes, non-printable characters
    escaped (``\\x00``), cut after :data:`SHOWN_LENGTH` characters with ``…``; a value
    that is not a string as its ``repr``."""
    if not isinstance(name, str):
        return repr(name)[:SHOWN_LENGTH]
    text = name if len(name) <= SHOWN_LENGTH else name[:SHOWN_LENGTH] + "…"
    return "`" + "".join(c if c.isprintable() else repr(c)[1:-1] for c in text) + "`"
