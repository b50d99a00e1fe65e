"""The workers view through the API (issue #13): ``GET /api/v1/workers/``, the Celery nodes
and the LabBook worker processes, online or offline, from
:func:`pipeline_core.services.list_workers` (the same service as the web page)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response

from pipeline_core import services

from .openapi import api_operation
from .views import PipelineAPIView


class WorkerProcessSerializer(serializers.Serializer):
    """A LabBook worker process, known by its heartbeat row."""

    host = serializers.CharField()
    pid = serializers.IntegerField()
    connection_id = serializers.IntegerField(help_text="its pipeline connection's id")
    run = serializers.CharField(allow_null=True, help_text="the run it works for")
    run_recorded = serializers.BooleanField(help_text="the run is in the run history")
    table = serializers.CharField(allow_null=True, help_text="`schema`.`table` it computes")
    key = serializers.JSONField(allow_null=True, help_text="the key it computes")
    first_seen = serializers.CharField(help_text="ISO 8601, UTC")
    last_seen = serializers.CharField(help_text="ISO 8601, UTC: its last heartbeat")
    age = serializers.FloatField(help_text="seconds since its last heartbeat")
    online = serializers.BooleanField()
    reason = serializers.CharField(
        allow_null=True,
        help_text="why offline: `connection gone` (not in the server's process list) or "
        "`heartbeat old` (silent longer than LABBOOK_STALE_AFTER); null when online",
    )
    node = serializers.CharField(allow_null=True, help_text="its Celery node, if matched")
    hidden = serializers.BooleanField(
        help_text="run, table and key left out: their schema is not visible to the user"
    )


class ActiveTaskSerializer(serializers.Serializer):
    """A task a Celery node is executing."""

    id = serializers.CharField()
    task = serializers.CharField()
    run = serializers.CharField(allow_null=True, help_text="`populate_run`: the run")
    run_recorded = serializers.BooleanField()
    table = serializers.CharField(allow_null=True, help_text="`populate`: the table")
    worker_pid = serializers.IntegerField(allow_null=True)
    started = serializers.CharField(allow_null=True, help_text="ISO 8601, UTC")
    hidden = serializers.BooleanField()


class CeleryNodeSerializer(serializers.Serializer):
    """A Celery worker node (``name@host``), online when it answers Celery's inspection."""

    name = serializers.CharField()
    host = serializers.CharField()
    online = serializers.BooleanField()
    queues = serializers.ListField(child=serializers.CharField())
    concurrency = serializers.IntegerField(allow_null=True, help_text="pool max-concurrency")
    pool = serializers.CharField(allow_blank=True, help_text="prefork, solo, threads, ...")
    pid = serializers.IntegerField(allow_null=True, help_text="its main process")
    last_seen = serializers.CharField(help_text="ISO 8601, UTC: its last answer")
    active = ActiveTaskSerializer(many=True)
    processes = WorkerProcessSerializer(many=True)


class BrokerSerializer(serializers.Serializer):
    """Whether the task broker answered."""

    ok = serializers.BooleanField()
    message = serializers.CharField()


class WorkersSerializer(serializers.Serializer):
    """The Celery nodes (with their processes), every worker process, and the broker."""

    nodes = CeleryNodeSerializer(many=True)
    processes = WorkerProcessSerializer(many=True)
    broker = BrokerSerializer()


class WorkersView(PipelineAPIView):
    """``GET /api/v1/workers/``: Celery nodes and LabBook worker processes, online or
    offline (logged-in users; run, table and key only where they may view the schema)."""

    labbook_action = "view"

    @api_operation(
        ok=WorkersSerializer,
        operation_id="workers_list",
        summary="Workers: Celery nodes and worker processes",
        description="Each Celery node on the broker (online when it answers Celery's "
        "inspection within 1 s; nodes seen before and silent now are offline), its queues, "
        "concurrency and active tasks; each LabBook worker process from its heartbeat: "
        "online when its connection is in the pipeline server's process list and its last "
        "heartbeat is younger than LABBOOK_STALE_AFTER, offline otherwise (listed for a "
        "day). The inspection is reused for 2 s. An unreachable broker is reported in "
        "`broker`, not as an error.",
    )
    def get(self, request):
        """``{"nodes", "processes", "broker"}``."""
        if not request.user.is_authenticated:  # host names and pids: not for the public
            raise NotAuthenticated()
        body = services.list_workers(request.user)
        return Response(WorkersSerializer(body).data)
