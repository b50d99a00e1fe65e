"""JSON API (DRF): the schemas and their tables, and queries described in JSON. Errors are
mapped to responses in one place, the exception handler of :mod:`.exceptions` (DRF's
``EXCEPTION_HANDLER`` setting)."""

from __future__ import annotations

import contextlib

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from pipeline_core import services
from pipeline_core.principal import Actor, acting_as


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with JSON nested beyond Python's recursion limit reported as a
    parse error (400) instead of a server error."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None


class PipelineAPIView(APIView):
    """Base API view: the role check of :class:`.permissions.RolePermission` for the action
    the view declares (``labbook_action``: an action of :data:`pipeline_core.roles.ACTIONS`,
    or ``{method: action}``), the handler run as the request's
    :class:`~pipeline_core.principal.Actor` (source ``api``), and fresh introspection per
    request (a ``DataJointError`` becomes JSON in :func:`.exceptions.exception_handler`)."""

    labbook_action: str | dict[str, str] | None = None

    def dispatch(self, request, *args, **kwargs):
        with contextlib.ExitStack() as scope:
            self._actor_scope = scope  # initial() enters the actor once authenticated
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        actor = Actor.of_user(request.user, "api", services.request_id(request.headers))
        self._actor_scope.enter_context(acting_as(actor))
        services.begin_request()


class SchemaList(PipelineAPIView):
    """``GET /api/v1/schemas/``: the visible schemas the user may view, with their tables."""

    labbook_action = "view"

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        """List schemas (name, tier counts) with each table's name, class, tier, master."""
        data = [
            {
                "name": schema["name"],
                "tiers": {k: v for k, v in schema["tiers"].items() if v},
                "tables": [
                    {
                        "table_name": t.table_name,
                        "class_name": t.class_name,
                        "tier": t.tier,
                        "master": t.master,
                        "comment": t.comment,
                        "primary_key": t.heading.primary_key,
                    }
                    for t in schema["tables"]
                ],
            }
            for schema in services.list_schemas(request.user)
        ]
        return Response(data, status=http.HTTP_200_OK)


class QueryView(PipelineAPIView):
    """``POST /api/v1/query/``: run a JSON query description (the body), one page of rows.

    The format is documented in :mod:`pipeline_core.datamodel.query_json`; the response is
    :func:`pipeline_core.services.run_query`'s. Errors: 400 ``{"error", "path"}`` for an
    invalid description or body, 404 for a schema that is not visible or that the user may
    not view (``viewer`` on every schema named), 403 without login.
    """

    labbook_action = "view"

    parser_classes = [BoundedJSONParser]
    #: a body that is not JSON is reported like an invalid description, at path ``""``
    parse_error_path = True

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        """Run the described query: ``{"query", "heading", "primary_key", "rows", "cursor"}``."""
        return Response(services.run_query(request.data, request.user), status=http.HTTP_200_OK)


class AuditQuerySerializer(serializers.Serializer):
    """The query parameters of ``GET /api/v1/audit/``."""

    schema = serializers.CharField(required=False, help_text="events of this schema")
    table = serializers.CharField(
        required=False, help_text="events of this table (raw name; needs schema)"
    )
    actor = serializers.CharField(required=False, help_text="events by this user")
    key = serializers.JSONField(
        required=False, help_text="a row's primary key as a JSON object (needs table)"
    )
    after = serializers.IntegerField(
        required=False, min_value=0, help_text="the cursor of the previous page"
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=50, help_text="events per page"
    )

    def validate(self, attrs):
        if "table" in attrs and "schema" not in attrs:
            raise serializers.ValidationError({"table": "a table needs its schema"})
        if "key" in attrs and ("table" not in attrs or not isinstance(attrs["key"], dict)):
            raise serializers.ValidationError({"key": "a JSON object, with schema and table"})
        return attrs


class AuditEventSerializer(serializers.Serializer):
    """One event of the audit trail."""

    event_id = serializers.IntegerField()
    time = serializers.CharField(help_text="UTC, microseconds: 2026-12-05 16:30:00.123456")
    actor = serializers.CharField()
    source = serializers.ChoiceField(choices=["web", "api", "cli", "worker"])
    request_id = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    schema = serializers.CharField(allow_null=True)
    table = serializers.CharField(allow_null=True)
    key = serializers.JSONField(allow_null=True)
    changes = serializers.JSONField(allow_null=True, help_text="{attribute: [old, new]}")
    batch_id = serializers.CharField(allow_null=True)


class AuditPageSerializer(serializers.Serializer):
    """A page of events, newest first; ``cursor`` is sent back as ``after``."""

    events = AuditEventSerializer(many=True)
    cursor = serializers.IntegerField(allow_null=True)


class AuditView(PipelineAPIView):
    """``GET /api/v1/audit/?schema=&table=&actor=&key=&after=&limit=``: the audit trail's
    events, newest first, in the schemas the user may view (events without a schema, such
    as grant changes, for admins of every schema only: superusers)."""

    labbook_action = "view"

    @extend_schema(parameters=[AuditQuerySerializer], responses={200: AuditPageSerializer})
    def get(self, request):
        """One page of events (``{"events", "cursor"}``)."""
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        table = None
        schemas = services.viewable_schemas(request.user)
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
