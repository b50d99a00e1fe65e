"""JSON API (DRF): the schemas and their tables, and queries described in JSON. Errors are
mapped to responses in one place, the exception handler of :mod:`.exceptions` (DRF's
``EXCEPTION_HANDLER`` setting)."""

from __future__ import annotations

import contextlib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import status as http
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from pipeline_core import services
from pipeline_core.principal import Actor

from .openapi import AnyOf, api_operation
from .parsers import BoundedJSONParser
from .serializers import (
    AuditPageSerializer,
    AuditQuerySerializer,
    DetailSerializer,
    PipelineErrorSerializer,
    QueryDescriptionErrorSerializer,
    QueryDescriptionSerializer,
    QueryResultSerializer,
    SchemaSerializer,
)


class PipelineAPIView(APIView):
    """Base of every API view: authentication from ``REST_FRAMEWORK`` (token or session),
    the role check of :class:`.permissions.RolePermission` (the default permission class)
    for the action the view declares (``labbook_action``: an action of
    :data:`pipeline_core.roles.ACTIONS`, or ``{method: action}``), the handler run as the
    request's :class:`~pipeline_core.principal.Actor` (source ``api``, the request id of
    ``X-Request-ID``), and fresh introspection per request; a ``DataJointError`` becomes
    JSON in :func:`.exceptions.exception_handler`. Document each operation with
    :func:`.openapi.api_operation`.
    """

    labbook_action: str | dict[str, str] | None = None
    #: JSON bodies only (a view taking files adds its parsers)
    parser_classes = [BoundedJSONParser]

    def dispatch(self, request, *args, **kwargs):
        with contextlib.ExitStack() as scope:
            self._actor_scope = scope  # initial() enters the actor once authenticated
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        """DRF's checks (authentication, permissions, throttles), then run as the request's
        actor with cached introspection forgotten (tables declared elsewhere are seen)."""
        super().initial(request, *args, **kwargs)
        actor = Actor.of_user(request.user, "api", services.request_id(request.headers))
        self._actor_scope.enter_context(services.serving(actor))


class SchemaList(PipelineAPIView):
    """``GET /api/v1/schemas/``: the visible schemas the user may view, with their tables."""

    labbook_action = "view"

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
        data = SchemaSerializer(services.list_schemas(request.user), many=True).data
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
    invalid description or body, 404 for a schema that is not visible or that the user may
    not view (``viewer`` on every schema named), 401 without login, 504 past
    ``LABBOOK_QUERY_TIMEOUT``.
    """

    labbook_action = "view"

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
        result = services.run_query(request.data, request.user)
        return Response(QueryResultSerializer(result).data, status=http.HTTP_200_OK)


class AuditView(PipelineAPIView):
    """``GET /api/v1/audit/?schema=&table=&actor=&key=&after=&limit=``: the audit trail's
    events, newest first, in the schemas the user may view (events of no schema, such as
    grant changes, are not served here)."""

    labbook_action = "view"

    @api_operation(
        ok=AuditPageSerializer,
        parameters=[AuditQuerySerializer],
        errors={
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                "A malformed parameter: `{parameter: [reason, ...]}` (DRF's validation errors).",
            ),
            404: OpenApiResponse(
                PipelineErrorSerializer, "A schema or table that is not visible or not there."
            ),
        },
        operation_id="audit_list",
        summary="The audit trail of writes",
        description="Every write LabBook made (insert, update, delete, populate, cleared "
        "jobs), recorded in the write's own transaction: who, from where (web, api, cli, "
        "worker), when (µs), the table, the row's primary key and `{attribute: [old, new]}`. "
        "Newest first; send `cursor` back as `after` for the next page.",
    )
    def get(self, request):
        """One page of events (``{"events", "cursor"}``); logged-in users only (the trail
        names people), superusers also see events of no schema (grant changes)."""
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        table = None
        superuser = request.user.is_superuser
        schemas = None if superuser else services.viewable_schemas(request.user)
        if "schema" in params:
            schema = services.check_viewable(params["schema"], request.user)
            schemas = [schema]
            if "table" in params:
                table = services.table_info(schema, params["table"]).ref
        page = services.history(
            table=table,
            schemas=schemas,
            actor=params.get("actor"),
            key=params.get("key"),
            after=params.get("after"),
            limit=params["limit"],
        )
        return Response(AuditPageSerializer(page).data, status=http.HTTP_200_OK)
