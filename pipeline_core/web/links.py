"""Table references for templates: a TableInfo together with the URLs of its pages.

(``pipeline_core.web`` is not an installed app, so it has no template-tag library; views
wrap what they show with :func:`linked` instead.)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from pipeline_core.datamodel.heading import TableInfo
from pipeline_core.keys import encode_key, plain_key
from pipeline_core.querystate import encode_description


def url_for(viewname: str, *args) -> str:
    """``reverse(viewname, args=args)``, remembered: the path of a named URL with positional
    ``args`` (each turned into ``str``).

    A page links the same few views many times (the site menu, each table's pages), and
    Django's ``reverse`` costs about 40 µs a call (issue 14). The answer depends only on the
    URLconf and the script prefix, which are part of the remembered key, so it is the one
    ``reverse`` gives. Raises ``django.urls.NoReverseMatch`` as ``reverse`` does."""
    return _reverse(
        settings.ROOT_URLCONF, get_urlconf(), get_script_prefix(), viewname, tuple(map(str, args))
    )


@functools.lru_cache(maxsize=8192)
def _reverse(root_urlconf, urlconf, prefix: str, viewname: str, args: tuple[str, ...]) -> str:
    return reverse(viewname, urlconf=urlconf, args=args)


class TableLink:
    """A :class:`TableInfo` (all its attributes) plus ``url``, ``schema_url``, ``entry_url``,
    ``grid_url``, ``history_url``, ``jobs_url`` and ``tier_class`` (``manual``, ``lookup``,
    ``imported``, ``computed``, ``part``, ``other``)."""

    __slots__ = ("info",)

    def __init__(self, info: TableInfo):
        self.info = info

    def __getattr__(self, name):
        return getattr(self.info, name)

    @property
    def url(self) -> str:
        return url_for("web:table", self.info.database, self.info.table_name)

    @property
    def schema_url(self) -> str:
        """The page of the table's schema."""
        return url_for("web:schema", self.info.database)

    @property
    def entry_url(self) -> str:
        return url_for("web:entry", self.info.database, self.info.table_name)

    @property
    def grid_url(self) -> str:
        return url_for("web:grid", self.info.database, self.info.table_name)

    @property
    def history_url(self) -> str:
        return url_for("web:history", self.info.database, self.info.table_name)

    @property
    def jobs_url(self) -> str:
        """The jobs console of a Computed/Imported table (others have no jobs)."""
        return url_for("web:jobs", self.info.database, self.info.table_name)

    @property
    def tier_class(self) -> str:
        return (self.info.tier or "other").lower()


def linked(value):
    """Wrap every TableInfo inside ``value`` (lists, tuples, dicts) in a :class:`TableLink`."""
    if isinstance(value, TableInfo):
        return TableLink(value)
    if isinstance(value, dict):
        return {k: linked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(linked(v) for v in value)
    return value


def row_url_prefix(schema: str, table: str) -> str:
    """The URL of a table's row pages up to the key token: ``prefix + token + "/"`` is the
    page of one row (:func:`row_url`), for pages that link many rows."""
    return url_for("web:row", schema, table, "~")[: -len("~/")]


def row_url(schema: str, table: str, key: Mapping) -> str:
    """The page of the row with primary key ``key`` (a dict in primary-key order)."""
    return row_url_prefix(schema, table) + encode_key(dict(key)) + "/"


def key_condition(key: Mapping) -> dict:
    """The JSON query description condition (``where`` form, see
    :mod:`pipeline_core.datamodel.query_json`) selecting the rows whose attributes equal
    ``key``'s values: ``{"and": [{"attribute": a, "operator": "=", "value": v}, ...]}``
    (values as :func:`pipeline_core.keys.plain_key` gives them)."""
    return {
        "and": [
            {"attribute": name, "operator": "=", "value": value}
            for name, value in plain_key(key).items()
        ]
    }


def restricted_table_url(schema: str, table: str, key: Mapping) -> str:
    """The page of a table restricted to the rows whose attributes equal ``key``'s values
    (e.g. the child rows of one parent row): ``?where=<token>``, the token being
    :func:`pipeline_core.querystate.encode_description` of :func:`key_condition`."""
    token = encode_description(key_condition(key))
    return url_for("web:table", schema, table) + f"?where={token}"


def query_url(description: dict | None, **params) -> str:
    """``/query/?q=<token>`` of a description (``pipeline_core.querystate`` token), with more
    query parameters (``None`` values left out)."""
    url = url_for("web:query")
    parts = [f"q={encode_description(description)}"] if description else []
    parts += [f"{k}={v}" for k, v in params.items() if v is not None]
    return url + ("?" + "&".join(parts) if parts else "")
