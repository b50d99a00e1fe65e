"""The ``name`` path converter: database, table and attribute names as one URL path
segment, for the routes of the web UI and of the API (``schemas/<name:schema>/...``).

A name may hold any character the server accepts (``a.b``, ``bad name``, ``x%y``, even
``a/b``: see :mod:`pipeline_core.datamodel.sql.quoting`). ``reverse`` percent-encodes a
path but keeps ``/``, which would cut the segment; so :meth:`NameConverter.to_url` writes
``%`` as ``%25`` and ``/`` as ``%2F`` first (``reverse`` then encodes those ``%`` once more:
``a/b`` travels as ``a%252Fb``), and :meth:`NameConverter.to_python` reads them back from
the decoded path. A path holding a bare ``/`` (``a%2Fb`` as typed) never reaches a view:
no route matches it (404).
"""

from __future__ import annotations

import re

from django.urls import register_converter

_ENCODED = re.compile(r"%(25|2[Ff])")


class NameConverter:
    """``<name:...>``: one path segment (no ``/``), ``%25`` and ``%2F`` read as ``%``
    and ``/``."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        """The name a URL segment stands for (``%25`` -> ``%``, ``%2F`` -> ``/``)."""
        return _ENCODED.sub(lambda m: "%" if m.group(1) == "25" else "/", value)

    def to_url(self, value: str) -> str:
        """A name as one URL segment (``%`` -> ``%25``, ``/`` -> ``%2F``)."""
        return str(value).replace("%", "%25").replace("/", "%2F")


register_converter(NameConverter, "name")
