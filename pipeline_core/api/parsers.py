"""The API's JSON parser: DRF's, refusing (400, a ``ParseError``) what DRF would let through
to fail later as a server error."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def lone_surrogate(data: Any) -> str | None:
    """The first string (key or value) of parsed JSON holding a lone UTF-16 surrogate
    (``"\\ud800"`` in the JSON text: not Unicode, no database can store or compare it), or
    None. Iterative: any depth the parser accepted."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser; JSON nested beyond Python's recursion limit, and strings with a
    lone surrogate escape, are parse errors (400) instead of server errors."""

    def parse(self, stream, media_type=None, parser_context=None):
        """The parsed JSON, or ``ParseError``."""
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        bad = lone_surrogate(data)
        if bad is not None:
            shown = bad.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
            raise ParseError(
                f"JSON parse error - a string holds a lone surrogate, which is not Unicode: "
                f"{shown[:80]!r}"
            )
        return data
