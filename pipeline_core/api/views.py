"""JSON API (DRF): the schemas and their tables, and queries described in JSON. Errors are
mapped to responses in one place, the exception handler of :mod:`.exceptions` (DRF's
``EXCEPTION_HANDLER`` setting)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import status as http
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from pipeline_core import services

from .openapi import AnyOf, api_operation
from .parsers import BoundedJSONParser
from .serializers import (
    DetailSerializer,
    PipelineErrorSerializer,
    QueryDescriptionErrorSerializer,
    QueryDescriptionSerializer,
    QueryResultSerializer,
    SchemaSerializer,
)


class PipelineAPIView(APIView):
    """Base of every API view: authentication and permissions from ``REST_FRAMEWORK``
    (token or session, logged in), then fresh introspection per request; a
    ``DataJointError`` becomes JSON in :func:`.exceptions.exception_handler`.

    ``permission_classes`` is where per-schema roles plug in (a DRF permission class asking
    :mod:`pipeline_core.roles`): set here, it applies to every API view. Document each
    operation with :func:`.openapi.api_operation`.
    """

    permission_classes = [IsAuthenticated]
    #: JSON bodies only (a view taking files adds its parsers)
    parser_classes = [BoundedJSONParser]

    def initial(self, request, *args, **kwargs):
        """DRF's checks (authentication, permissions, throttles), then forget cached
        introspection so that tables declared elsewhere are seen."""
        super().initial(request, *args, **kwargs)
        services.begin_request()


class SchemaList(PipelineAPIView):
    """``GET /api/v1/schemas/``: the visible schemas with their tables."""

    @api_operation(
        ok=SchemaSerializer(many=True),
        operation_id="schemas_list",
        summary="Schemas and their tables",
        description="The pipeline schemas visible to the user (under `LABBOOK_SCHEMA_PREFIX`) "
        "with their number of tables per tier and each table's name, class, tier, master, "
        "comment and primary key.",
    )
    def get(self, request):
        """List schemas (name, tier counts) with each table's name, class, tier, master."""
        data = SchemaSerializer(services.list_schemas(), many=True).data
        return Response(data, status=http.HTTP_200_OK)


#: The README's example (a description of the demo pipeline, names without prefix).
QUERY_EXAMPLE = {
    "from": {"schema": "demo_lab", "table": "Session"},
    "join": [{"schema": "demo_lab", "table": "Subject"}],
    "where": {"attribute": "species", "operator": "=", "value": "mouse"},
    "aggr": {
        "over": {"schema": "demo_lab", "table": "Session.Trial"},
        "keep": ["session_date"],
        "compute": {"trials": {"function": "count"}},
    },
    "order": [{"attribute": "session_date", "descending": True}],
    "limit": 50,
}


class QueryView(PipelineAPIView):
    """``POST /api/v1/query/``: run a JSON query description (the body), one page of rows.

    The format is documented in :mod:`pipeline_core.datamodel.query_json`; the response is
    :func:`pipeline_core.services.run_query`'s. Errors: 400 ``{"error", "path"}`` for an
    invalid description or body, 404 for a schema that is not visible, 401/403 without
    login, 504 past ``LABBOOK_QUERY_TIMEOUT``.
    """

    #: a body that is not JSON is reported like an invalid description, at path ``""``
    parse_error_path = True

    @api_operation(
        request=QueryDescriptionSerializer,
        ok=QueryResultSerializer,
        errors={
            400: OpenApiResponse(
                AnyOf("BadQuery", [QueryDescriptionErrorSerializer, PipelineErrorSerializer]),
                'An invalid description (`path` names the element at fault; `""`: a body that '
                "is not JSON), or one the database refused (`{error, detail, table, "
                "attribute}`).",
            ),
            404: OpenApiResponse(
                PipelineErrorSerializer, "A schema or table that is not visible or not there."
            ),
            415: OpenApiResponse(DetailSerializer, "The body is not `application/json`."),
            504: OpenApiResponse(
                PipelineErrorSerializer, "The query ran longer than `LABBOOK_QUERY_TIMEOUT`."
            ),
        },
        operation_id="query_run",
        summary="Run a query described in JSON",
        description="Joins, restrictions, projections and aggregations of the visible "
        "schemas' tables, described as JSON (no SQL): one page of rows, with the cursor of the "
        "next page. The description's format is its JSON Schema (`QueryDescription`) and "
        "`pipeline_core.datamodel.query_json`.",
        examples=[
            OpenApiExample(
                "Sessions of mice with their trials", value=QUERY_EXAMPLE, request_only=True
            )
        ],
    )
    def post(self, request):
        """Run the described query: ``{"query", "heading", "primary_key", "rows", "cursor"}``."""
        result = services.run_query(request.data)
        return Response(QueryResultSerializer(result).data, status=http.HTTP_200_OK)
