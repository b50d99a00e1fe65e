"""The workers view of the populate console (issue #13): the Celery nodes
(:mod:`.celery_nodes`) merged with the LabBook worker processes that populate, each known
by its heartbeat row (``worker`` table of ``LABBOOK_AUDIT_DB``, written by
:class:`pipeline_core.datamodel.recovery.Heartbeat`).

A process is **online** when the connection id of its heartbeat is still in the pipeline
server's process list and its last beat is at most ``LABBOOK_STALE_AFTER`` seconds old;
otherwise **offline** (a SIGKILLed process's connection is closed by the server at once,
so it is offline at the next look). Processes are matched to Celery nodes by host and pid
(the node's main pid and its pool's processes). Offline processes stay listed for
:data:`KEEP_OFFLINE` seconds; older rows are hidden, and deleted by :func:`prune_workers`
(run by the periodic ``recover_stale`` task).

What a process or task is computing (run, table, key) is shown only to users who may view
its schema; the rest of the row (host, pid, online) is shown to every logged-in user.
"""

from __future__ import annotations

import datetime

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import recovery

from .access import connection, may, schema_prefix
from .celery_nodes import inspect_nodes
from .recovery import stale_after

#: Seconds an offline process stays listed (and its heartbeat row kept): one day.
KEEP_OFFLINE = 24 * 3600.0
#: The Celery tasks whose first argument is a run id, and a full table name.
RUN_TASKS = ("populate_run",)
TABLE_TASKS = ("populate",)


def worker_processes() -> list[dict]:
    """The LabBook worker processes seen within :data:`KEEP_OFFLINE` seconds, online first,
    then the most recently seen.

    Returns:
        ``[{"host", "pid", "connection_id", "run" (run id or None), "table" (full name
        `` `schema`.`table` `` or None), "key" (the key being computed, or None),
        "first_seen", "last_seen" (ISO 8601 UTC), "age" (seconds since the last beat),
        "online": bool, "reason": None or why offline ("connection gone": not in the
        server's process list; "heartbeat old": silent for more than
        ``LABBOOK_STALE_AFTER`` s)}, ...]`` (``[]`` before any process beat).
    Raises:
        LostConnectionError / AccessError: the pipeline server cannot be reached.
    """
    conn = connection()
    rows = recovery.workers(conn, settings.LABBOOK_AUDIT_DB, seen_within=KEEP_OFFLINE)
    alive = recovery.live_connections(conn) if rows else set()
    limit = stale_after()
    found = [_process(row, alive, limit) for row in rows]
    found.sort(key=lambda p: (not p["online"], p["age"], p["host"], p["pid"]))
    return found


def _process(row: dict, alive: set[int], limit: float) -> dict:
    if int(row["connection_id"]) not in alive:
        reason = "connection gone"
    elif row["age"] > limit:
        reason = "heartbeat old"
    else:
        reason = None
    return {
        "host": row["host"],
        "pid": int(row["pid"]),
        "connection_id": int(row["connection_id"]),
        "run": row["run_id"],
        "table": row["current_table"],
        "key": row["current_key"],
        "first_seen": _utc(row["started"]),
        "last_seen": _utc(row["last_seen"]),
        "age": round(row["age"], 3),
        "online": reason is None,
        "reason": reason,
    }


def _utc(value: datetime.datetime) -> str:
    return value.replace(tzinfo=datetime.UTC).isoformat()


def list_workers(user, fresh: bool = False) -> dict:
    """The workers view: Celery nodes with their processes, every process, the broker.

    Args:
        user: the reader; what a process or task computes (run, table, key) is left out
            (None, ``hidden`` true) where they may not view its schema.
        fresh: inspect the Celery nodes now (see :func:`.celery_nodes.inspect_nodes`).
    Returns:
        ``{"nodes": [{"name", "host", "online", "queues", "concurrency", "pool", "pid",
        "last_seen", "active": [{"id", "task", "run", "table", "worker_pid", "started",
        "hidden"}], "processes": [process, ...]}], "processes": [process, ...],
        "broker": {"ok", "message"}}``; a process is as in :func:`worker_processes` with
        ``"node"`` (its Celery node's name, or None), ``"run_recorded"`` (the run is in the
        run history: it has a page) and ``"hidden"``.
    Raises:
        LostConnectionError / AccessError: the pipeline server cannot be reached.
    """
    inspection = inspect_nodes(fresh)
    processes = worker_processes()
    view = _Visibility(user)
    for process in processes:
        process["node"] = None
        view.redact(process)
    nodes = []
    for found in inspection["nodes"]:  # copies: the inspection is cached
        node = {k: v for k, v in found.items() if k not in ("pids", "active")}
        node["active"] = [view.redact(_active(task)) for task in found["active"]]
        node["processes"] = [p for p in processes if _runs_on(p, found)]
        for process in node["processes"]:
            process["node"] = node["name"]
        nodes.append(node)
    return {"nodes": nodes, "processes": processes, "broker": dict(inspection["broker"])}


def _runs_on(process: dict, node: dict) -> bool:
    """Whether ``process`` (a heartbeat) is one of ``node``'s processes: same host (full or
    short name) and a pid of the node."""
    same_host = process["host"] == node["host"] or (
        process["host"].split(".")[0] == node["host"].split(".")[0]
    )
    return same_host and process["pid"] in node["pids"]


def _active(task: dict) -> dict:
    """A task of a node as shown: its run (``populate_run``) or table (``populate``), never
    its other arguments (they may name people)."""
    first = task["args"][0] if task["args"] else None
    return {
        "id": task["id"],
        "task": task["task"],
        "run": str(first) if task["task"] in RUN_TASKS and first is not None else None,
        "table": str(first) if task["task"] in TABLE_TASKS and first is not None else None,
        "worker_pid": task["worker_pid"],
        "started": task["started"],
    }


class _Visibility:
    """Which runs and tables a reader may see (one answer per schema and run per call)."""

    def __init__(self, user):
        self.user = user
        self.prefix = schema_prefix()
        self.schemas: dict[str, bool] = {}
        self.runs: dict[str, str | None] = {}

    def may_view(self, schema: str | None) -> bool:
        if schema is None:
            return True
        if schema not in self.schemas:
            self.schemas[schema] = schema.startswith(self.prefix) and may(self.user, "view", schema)
        return self.schemas[schema]

    def run_schema(self, run_id: str) -> str | None:
        """The schema of a recorded run; None when the run is not in the history."""
        if run_id not in self.runs:
            from pipeline_core.models import PopulateRun

            found = PopulateRun.objects.filter(id=run_id).values_list("schema", flat=True)
            self.runs[run_id] = next(iter(found), None)
        return self.runs[run_id]

    def redact(self, item: dict) -> dict:
        """Set ``run_recorded`` and ``hidden`` on a process or task; clear its run, table
        and key when its schema (the table's, else the recorded run's) is not viewable."""
        run, table = item.get("run"), item.get("table")
        run_schema = self.run_schema(run) if run else None
        schema, named = run_schema, True
        if table:
            try:
                schema = dm.TableRef.parse(table).database
            except dm.DataJointError:
                named = False  # not a table name: shown to nobody
        hidden = not named or not self.may_view(schema)
        item["run_recorded"] = run_schema is not None and not hidden
        item["hidden"] = hidden
        if hidden:
            item.update(run=None, table=None)
            if "key" in item:
                item["key"] = None
        return item


def prune_workers(keep: float = KEEP_OFFLINE) -> int:
    """Delete the heartbeat rows of processes not seen for ``keep`` seconds (default one
    day); returns how many. Run by the periodic ``recover_stale`` task.

    Raises:
        LostConnectionError / AccessError: the pipeline server cannot be reached.
    """
    return recovery.prune_workers(connection(), settings.LABBOOK_AUDIT_DB, keep)
