"""Dead workers and stale reservations as LabBook runs them (issue #13 part 2): the
heartbeat of a populating worker process and :func:`recover_stale` over the visible
schemas' jobs tables, with settings ``LABBOOK_STALE_AFTER`` and ``LABBOOK_MAX_ATTEMPTS``.
The rules themselves are the data model's (:mod:`pipeline_core.datamodel.recovery`).
"""

from __future__ import annotations

import dataclasses
import logging

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit, recovery
from pipeline_core.datamodel.names import jobs_table_name

from .access import check_schema, connection, resolve_table, schema_prefix, visible_schemas
from .audit import writer
from .state import PipelineSession

log = logging.getLogger(__name__)

#: Seconds between two beats of a worker's heartbeat thread.
HEARTBEAT_INTERVAL = 5.0


def stale_after() -> float:
    """``settings.LABBOOK_STALE_AFTER`` in seconds (default 120)."""
    return float(getattr(settings, "LABBOOK_STALE_AFTER", recovery.STALE_AFTER))


def max_attempts() -> int:
    """``settings.LABBOOK_MAX_ATTEMPTS`` (default 3)."""
    return int(getattr(settings, "LABBOOK_MAX_ATTEMPTS", recovery.MAX_ATTEMPTS))


def heartbeat(run_id: str | None = None) -> recovery.Heartbeat:
    """A (not yet started) heartbeat of this worker process for this thread's pipeline
    connection, in ``settings.LABBOOK_AUDIT_DB``'s ``worker`` table.

    Raises:
        LostConnectionError / AccessError: the pipeline server cannot be reached, or the
            table cannot be created.
    """
    conn = PipelineSession.current().connection()
    return recovery.Heartbeat(conn, settings.LABBOOK_AUDIT_DB, run_id, HEARTBEAT_INTERVAL)


def worker_heartbeats() -> list[dict]:
    """Every worker heartbeat row (see :func:`pipeline_core.datamodel.recovery.workers`),
    ``age`` in seconds and ``stale`` (older than ``LABBOOK_STALE_AFTER``)."""
    conn = PipelineSession.current().connection()
    rows = recovery.workers(conn, settings.LABBOOK_AUDIT_DB)
    limit = stale_after()
    for row in rows:
        row["stale"] = row["age"] > limit
    return rows


def recover_stale(
    schema: str | None = None, table: str | None = None, *, dry_run: bool = False
) -> dict:
    """Return the stale ``reserved`` jobs of the visible schemas' jobs tables (or those of
    ``schema``, with or without the prefix, or of one ``table`` of it: raw or class name)
    to ``pending``, or mark them ``error`` "worker lost" after ``LABBOOK_MAX_ATTEMPTS``
    recoveries (rules: :func:`pipeline_core.datamodel.recovery.recover_jobs`, stale after
    ``LABBOOK_STALE_AFTER`` seconds). Each recovered key is a ``recover`` event of the audit
    trail, as the current actor, one batch id for the call. ``dry_run`` changes nothing and
    records nothing: the same answer for the jobs that would be dealt with.

    Returns:
        ``{"recovered": n, "pending": n, "error": n, "jobs": [{"table": full name of the
        jobs table, "key", "outcome", "reason", "host", "pid", "connection_id",
        "attempts"}, ...], "failed": [{"table", "error"}, ...]}`` (a jobs table whose
        recovery raised a DataJointError is reported there and the others go on).
    Raises:
        NotFoundError: an unknown or invisible schema or table.
        ValueError: ``table`` without ``schema``.
        DataJointError: no actor (:func:`pipeline_core.principal.acting_as`).
    """
    if table is not None and schema is None:
        raise ValueError("a table needs its schema")
    conn = connection() if dry_run else writer()
    if table is not None:
        info = resolve_table(schema, table)
        refs = [info.ref.sibling(jobs_table_name(info.table_name))]
        refs = [r for r in refs if r in recovery.jobs_tables(conn, [info.database])]
    else:
        if schema is not None:
            prefix = schema_prefix()
            if prefix and not schema.startswith(prefix):  # the command line's short form
                schema = prefix + schema
            check_schema(schema)
        refs = recovery.jobs_tables(conn, [schema] if schema is not None else visible_schemas())
    batch_id = audit.new_batch_id()
    jobs = []
    failed = []
    for ref in refs:
        try:
            found = recovery.recover_jobs(
                conn,
                ref,
                settings.LABBOOK_AUDIT_DB,
                stale_after=stale_after(),
                max_attempts=max_attempts(),
                batch_id=batch_id,
                dry_run=dry_run,
            )
        except dm.DataJointError as exc:  # one table's trouble does not stop the others
            log.warning("recovery of %s failed: %s", ref.full_name, exc)
            failed.append({"table": ref.full_name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        jobs += [{"table": ref.full_name, **dataclasses.asdict(r)} for r in found]
    return {
        "recovered": len(jobs),
        "pending": sum(j["outcome"] == "pending" for j in jobs),
        "error": sum(j["outcome"] == "error" for j in jobs),
        "jobs": jobs,
        "failed": failed,
    }
