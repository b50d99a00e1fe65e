"""The jobs console's use cases (issue #13): a table's jobs in filtered keyset pages with
counts, and the operator's actions on them (retry, ignore/unignore, reprioritise), each
with a dry-run count. Jobs are those of the DataJoint 2.x jobs table ``~~<table>`` (spec
§6), or, for a legacy 0.14 pipeline, the table's rows of the schema-wide ``~jobs`` (spec
§11). Every change is recorded in the audit trail (actions ``retry_jobs``, ``ignore_jobs``,
``unignore_jobs``, ``reprioritize_jobs``, one event per job key, filed under the table).
"""

from __future__ import annotations

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.jobs import JOB_STATUSES, job_table

from .access import connection, require, table_info
from .audit import writer
from .recovery import recover_stale

#: Jobs per page, and the most one page may hold.
JOBS_PAGE = 50
MAX_JOBS_PAGE = 500


def _target(schema: str, table: str):
    """An instance of the auto-populated table ``schema``.``table``.

    Raises:
        NotFoundError: no such visible table. PopulateError: not Computed/Imported.
    """
    info = table_info(schema, table)
    if info.tier not in ("Computed", "Imported"):
        raise dm.PopulateError(
            f"{info.full_name} is a {info.tier or 'non-DataJoint'} table: only Computed and "
            "Imported tables have jobs",
            table=info.full_name,
        )
    return dm.table_class(connection(), schema, info.table_name)()


def jobs_of(schema: str, table: str):
    """The jobs of a table (:func:`pipeline_core.datamodel.jobs.job_table`)."""
    return job_table(_target(schema, table))


def job_counts(schema: str, table: str) -> dict:
    """Counts of the table's jobs: ``pending, reserved, success, error, ignore, total``,
    ``not_queued`` (keys of key_source that are neither in the table nor in its jobs:
    key_source − target − jobs, never below 0), ``keys`` (key_source size), ``done``
    (rows computed), ``percent`` (done / keys, 0–100) and ``legacy`` (a 0.14 ``~jobs``).
    """
    target = _target(schema, table)
    jobs = job_table(target)
    counts = jobs.progress()
    remaining, total = target.progress()
    queued = counts["pending"] + counts["reserved"] + counts["error"] + counts["ignore"]
    done = total - remaining
    return {
        **counts,
        "keys": total,
        "done": done,
        "not_queued": max(0, remaining - queued),
        "percent": round(100 * done / total, 1) if total else 100.0,
        "legacy": jobs.legacy,
    }


def list_jobs(
    schema: str,
    table: str,
    *,
    status: str | None = None,
    host: str | None = None,
    error: str | None = None,
    after: dict | None = None,
    limit: int = JOBS_PAGE,
) -> dict:
    """One keyset page of a table's jobs in key order: ``{"jobs": [job, ...], "next": key
    or None, "counts": job_counts}``; a job as :meth:`JobTable.page` gives it. Filters:
    ``status`` (one of the five, or comma-separated several), ``host`` (exact), ``error``
    (text the error message contains).

    Raises:
        QueryError: an unknown status or a malformed ``after`` key (400).
        NotFoundError, PopulateError: see :func:`_target`.
    """
    statuses = [s for s in (status or "").split(",") if s] or None
    if statuses:
        unknown = [s for s in statuses if s not in JOB_STATUSES]
        if unknown:
            raise dm.QueryError(f"unknown job status {unknown[0]!r}: one of {JOB_STATUSES}")
    limit = min(max(1, int(limit)), MAX_JOBS_PAGE)
    jobs = jobs_of(schema, table)
    page, next_key = jobs.page(
        statuses=statuses, host=host or None, error_contains=error or None, after=after, limit=limit
    )
    return {"jobs": page, "next": next_key, "counts": job_counts(schema, table)}


def job_traceback(schema: str, table: str, key: dict) -> str | None:
    """The full traceback recorded for one job, or None (no such job, or no stack)."""
    jobs = jobs_of(schema, table)
    if not jobs.exists():
        return None
    if jobs.legacy:
        return jobs.error_stack(key)
    return jobs.error_stack({k: key[k] for k in jobs.primary_key if k in key})


def _selection(keys, all_errors: bool, error_contains: str | None) -> dict:
    """Exactly one of the three ways to name error jobs.

    Raises:
        QueryError: none or several given.
    """
    given = [keys is not None, bool(all_errors), bool(error_contains)]
    if sum(given) != 1:
        raise dm.QueryError("name the jobs by exactly one of keys, all_errors, error_contains")
    if keys is not None and not isinstance(keys, list):
        raise dm.QueryError("keys is a list of job keys")
    return {"keys": keys, "error_contains": error_contains or None}


def retry_jobs(
    schema: str,
    table: str,
    user,
    *,
    keys: list[dict] | None = None,
    all_errors: bool = False,
    error_contains: str | None = None,
    dry_run: bool = False,
) -> int:
    """Retry error jobs (role ``operator``, action ``retry``): those of ``keys``, every
    error (``all_errors``) or errors whose message contains ``error_contains``; they
    become ``pending`` (0.14: their rows are deleted), so the next populate, LabBook's or
    plain DataJoint's, computes them. Returns the number (that would be) retried.

    Raises:
        RoleRequired (403) / NotFoundError (404): the user may not. QueryError: a bad
        selection or key. DataJointError: no actor for the audit trail.
    """
    require(user, "retry", schema)
    selection = _selection(keys, all_errors, error_contains)
    jobs = jobs_of(schema, table)
    if not dry_run:
        writer()
    return jobs.retry(**selection, dry_run=dry_run)


def _modern(jobs):
    if jobs.legacy:
        raise dm.PopulateError(
            "a DataJoint 0.14 ~jobs table has no ignore/priority changes here (retry only)",
            table=jobs.target.full_table_name,
        )
    return jobs


def ignore_jobs(
    schema: str,
    table: str,
    user,
    *,
    keys: list[dict],
    unignore: bool = False,
    dry_run: bool = False,
) -> int:
    """Ignore the jobs of ``keys`` (role ``operator``, action ``ignore``): pending and
    error jobs become ``ignore``, keys without a job are added as ``ignore``; with
    ``unignore`` their ``ignore`` rows are removed (queued again by the next populate).
    Returns the number (that would be) changed.

    Raises:
        RoleRequired / NotFoundError: the user may not. QueryError: a bad key.
        PopulateError: a 0.14 table.
    """
    require(user, "ignore", schema)
    if not isinstance(keys, list) or not keys:
        raise dm.QueryError("keys is a non-empty list of job keys")
    jobs = _modern(jobs_of(schema, table))
    if not dry_run:
        writer()
    return jobs.ignore(keys, unignore=unignore, dry_run=dry_run)


def reprioritize_jobs(
    schema: str,
    table: str,
    user,
    *,
    priority: int,
    keys: list[dict] | None = None,
    dry_run: bool = False,
) -> int:
    """Set the priority of pending/error jobs (``keys``, or all when None; role
    ``operator``, action ``populate``); lower runs sooner (spec §6.3). Returns the number
    (that would be) changed.

    Raises:
        RoleRequired / NotFoundError: the user may not. QueryError: a bad key or a
        priority outside -128..127. PopulateError: a 0.14 table.
    """
    require(user, "populate", schema)
    jobs = _modern(jobs_of(schema, table))
    if not dry_run:
        writer()
    return jobs.reprioritize(priority, keys=keys, dry_run=dry_run)


def reset_stale_jobs(schema: str, table: str, user, *, dry_run: bool = False) -> dict:
    """Reset the table's stale reservations (role ``operator``, action ``populate``, as
    ``manage.py pipeline recover``): ``reserved`` jobs whose worker is gone return to
    ``pending``, or become ``error`` "worker lost" once returned ``LABBOOK_MAX_ATTEMPTS``
    times (:func:`.recovery.recover_stale`; each a ``recover`` audit event). A 0.14
    ``~jobs`` is not recovered (nothing found). Returns ``{"count", "pending", "error"}``:
    the jobs (that would be) reset, and how many of them go to each status.

    Raises:
        RoleRequired / NotFoundError: the user may not. PopulateError: not an
        auto-populated table, or its recovery failed (the reason given).
        DataJointError: no actor for the audit trail.
    """
    require(user, "populate", schema)
    target = _target(schema, table)
    result = recover_stale(schema, target.table_name, dry_run=dry_run)
    if result["failed"]:
        raise dm.PopulateError(
            f"the stale reservations could not be read: {result['failed'][0]['error']}",
            table=target.full_table_name,
        )
    return {"count": result["recovered"], "pending": result["pending"], "error": result["error"]}
