"""Export of a table page's rows as CSV, TSV or JSON Lines (the "Export" menu of every
table page): every row of the table that the page's ``where`` keeps, in its ``order``
(:mod:`.table_state`; default: every row in primary-key order), streamed
(:mod:`pipeline_core.services.export`). The same for any JSON query description is the
API's ``GET /api/v1/query/export.<format>?q=``."""

from __future__ import annotations

from django.urls import reverse
from django.views.decorators.http import require_GET

from pipeline_core import services
from pipeline_core.http_export import download_url, streaming_response

from .errors import pipeline_view
from .table_state import read_state


@require_GET
@pipeline_view(action="view")
def export_table(request, schema, table, fmt):
    """``/schemas/<schema>/tables/<table>/export.<csv|tsv|jsonl>[?where=&order=]``: the
    table's rows (those the table page with the same ``where`` and ``order`` shows, in its
    order; cursors are ignored: every page) as a download named ``<schema>.<Class>.<format>``;
    an unknown format, schema or table is the not-found page, a bad ``where`` or ``order`` a
    400, found before the download starts. Attachments and stored files are given as
    download URLs (absolute paths)."""
    info = services.table_info(schema, table)
    state = read_state(request, info, reverse("web:table", args=[schema, table]))
    export = services.export_table(
        schema, table, fmt, download_url, where=state.where, order=state.order, user=request.user
    )
    return streaming_response(export)
