"""The jobs API (issue #13): a table's jobs (DataJoint 2.x ``~~<table>``, spec §6; or a
0.14 pipeline's ``~jobs``, spec §11) in filtered keyset pages with their counts, and the
operator's actions on them with a dry-run count: retry, ignore/unignore, reprioritise,
reset stale reservations; the table's throughput and ETA beside the counts. The same
services as the jobs page (:mod:`pipeline_core.services.jobs`)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response

from pipeline_core import services
from pipeline_core.datamodel.jobs import JOB_STATUSES
from pipeline_core.keys import decode_key, encode_key

from .openapi import AnyOf, api_operation
from .serializers import DetailSerializer, PipelineErrorSerializer
from .validation import valid
from .views import PipelineAPIView


class JobsQuerySerializer(serializers.Serializer):
    """Query parameters of ``GET .../jobs/``."""

    status = serializers.CharField(
        required=False,
        help_text=f"one status or several, comma-separated: {', '.join(JOB_STATUSES)}",
    )
    host = serializers.CharField(required=False, help_text="the worker's host name, exactly")
    error = serializers.CharField(required=False, help_text="text the error message contains")
    after = serializers.CharField(required=False, help_text="`next` of the previous page")
    limit = serializers.IntegerField(
        min_value=1, max_value=services.jobs.MAX_JOBS_PAGE, default=services.jobs.JOBS_PAGE
    )


class JobSerializer(serializers.Serializer):
    """One job: its key (the target's primary key, values as JSON) and the jobs table's
    columns (spec §6.2); 0.14 jobs have no priority, times other than ``reserved_time``
    (0.14's ``timestamp``), duration or version."""

    key = serializers.DictField()
    token = serializers.CharField(help_text="the key as a URL token (the page's `?key=`)")
    status = serializers.ChoiceField(choices=JOB_STATUSES)
    priority = serializers.IntegerField(allow_null=True)
    created_time = serializers.DateTimeField(allow_null=True)
    scheduled_time = serializers.DateTimeField(allow_null=True)
    reserved_time = serializers.DateTimeField(allow_null=True)
    completed_time = serializers.DateTimeField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    error_message = serializers.CharField(allow_blank=True)
    user = serializers.CharField(allow_blank=True)
    host = serializers.CharField(allow_blank=True)
    pid = serializers.IntegerField()
    connection_id = serializers.IntegerField()
    version = serializers.CharField(allow_blank=True)


class JobCountsSerializer(serializers.Serializer):
    """Jobs per status, ``total``, and ``not_queued`` (key_source − target − jobs)."""

    pending = serializers.IntegerField()
    reserved = serializers.IntegerField()
    success = serializers.IntegerField()
    error = serializers.IntegerField()
    ignore = serializers.IntegerField()
    total = serializers.IntegerField()
    not_queued = serializers.IntegerField()
    keys = serializers.IntegerField(help_text="keys of key_source")
    done = serializers.IntegerField(help_text="rows computed")
    percent = serializers.FloatField()
    legacy = serializers.BooleanField(help_text="read from a DataJoint 0.14 `~jobs`")


class JobRateSerializer(serializers.Serializer):
    """Throughput and ETA: keys computed in the last ``window_seconds``, counted from the
    audit trail (LabBook workers) and kept ``success`` jobs (DataJoint workers with
    ``keep_completed``)."""

    keys_per_minute = serializers.FloatField(help_text="`completed` over the window")
    window_seconds = serializers.IntegerField(help_text="the window's length (300 s)")
    eta_seconds = serializers.FloatField(
        allow_null=True,
        help_text="`remaining` at this rate; null when nothing was computed in the window",
    )
    completed = serializers.IntegerField(help_text="keys computed in the window")
    remaining = serializers.IntegerField(help_text="pending + reserved + not_queued")


class JobsPageSerializer(serializers.Serializer):
    """One keyset page of jobs in key order, the cursor of the next (null on the last)."""

    jobs = JobSerializer(many=True)
    next = serializers.CharField(allow_null=True)
    counts = JobCountsSerializer()
    rate = JobRateSerializer()


class RetrySerializer(serializers.Serializer):
    """``POST .../jobs/retry/``: exactly one of ``keys``, ``all_errors``, ``error_contains``."""

    keys = serializers.ListField(child=serializers.DictField(), required=False)
    all_errors = serializers.BooleanField(default=False)
    error_contains = serializers.CharField(required=False)
    dry_run = serializers.BooleanField(default=False)


class IgnoreSerializer(serializers.Serializer):
    """``POST .../jobs/ignore/``: the job keys; ``unignore`` takes an ignore back."""

    keys = serializers.ListField(child=serializers.DictField(), min_length=1)
    unignore = serializers.BooleanField(default=False)
    dry_run = serializers.BooleanField(default=False)


class PrioritySerializer(serializers.Serializer):
    """``POST .../jobs/priority/``: the new priority (lower runs sooner) of the pending
    and error jobs of ``keys`` (all of them when absent)."""

    keys = serializers.ListField(child=serializers.DictField(), required=False)
    priority = serializers.IntegerField(min_value=-128, max_value=127)
    dry_run = serializers.BooleanField(default=False)


class RecoverSerializer(serializers.Serializer):
    """``POST .../jobs/recover/``: reset every stale reservation of the table."""

    dry_run = serializers.BooleanField(default=False)


class JobCountSerializer(serializers.Serializer):
    """How many jobs were changed (or, with ``dry_run``, would be)."""

    count = serializers.IntegerField()
    dry_run = serializers.BooleanField()


_ERRORS = {
    400: OpenApiResponse(
        AnyOf("BadJobs", [PipelineErrorSerializer, DetailSerializer]),
        "A bad parameter, key or selection (`{error, detail, ...}`; `{detail}`: not JSON).",
    ),
    404: OpenApiResponse(
        PipelineErrorSerializer, "A schema or table that is not visible or not there."
    ),
    409: OpenApiResponse(
        PipelineErrorSerializer,
        "Not an auto-populated table (or a 0.14 table, for ignore and priority).",
    ),
}


def _job(job: dict) -> dict:
    key = decode_key(encode_key(job["key"]))  # JSON-safe values
    return {**job, "key": key, "token": encode_key(job["key"])}


class JobsView(PipelineAPIView):
    """``GET /api/v1/schemas/<schema>/tables/<table>/jobs/``: the table's jobs."""

    labbook_action = "view"

    @api_operation(
        ok=JobsPageSerializer,
        parameters=[JobsQuerySerializer],
        errors=_ERRORS,
        operation_id="jobs_list",
        summary="A page of a table's jobs, with counts per status",
        description="Jobs of a Computed/Imported table in key order, `limit` at a time "
        "(keyset paging); filters `status` (comma-separated), `host`, `error` (text in the "
        "message). Send `next` back as `after`. `counts` also gives `not_queued`; `rate` the "
        "keys computed in the last 5 minutes (audit trail and kept success jobs), per minute, "
        "and the ETA of the keys remaining.",
    )
    def get(self, request, schema: str, table: str):
        """``{"jobs", "next", "counts"}``."""
        params = valid(JobsQuerySerializer(data=request.query_params))
        after = decode_key(params["after"]) if params.get("after") else None
        page = services.list_jobs(
            schema,
            table,
            status=params.get("status"),
            host=params.get("host"),
            error=params.get("error"),
            after=after,
            limit=params["limit"],
        )
        data = {
            "jobs": [_job(j) for j in page["jobs"]],
            "next": encode_key(page["next"]) if page["next"] else None,
            "counts": page["counts"],
            "rate": services.job_rate(schema, table, page["counts"]),
        }
        return Response(JobsPageSerializer(data).data, status=http.HTTP_200_OK)


class RetryJobsView(PipelineAPIView):
    """``POST .../jobs/retry/``: error jobs back to pending (``operator``)."""

    labbook_action = {"POST": "retry", "OPTIONS": "view"}

    @api_operation(
        request=RetrySerializer,
        ok=JobCountSerializer,
        errors=_ERRORS,
        operation_id="jobs_retry",
        summary="Retry error jobs",
        description="Error jobs named by `keys`, all of them (`all_errors`) or those whose "
        "message contains `error_contains` become `pending` (0.14: their rows are removed), "
        "so the next populate computes them. `dry_run` only counts. Each retried key is an "
        "audit event `retry_jobs`.",
        examples=[
            OpenApiExample("Count", value={"all_errors": True, "dry_run": True}, request_only=True)
        ],
    )
    def post(self, request, schema: str, table: str):
        """``{"count", "dry_run"}``."""
        body = valid(RetrySerializer(data=request.data))
        count = services.retry_jobs(
            schema,
            table,
            request.user,
            keys=body.get("keys"),
            all_errors=body["all_errors"],
            error_contains=body.get("error_contains"),
            dry_run=body["dry_run"],
        )
        return Response({"count": count, "dry_run": body["dry_run"]}, status=http.HTTP_200_OK)


class IgnoreJobsView(PipelineAPIView):
    """``POST .../jobs/ignore/``: ignore or unignore jobs (``operator``)."""

    labbook_action = {"POST": "ignore", "OPTIONS": "view"}

    @api_operation(
        request=IgnoreSerializer,
        ok=JobCountSerializer,
        errors=_ERRORS,
        operation_id="jobs_ignore",
        summary="Ignore or unignore jobs",
        description="Pending and error jobs of `keys` become `ignore` (populate skips them; "
        "keys without a job are added as `ignore`); with `unignore` their `ignore` rows are "
        "removed, so the next populate queues them. `dry_run` only counts.",
    )
    def post(self, request, schema: str, table: str):
        """``{"count", "dry_run"}``."""
        body = valid(IgnoreSerializer(data=request.data))
        count = services.ignore_jobs(
            schema,
            table,
            request.user,
            keys=body["keys"],
            unignore=body["unignore"],
            dry_run=body["dry_run"],
        )
        return Response({"count": count, "dry_run": body["dry_run"]}, status=http.HTTP_200_OK)


class PriorityJobsView(PipelineAPIView):
    """``POST .../jobs/priority/``: reprioritise pending and error jobs (``operator``)."""

    labbook_action = {"POST": "populate", "OPTIONS": "view"}

    @api_operation(
        request=PrioritySerializer,
        ok=JobCountSerializer,
        errors=_ERRORS,
        operation_id="jobs_priority",
        summary="Reprioritise jobs",
        description="Set the priority (-128..127, lower runs sooner; DataJoint's default 5) "
        "of the pending and error jobs of `keys`, or of all of them. `dry_run` only counts.",
    )
    def post(self, request, schema: str, table: str):
        """``{"count", "dry_run"}``."""
        body = valid(PrioritySerializer(data=request.data))
        count = services.reprioritize_jobs(
            schema,
            table,
            request.user,
            priority=body["priority"],
            keys=body.get("keys"),
            dry_run=body["dry_run"],
        )
        return Response({"count": count, "dry_run": body["dry_run"]}, status=http.HTTP_200_OK)


class RecoverJobsView(PipelineAPIView):
    """``POST .../jobs/recover/``: reset stale reservations (``operator``)."""

    labbook_action = {"POST": "populate", "OPTIONS": "view"}

    @api_operation(
        request=RecoverSerializer,
        ok=JobCountSerializer,
        errors=_ERRORS,
        operation_id="jobs_recover",
        summary="Reset stale reservations",
        description="Reserved jobs whose worker is gone (its connection is closed, or its "
        "heartbeat, or without one its reservation, is older than `LABBOOK_STALE_AFTER`) go "
        "back to `pending`; a key already returned `LABBOOK_MAX_ATTEMPTS` times becomes "
        '`error` "worker lost". `dry_run` only counts. Each reset job is an audit event '
        "`recover`. A DataJoint 0.14 `~jobs` is not reset (count 0).",
        examples=[OpenApiExample("Count", value={"dry_run": True}, request_only=True)],
    )
    def post(self, request, schema: str, table: str):
        """``{"count", "dry_run"}``."""
        body = valid(RecoverSerializer(data=request.data))
        found = services.reset_stale_jobs(schema, table, request.user, dry_run=body["dry_run"])
        return Response(
            {"count": found["count"], "dry_run": body["dry_run"]}, status=http.HTTP_200_OK
        )
