"""Export of a table page's rows as CSV, TSV or JSON Lines (the "Export" menu of every
table page): every row of the table in primary-key order, streamed
(:mod:`pipeline_core.services.export`). The same for any JSON query description is the
API's ``GET /api/v1/query/export.<format>?q=``."""

from __future__ import annotations

from django.views.decorators.http import require_GET

from pipeline_core import services
from pipeline_core.http_export import download_url, streaming_response

from .errors import pipeline_view


@require_GET
@pipeline_view(action="view")
def export_table(request, schema, table, fmt):
    """``/schemas/<schema>/tables/<table>/export.<csv|tsv|jsonl>``: the whole table as a
    download named ``<schema>.<Class>.<format>``; an unknown format, schema or table is
    the not-found page, found before the download starts. Attachments and stored files are
    given as download URLs (absolute paths)."""
    export = services.export_table(schema, table, fmt, download_url)
    return streaming_response(export)
