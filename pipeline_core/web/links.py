"""Table references for templates: a TableInfo together with the URLs of its pages.

(``pipeline_core.web`` is not an installed app, so it has no template-tag library; views
wrap what they show with :func:`linked` instead.)
"""

from __future__ import annotations

from django.urls import reverse

from pipeline_core.datamodel.heading import TableInfo


class TableLink:
    """A :class:`TableInfo` (all its attributes) plus ``url``, ``entry_url``, ``grid_url``,
    ``history_url``, ``jobs_url`` and ``tier_class`` (``manual``, ``lookup``, ``imported``,
    ``computed``, ``part``, ``other``)."""

    __slots__ = ("info",)

    def __init__(self, info: TableInfo):
        self.info = info

    def __getattr__(self, name):
        return getattr(self.info, name)

    @property
    def url(self) -> str:
        return reverse("web:table", args=[self.info.database, self.info.table_name])

    @property
    def entry_url(self) -> str:
        return reverse("web:entry", args=[self.info.database, self.info.table_name])

    @property
    def grid_url(self) -> str:
        return reverse("web:grid", args=[self.info.database, self.info.table_name])

    @property
    def history_url(self) -> str:
        return reverse("web:history", args=[self.info.database, self.info.table_name])

    @property
    def jobs_url(self) -> str:
        """The jobs console of a Computed/Imported table (others have no jobs)."""
        return reverse("web:jobs", args=[self.info.database, self.info.table_name])

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
