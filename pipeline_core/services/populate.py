"""Pipelines with make(), populate (in-process or queued), progress and jobs."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Callable

from celery import current_app
from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit
from pipeline_core.datamodel import retry as transient_retry
from pipeline_core.datamodel.jobs import job_table
from pipeline_core.datamodel.transient import RetryPolicy

from . import recovery
from .access import begin_request, connection, schema_prefix, table_info, table_named, tier_phrase
from .audit import writer
from .state import PipelineSession

#: Default pipeline modules providing classes with make().
DEFAULT_PIPELINES = ("pipelines.demo:declare",)


class NoMakeError(dm.PopulateError):
    """No registered pipeline module defines a class with make() for the table."""


def pipeline_specs() -> tuple[str, ...]:
    """The registered pipeline functions (``module:function``), read lazily from
    ``settings.LABBOOK_PIPELINES`` or the ``LABBOOK_PIPELINES`` environment variable."""
    value = getattr(settings, "LABBOOK_PIPELINES", None)
    if value is None:
        value = os.environ.get("LABBOOK_PIPELINES", "") or ",".join(DEFAULT_PIPELINES)
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v.strip())


def pipeline_classes() -> dict[dm.TableRef, type]:
    """TableRef -> class (with its make() for auto-populated tables) from every
    registered pipeline, declared under the schema prefix; cached with this thread's
    connection (see :meth:`PipelineSession.pipeline_classes`).

    Raises:
        DataJointError: a registered spec cannot be imported or called.
    """
    prefix, specs = schema_prefix(), pipeline_specs()
    return PipelineSession.current().pipeline_classes(
        (prefix, specs), lambda conn: _declare_pipelines(conn, prefix, specs)
    )


def _declare_pipelines(conn: dm.Connection, prefix: str, specs: tuple[str, ...]) -> dict:
    """Call every pipeline function of ``specs`` with ``(conn, prefix)``; TableRef -> class
    of each table class (and part class) bound to a connection."""
    classes: dict[dm.TableRef, type] = {}
    for spec in specs:
        module_name, _, function_name = spec.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), function_name or "declare")
        except (ImportError, AttributeError) as exc:
            raise dm.DataJointError(f"LABBOOK_PIPELINES: cannot load {spec!r}: {exc}") from None
        namespace = function(conn, prefix)
        tables = [v for v in vars(namespace).values() if isinstance(v, type)]
        tables += [p for t in tables for p in vars(t).values() if isinstance(p, type)]
        classes.update(
            {
                cls.ref: cls
                for cls in tables
                if isinstance(cls, type)
                and issubclass(cls, dm.Table)
                and getattr(cls, "_connection_", None) is not None
            }
        )
    return classes


def make_class(full_table_name: str) -> type:
    """The registered class of an auto-populated table, the one that has make().

    Raises:
        NotFoundError: not a full table name, or the table is not visible; NoMakeError: no
            class registered.
    """
    info = table_named(full_table_name)
    cls = pipeline_classes().get(info.ref)
    if cls is None or info.tier not in ("Computed", "Imported"):
        raise NoMakeError(
            f"{info.full_name}: no make() is registered for this table "
            f"(pipelines: {', '.join(pipeline_specs()) or 'none'})",
            table=info.full_name,
        )
    return cls


def has_make(schema: str, table: str) -> bool:
    """True if a registered pipeline defines make() for the table."""
    try:
        make_class(table_info(schema, table).full_name)
        return True
    except NoMakeError:
        return False


def retry_policy() -> RetryPolicy:
    """How LabBook's populate retries transient ``make`` failures (lost connection,
    deadlock, lock wait timeout): ``settings.LABBOOK_TRANSIENT_RETRIES`` retries (default
    3), back-off from ``settings.LABBOOK_RETRY_BACKOFF`` seconds (default 1), counted per
    job key in ``settings.LABBOOK_AUDIT_DB``'s ``transient_attempt`` table."""
    default = RetryPolicy()
    return RetryPolicy(
        retries=int(getattr(settings, "LABBOOK_TRANSIENT_RETRIES", default.retries)),
        backoff=float(getattr(settings, "LABBOOK_RETRY_BACKOFF", default.backoff)),
        database=settings.LABBOOK_AUDIT_DB,
    )


def populate(
    full_table_name: str,
    on_key: Callable[[dict, str], None] | None = None,
    *,
    run_id: str | None = None,
    restrictions: list | None = None,
    priority: int | None = None,
) -> dict:
    """Populate one table in this process with job reservation (idempotent: a key is
    never computed twice, errors are recorded in the jobs table), as the current actor
    (:func:`pipeline_core.principal.acting_as`). Each computed key is a ``populate``
    event of the audit trail with the batch id ``run_id``. The process keeps a heartbeat
    row (``worker`` table of ``LABBOOK_AUDIT_DB``: host, pid, connection id, run, current
    key, last seen) while it works, so that :func:`.recovery.recover_stale` can tell its
    reservations from those of a dead worker. A key whose ``make`` fails with a transient
    error is retried as :func:`retry_policy` says, before this call returns (a lost
    connection is reopened; the heartbeat follows the new connection id).

    Args:
        run_id: the run's id (the Celery task id); None: a new one.
        restrictions: restrictions of key_source (a list of keys, an expression ...).
        priority: the jobs priority of the keys queued (DataJoint's default 5).
    Returns:
        ``{"table", "success_count", "error_count", "errors": [message, ...]}``.
    Raises:
        NotFoundError, NoMakeError: see :func:`make_class`. DataJointError: no actor.
    """
    begin_request()
    conn = writer()
    cls = make_class(full_table_name)
    policy = retry_policy()
    transient_retry.ensure_table(conn, policy.database)  # beside the heartbeat's, now
    with recovery.heartbeat(run_id) as beat:  # recover_stale finds this worker's lost keys
        result = cls.populate(
            *(restrictions or ()),
            reserve_jobs=True,
            suppress_errors=True,
            on_key=on_key,
            run_id=run_id,
            priority=priority,
            before_key=lambda key: beat.before_key(key, cls.ref),
            retry=policy,
        )
    errors = [message for _, message in result["error_list"]]
    return {
        "table": cls.full_table_name,
        "success_count": result["success_count"],
        "error_count": len(errors),
        "errors": errors[:20],
    }


def enqueue_populate(schema: str, table: str, user) -> str:
    """Queue the Celery task ``populate`` for a table on behalf of ``user`` (a Django user,
    who must hold ``operator`` on the schema when the task runs: the worker checks again);
    returns the task id.

    Raises:
        NotFoundError, PopulateError, NoMakeError: nothing to populate there.
        ValueError: ``user`` is not a logged-in user.
    """
    if user is None or not user.is_authenticated:
        raise ValueError("populate is queued on behalf of a logged-in user")
    info = table_info(schema, table)
    if info.tier not in ("Computed", "Imported"):
        raise dm.PopulateError(
            f"{info.full_name} is {tier_phrase(info)}: only Computed and "
            "Imported tables are populated",
            table=info.full_name,
        )
    make_class(info.full_name)
    conn, run_id = writer(), uuid.uuid4().hex
    with conn.transaction():  # the run's start event, kept only if the task was sent
        event = audit.Event("populate_start", info.ref, None, None, run_id)
        conn.audit.record(conn, [event])
        # by name: the task module imports the services, not the other way round
        current_app.send_task(
            "populate",
            args=[info.full_name],
            kwargs={"user": user.get_username()},
            task_id=run_id,
        )
    return run_id


def _auto_table(schema: str, table: str):
    """An instance of a (virtual) class of an auto-populated table: progress and jobs."""
    info = table_info(schema, table)
    if info.tier not in ("Computed", "Imported"):
        raise dm.PopulateError(
            f"{info.full_name} is not an auto-populated table", table=info.full_name
        )
    return dm.table_class(connection(), schema, info.table_name)()


def populate_status(schema: str, table: str, error_limit: int = 20) -> dict:
    """Progress of an auto-populated table, from the database only (key_source, target,
    and the jobs table, or a 0.14 ``~jobs``): ``total, done, remaining, pending,
    reserved, error, ignore``, ``errors`` (``[{key, message, time}]``, newest first) and
    ``complete`` (nothing remains that is not an error or ignored, and nothing is
    pending or reserved)."""
    target = _auto_table(schema, table)
    remaining, total = target.progress()
    jobs = job_table(target)  # 2.x ``~~<table>``, or a 0.14 pipeline's ``~jobs``
    counts = jobs.progress()
    if jobs.legacy:
        errors = [
            {"key": job["key"], "message": job["error_message"], "time": job["reserved_time"]}
            for job in jobs.page(statuses=["error"], limit=error_limit)[0]
        ]
    else:
        pk = jobs.primary_key
        errors = [
            {
                "key": {k: row[k] for k in pk},
                "message": row["error_message"],
                "time": row["completed_time"],
            }
            for row in jobs.rows(status="error", limit=error_limit)
        ]
    busy = counts["pending"] + counts["reserved"]
    return dict(
        total=total,
        remaining=remaining,
        done=total - remaining,
        errors=errors,
        complete=busy == 0 and remaining <= counts["error"] + counts["ignore"],
        **{s: counts[s] for s in ("pending", "reserved", "error", "ignore")},
    )


def clear_errors(schema: str, table: str) -> int:
    """Delete the table's ``error`` job rows so that the next populate retries them (one
    ``clear_errors`` event per key in the audit trail).

    Raises:
        DataJointError: no actor (:func:`pipeline_core.principal.acting_as`).
    """
    writer()
    return _auto_table(schema, table).jobs.delete(status="error")


def error_traceback(schema: str, table: str, key: dict) -> str | None:
    """The traceback recorded for a failed job key (2.x ``~~<table>`` or 0.14 ``~jobs``),
    or None."""
    from .jobs import job_traceback

    return job_traceback(schema, table, key)
