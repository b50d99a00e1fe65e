"""Populate runs through the API (issue #13): start a run for a table or a restriction of
its key_source, list runs, read one with its keys' outcomes, cancel one. The services are
:mod:`pipeline_core.services.runs`, the same as the web console's."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response

from pipeline_core import services

from .openapi import AnyOf, api_operation
from .serializers import DetailSerializer, PipelineErrorSerializer
from .validation import valid
from .views import PipelineAPIView


class StartRunSerializer(serializers.Serializer):
    """``POST .../populate/``: which keys of key_source, at what priority, how many."""

    restriction = serializers.JSONField(
        required=False, allow_null=True, help_text="a condition in the `where` form"
    )
    priority = serializers.IntegerField(default=5, min_value=0, max_value=255)
    limit = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class StartedSerializer(serializers.Serializer):
    """A run started (202): its id."""

    run = serializers.CharField()


class RunKeySerializer(serializers.Serializer):
    """One key's outcome in a run."""

    key = serializers.DictField()
    outcome = serializers.CharField()
    worker = serializers.CharField(allow_blank=True)
    at = serializers.CharField()


class RunSerializer(serializers.Serializer):
    """A populate run: who started what, when, with which restriction and priority, its
    counts, duration (s) and status (queued, running, done, cancelled, failed)."""

    id = serializers.CharField()
    schema = serializers.CharField()
    table = serializers.CharField()
    full_name = serializers.CharField()
    restriction = serializers.JSONField()
    priority = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True)
    user = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    status = serializers.CharField()
    tasks = serializers.IntegerField()
    keys_todo = serializers.IntegerField()
    success = serializers.IntegerField()
    errors = serializers.IntegerField()
    skipped = serializers.IntegerField()
    created = serializers.CharField()
    started = serializers.CharField(allow_null=True)
    finished = serializers.CharField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    message = serializers.CharField(allow_blank=True)
    keys = RunKeySerializer(many=True, required=False)


class RunsPageSerializer(serializers.Serializer):
    """Runs newest first, and the cursor of the next page (null on the last)."""

    runs = RunSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class RunsQuerySerializer(serializers.Serializer):
    """Query parameters of ``GET /api/v1/runs/``."""

    schema = serializers.CharField(required=False, allow_blank=True)
    table = serializers.CharField(required=False, allow_blank=True)
    after = serializers.CharField(required=False, allow_blank=True)
    limit = serializers.IntegerField(default=50, min_value=1, max_value=500)


_NOT_FOUND = OpenApiResponse(PipelineErrorSerializer, "Not visible, or no such run.")


class PopulateView(PipelineAPIView):
    """``POST /api/v1/schemas/<schema>/tables/<table>/populate/``: start a run (operator)."""

    labbook_action = {"POST": "populate", "OPTIONS": "view"}

    @api_operation(
        ok_status=202,
        ok=StartedSerializer,
        request=StartRunSerializer,
        errors={
            400: OpenApiResponse(
                AnyOf("BadRun", [PipelineErrorSerializer, DetailSerializer]),
                "A bad restriction or limit (`{detail}`: a body that is not JSON).",
            ),
            404: _NOT_FOUND,
            409: OpenApiResponse(PipelineErrorSerializer, "Not a Computed/Imported table."),
            503: OpenApiResponse(
                PipelineErrorSerializer, "The database or the task broker is unavailable."
            ),
        },
        operation_id="populate_start",
        summary="Start a populate run",
        description="Fans out to the Celery workers, which reserve keys one at a time "
        "through the table's jobs table (shared with DataJoint workers).",
    )
    def post(self, request, schema: str, table: str):
        """``{"run": id}`` (202)."""
        body = valid(StartRunSerializer(data=request.data))
        run = services.start_run(
            schema,
            table,
            request.user,
            restriction=body.get("restriction"),
            priority=body["priority"],
            limit=body.get("limit"),
            source="api",
        )
        return Response({"run": run.id}, status=http.HTTP_202_ACCEPTED)


class RunsView(PipelineAPIView):
    """``GET /api/v1/runs/``: runs newest first, in schemas the user may view."""

    labbook_action = "view"

    @api_operation(
        ok=RunsPageSerializer,
        parameters=[RunsQuerySerializer],
        errors={400: OpenApiResponse(PipelineErrorSerializer, "A bad parameter.")},
        operation_id="runs_list",
        summary="Populate runs (history)",
        description="Who started what, when, with which restriction; counts and outcome.",
    )
    def get(self, request):
        """``{"runs", "next"}``."""
        params = valid(RunsQuerySerializer(data=request.query_params))
        runs, cursor = services.list_runs(
            request.user,
            params.get("schema") or None,
            params.get("table") or None,
            params["limit"],
            params.get("after") or None,
        )
        body = {"runs": [services.run_json(r) for r in runs], "next": cursor}
        return Response(RunsPageSerializer(body).data, status=http.HTTP_200_OK)


class RunView(PipelineAPIView):
    """``GET /api/v1/runs/<run>/``: one run with its keys' outcomes."""

    labbook_action = "view"

    @api_operation(
        ok=RunSerializer,
        errors={404: _NOT_FOUND},
        operation_id="run_read",
        summary="One populate run",
        description="The run and the outcome of each of its keys (the first 1,000).",
    )
    def get(self, request, run: str):
        """The run, with ``keys``."""
        found = services.get_run(run, request.user)
        return Response(RunSerializer(services.run_json(found, keys=True)).data)


class CancelRunView(PipelineAPIView):
    """``POST /api/v1/runs/<run>/cancel/``: cancel a run (operator on its schema, checked in
    the service)."""

    labbook_action = {"POST": "view", "OPTIONS": "view"}

    @api_operation(
        ok=RunSerializer,
        request=None,
        errors={404: _NOT_FOUND},
        operation_id="run_cancel",
        summary="Cancel a populate run",
        description="Tasks not started are revoked; running ones stop after their current "
        "key; keys not reserved stay pending.",
    )
    def post(self, request, run: str):
        """The run, cancelled."""
        found = services.cancel_run(run, request.user)
        return Response(RunSerializer(services.run_json(found)).data)
