"""``GET /api/v1/query/export.<csv|tsv|jsonl>?q=<description>``: every row of a JSON query
description as a streamed file (:mod:`pipeline_core.services.export`), the API's side of
the table pages' Export menu."""

from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from pipeline_core import services
from pipeline_core.http_export import TRUNCATED_HEADER, download_url, streaming_response
from pipeline_core.services.export_format import FORMATS

from .openapi import AnyOf, api_operation
from .serializers import PipelineErrorSerializer, QueryDescriptionErrorSerializer
from .views import QUERY_EXAMPLE, PipelineAPIView

#: Media types of the three formats (without parameters), as documented.
MEDIA_TYPES = tuple(f.content_type.split(";")[0] for f in FORMATS.values())


class QueryExportView(PipelineAPIView):
    """Stream the rows of the description in ``?q=`` (JSON text or a querystate token) in
    the format of the URL.

    Errors are found before the first byte and answered as ``POST /api/v1/query/``'s: 400
    ``{"error", "path"}`` for a missing, non-JSON or invalid description, 404 for an unknown
    format or a schema that is not visible or not viewable (``viewer`` on every schema
    named), 401 without login. No ``LABBOOK_QUERY_TIMEOUT``: an export runs as long as it
    takes. The file's ``Content-Type`` is the format's whatever ``Accept`` says; errors are
    JSON.
    """

    labbook_action = "view"

    def perform_content_negotiation(self, request, force=False):
        """Never 406: the answer is the file (or a JSON error) whatever ``Accept`` asks."""
        return super().perform_content_negotiation(request, force=True)

    @api_operation(
        ok=OpenApiResponse(
            OpenApiTypes.STR,
            "The rows as a file: CSV (RFC 4180, a header row), TSV (a header row; backslash, "
            "tab, LF and CR in text written `\\\\`, `\\t`, `\\n`, `\\r`) or JSON Lines (one "
            "object per row). `Content-Disposition: attachment`; `X-LabBook-Truncated: N` when "
            "`LABBOOK_EXPORT_MAX_ROWS` left rows out (N rows sent).",
        ),
        ok_media=MEDIA_TYPES,
        parameters=[
            OpenApiParameter(
                "fmt",
                str,
                location=OpenApiParameter.PATH,
                enum=list(FORMATS),
                description="The file format: `csv`, `tsv` or `jsonl`.",
            ),
            OpenApiParameter(
                "q",
                str,
                required=True,
                description="The JSON query description (`QueryDescription`, as the body of "
                "`POST /api/v1/query/`): URL-encoded JSON text, or the query builder's compact "
                "token (the JSON compressed with raw DEFLATE, base64url without padding: "
                "`pipeline_core/querystate.py`). Its `limit` and `after` "
                "(paging) are ignored: every row is exported, in its `order` completed by "
                "the primary key.",
                examples=[OpenApiExample("Sessions of mice", value=json.dumps(QUERY_EXAMPLE))],
            ),
            OpenApiParameter(
                "Content-Disposition",
                str,
                location=OpenApiParameter.HEADER,
                response=[200],
                required=True,
                description='`attachment; filename="<schema>.<Class>.query.<fmt>"`.',
            ),
            OpenApiParameter(
                TRUNCATED_HEADER,
                int,
                location=OpenApiParameter.HEADER,
                response=[200],
                description="Present when `LABBOOK_EXPORT_MAX_ROWS` left rows out: the "
                "number of rows in the file.",
            ),
        ],
        errors={
            400: OpenApiResponse(
                AnyOf("BadExport", [QueryDescriptionErrorSerializer, PipelineErrorSerializer]),
                "`q` missing, not JSON or an invalid description (`path` names the element "
                "at fault), or a query the database refused.",
            ),
            404: OpenApiResponse(
                PipelineErrorSerializer,
                "An unknown format, or a schema or table that is not visible or not there.",
            ),
        },
        operation_id="query_export",
        summary="Export every row of a query described in JSON",
        description="CSV, TSV or JSON Lines, streamed (constant memory), every row of the "
        "description in `q`. Values as `POST /api/v1/query/` gives them, except: in-table "
        "blobs described from their header (`<blob float64 (3, 100)>` in CSV/TSV, "
        '`{"kind": "blob", "dtype", "shape", "size"}` in JSON Lines), attachments and '
        "stored files of tables named in `from`/`join` as their download URL (`url`). NULL "
        "is an empty field in CSV/TSV and `null` in JSON Lines.",
    )
    def get(self, request, fmt: str):
        """The streamed file (see the class docstring)."""
        description = services.parse_description(request.query_params.get("q"))
        export = services.export_query(description, request.user, fmt, download_url)
        return streaming_response(export)
