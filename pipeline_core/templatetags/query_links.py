"""Template tags linking to the query builder (``{% load query_links %}``)."""

from __future__ import annotations

from django import template

from pipeline_core.web.query import query_url as _query_url

register = template.Library()


@register.simple_tag
def query_url(schema: str, table: str) -> str:
    """``/query/?q=<token>`` of the query ``{"from": {"schema": schema, "table": table}}``:
    the builder started from one table (the table pages' "Query" panel)."""
    return _query_url({"from": {"schema": schema, "table": table}})
