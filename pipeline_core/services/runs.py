"""Populate runs (issue #13): a run is started for a Computed/Imported table, or for a
restriction of its key_source (a condition in the JSON query description's ``where``
form), with a priority and an optional key limit; it is recorded as a
:class:`~pipeline_core.models.PopulateRun` and fans out to Celery tasks (``populate_run``),
each of which reserves keys one at a time through the table's jobs table (spec §6), so
LabBook workers and DataJoint workers running ``populate(reserve_jobs=True)`` share the
work and never compute a key twice.

A run is cancelled by revoking its tasks that have not started; a running task stops after
the key it is computing (keys it had not reserved stay ``pending`` for the next run).
"""

from __future__ import annotations

import math
import socket
import uuid
from urllib.parse import urlsplit, urlunsplit

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit, query_json
from pipeline_core.models import PopulateRun, RunKey

from .access import NotFoundError, connection, may, require, table_info, tier_phrase
from .audit import writer
from .populate import make_class, populate
from .query import json_value, viewable_resolver

#: Tasks a run fans out to when ``LABBOOK_RUN_TASKS`` is not set.
DEFAULT_RUN_TASKS = 8
#: Seconds to wait for the broker before a run is refused.
BROKER_TIMEOUT = 1.5
#: Keys of a run started with a limit, at most.
MAX_LIMIT = 100_000


class BrokerUnavailable(dm.DataJointError):
    """The task broker (Redis) cannot be reached: nothing was queued (503)."""


class RunCancelled(Exception):
    """Raised between keys inside a task whose run was cancelled (stops its populate)."""


def broker_name() -> str:
    """The broker's URL without its password, for messages."""
    parts = urlsplit(settings.CELERY_BROKER_URL)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_broker(timeout: float = BROKER_TIMEOUT) -> None:
    """Open a connection to the broker's host and port within ``timeout`` seconds.

    Raises:
        BrokerUnavailable: it does not answer (the message names the broker).
    """
    parts = urlsplit(settings.CELERY_BROKER_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=timeout):
            pass
    except OSError as exc:
        raise BrokerUnavailable(
            f"The task broker {broker_name()} cannot be reached ({exc}): no populate run was "
            "started. Start Redis (make services) and try again."
        ) from None


def _restricted_source(cls, restriction, schema: str, table: str, user=None):
    """The table's key_source restricted by a JSON condition (None: whole)."""
    source = cls().key_source
    if restriction is None:
        return source
    resolve = viewable_resolver(user) if user is not None else None
    return query_json.restrict(
        source, restriction, {"schema": schema, "table": table}, connection(), resolve=resolve
    )


def start_run(
    schema: str,
    table: str,
    user,
    restriction=None,
    priority: int = 5,
    limit: int | None = None,
    source: str = "web",
    trusted: bool = False,
) -> PopulateRun:
    """Start a populate run as ``user`` (operator on the schema): record it, then queue its
    tasks (at most ``LABBOOK_RUN_TASKS``, default 8, and no more than keys to do).

    Args:
        restriction: a condition on key_source attributes (the ``where`` form), or None.
        priority: jobs priority (DataJoint: lower runs first; 5 is DataJoint's default).
        limit: compute at most this many keys (the first ones in key order), or None.
        trusted: started from the server's command line without ``--user`` (no role
            check; its tasks run as the trusted server actor too).
    Returns:
        the :class:`PopulateRun` (``status`` ``queued``, or ``done`` with nothing to do).
    Raises:
        RoleRequired / NotFoundError; PopulateError (not Computed/Imported); NoMakeError;
        QueryDescriptionError (a bad restriction); BrokerUnavailable (503, within ~2 s).
    """
    if not trusted:
        require(user, "populate", schema)
    info = table_info(schema, table)
    if info.tier not in ("Computed", "Imported"):
        raise dm.PopulateError(
            f"{info.full_name} is {tier_phrase(info)}: only Computed and Imported tables "
            "are populated",
            table=info.full_name,
        )
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise dm.QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    cls = make_class(info.full_name)
    todo = _restricted_source(cls, restriction, schema, table, user).proj() - cls()
    keys = None
    if limit is not None:
        heading = todo.heading
        keys = [
            {n: json_value(heading[n], v) for n, v in row.items()}
            for row in todo.to_dicts(order_by="KEY", limit=limit)
        ]
        count = len(keys)
    else:
        count = len(todo)
    check_broker()
    wanted = int(getattr(settings, "LABBOOK_RUN_TASKS", 0) or DEFAULT_RUN_TASKS)
    tasks = max(0, min(wanted, count))
    run_id = uuid.uuid4().hex
    run = PopulateRun(
        id=run_id,
        schema=schema,
        table=table,
        full_name=info.full_name,
        restriction=restriction,
        keys=keys,
        priority=priority,
        limit=limit,
        user=user if getattr(user, "is_authenticated", False) else None,
        username=user.get_username() if getattr(user, "is_authenticated", False) else "",
        source=source,
        tasks=tasks,
        task_ids=[f"{run_id}-{i}" for i in range(tasks)],
        keys_todo=count,
        status="queued" if tasks else "done",
        message="" if tasks else "nothing to populate",
    )
    if not tasks:
        run.finished = timezone.now()
    conn = writer()
    with transaction.atomic(), conn.transaction():  # the run and its start event
        run.save()
        event = audit.Event(
            "populate_start",
            info.ref,
            None,
            {"restriction": restriction, "priority": priority, "limit": limit, "keys": count},
            run_id,
        )
        conn.audit.record(conn, [event])
    try:  # after the commit: a worker must find the run
        for task_id in run.task_ids:  # by name: the task module imports the services
            current_app.send_task("populate_run", args=[run_id], task_id=task_id)
    except Exception as exc:
        PopulateRun.objects.filter(id=run_id).update(
            status="failed", finished=timezone.now(), message=f"not queued: {exc}"[:1000]
        )
        raise BrokerUnavailable(
            f"The task broker {broker_name()} refused the run's tasks ({exc})"
        ) from None
    return run


def _worker_name() -> str:
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


def run_populate(run_id: str) -> dict:
    """The body of one task of a run (in a worker, as the run's user): populate the run's
    keys with reservation until none is left or the run is cancelled; each key's outcome
    counted on the run and recorded as a :class:`RunKey`.

    Returns:
        ``{"run", "success_count", "error_count", "cancelled"}``.
    Raises:
        NotFoundError: no such run.
    """
    run = PopulateRun.objects.filter(id=run_id).first()
    if run is None:
        raise NotFoundError(f"No populate run {run_id!r}")
    cancelled = run.status == "cancelled"
    result = {"success_count": 0, "error_count": 0}
    if not cancelled:
        PopulateRun.objects.filter(id=run_id, started__isnull=True).update(started=timezone.now())
        PopulateRun.objects.filter(id=run_id, status="queued").update(status="running")
        worker = _worker_name()
        field = {"success": "success", "error": "errors", "skipped": "skipped"}
        cls = make_class(run.full_name)
        heading = cls().heading

        def on_key(key: dict, outcome: str) -> None:
            RunKey.objects.create(
                run_id=run_id,
                key={n: json_value(heading[n], v) for n, v in key.items()},
                outcome=outcome,
                worker=worker,
            )
            if outcome in field:
                PopulateRun.objects.filter(id=run_id).update(
                    **{field[outcome]: F(field[outcome]) + 1}
                )
            if PopulateRun.objects.filter(id=run_id, status="cancelled").exists():
                raise RunCancelled

        if run.keys is not None:
            restrictions = [run.keys]  # an empty list restricts to nothing
        elif run.restriction is not None:
            restrictions = [_restricted_source(cls, run.restriction, run.schema, run.table).proj()]
        else:
            restrictions = []
        try:
            result = populate(
                run.full_name,
                on_key,
                run_id=run_id,
                restrictions=restrictions,
                priority=run.priority,
            )
        except RunCancelled:
            cancelled = True
        except BaseException as exc:  # the task fails; the run says why
            PopulateRun.objects.filter(id=run_id).update(
                status="failed", message=f"{type(exc).__name__}: {exc}"[:1000]
            )
            raise
        finally:
            _task_done(run_id)
    else:
        _task_done(run_id)
    return {
        "run": run_id,
        "success_count": result["success_count"],
        "error_count": result["error_count"],
        "cancelled": cancelled,
    }


def run_refused(run_id: str, reason: str) -> None:
    """Record that a task of the run was refused (its user's role changed meanwhile)."""
    PopulateRun.objects.filter(id=run_id).update(message=reason[:1000], status="failed")
    _task_done(run_id)


def _task_done(run_id: str) -> None:
    """Count one finished task; the last one closes the run (``done`` unless cancelled)."""
    with transaction.atomic():
        run = PopulateRun.objects.select_for_update().get(id=run_id)
        run.tasks_done += 1
        if run.tasks_done >= run.tasks and run.status in ("queued", "running", "failed"):
            run.status = "failed" if run.status == "failed" else "done"
            run.finished = timezone.now()
        run.save(update_fields=["tasks_done", "status", "finished"])


def cancel_run(run_id: str, user) -> PopulateRun:
    """Cancel a run (``cancel``: operator on its schema): tasks not started are revoked;
    running ones stop after their current key.

    Raises:
        NotFoundError: no such run (or in a schema the user may not view).
        RoleRequired: the user may not cancel there.
    """
    run = get_run(run_id, user)
    require(user, "cancel", run.schema)
    if run.status in ("queued", "running"):
        PopulateRun.objects.filter(id=run_id).update(status="cancelled", finished=timezone.now())
        current_app.control.revoke(list(run.task_ids))
        run.refresh_from_db()
    return run


def get_run(run_id: str, user) -> PopulateRun:
    """The run ``run_id`` if ``user`` may view its schema.

    Raises:
        NotFoundError: no such run, or not viewable (reported alike).
    """
    run = PopulateRun.objects.filter(id=str(run_id)).first()
    if run is None or not may(user, "view", run.schema):
        raise NotFoundError(f"No populate run {run_id!r}")
    return run


def list_runs(
    user,
    schema: str | None = None,
    table: str | None = None,
    limit: int = 50,
    after: str | None = None,
) -> tuple[list[PopulateRun], str | None]:
    """Runs newest first in the schemas ``user`` may view (optionally of one table), ``limit``
    at a time after the run ``after``; returns ``(runs, next cursor or None)``."""
    query = PopulateRun.objects.all()
    if schema is not None:
        query = query.filter(schema=schema)
    if table is not None:
        query = query.filter(table=table)
    if after:
        anchor = PopulateRun.objects.filter(id=after).first()
        if anchor is not None:
            query = query.filter(created__lte=anchor.created).exclude(
                created=anchor.created, id__gte=anchor.id
            )
    runs: list[PopulateRun] = []
    viewable: dict[str, bool] = {}
    for run in query.iterator(chunk_size=200):
        if run.schema not in viewable:
            viewable[run.schema] = may(user, "view", run.schema)
        if viewable[run.schema]:
            runs.append(run)
            if len(runs) > limit:
                break
    more = len(runs) > limit
    runs = runs[:limit]
    return runs, (runs[-1].id if more else None)


def run_json(run: PopulateRun, keys: bool = False) -> dict:
    """A run as JSON: who, what, when, counts, outcome; ``keys``: also its keys' outcomes
    (the first 1,000)."""
    data = {
        "id": run.id,
        "schema": run.schema,
        "table": run.table,
        "full_name": run.full_name,
        "restriction": run.restriction,
        "priority": run.priority,
        "limit": run.limit,
        "user": run.username,
        "source": run.source,
        "status": run.status,
        "tasks": run.tasks,
        "keys_todo": run.keys_todo,
        "success": run.success,
        "errors": run.errors,
        "skipped": run.skipped,
        "created": run.created.isoformat(),
        "started": run.started.isoformat() if run.started else None,
        "finished": run.finished.isoformat() if run.finished else None,
        "duration": None if run.duration is None else math.floor(run.duration * 1000) / 1000,
        "message": run.message,
    }
    if keys:
        data["keys"] = [
            {"key": k.key, "outcome": k.outcome, "worker": k.worker, "at": k.at.isoformat()}
            for k in run.key_outcomes.all()[:1000]
        ]
    return data
