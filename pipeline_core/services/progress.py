"""Populate progress beyond one table's counts (issue #13): a table's throughput and ETA
(:func:`job_rate`) and the counts of every auto-populated table of a schema
(:func:`schema_progress`) for its live diagram. Read only; built from the database alone
(key_source, the tables, their jobs tables, the audit trail), never from Celery's state.
"""

from __future__ import annotations

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import jobs_stats
from pipeline_core.datamodel.catalog import catalog_of

from .access import check_schema, connection
from .jobs import job_counts, jobs_of

#: Tiers whose tables are populated (and have jobs).
AUTO_TIERS = ("Computed", "Imported")


def remaining_of(counts: dict) -> int:
    """Keys still to compute from :func:`.jobs.job_counts`: pending + reserved + not yet
    queued (errors and ignored keys wait for a person, not for a worker)."""
    return counts["pending"] + counts["reserved"] + counts["not_queued"]


def job_rate(schema: str, table: str, counts: dict | None = None) -> dict:
    """Throughput and ETA of an auto-populated table: ``{"keys_per_minute",
    "window_seconds", "eta_seconds", "completed", "remaining"}``. ``completed`` keys were
    computed in the last ``window_seconds`` (300): those of LabBook workers from the audit
    trail's ``populate`` events, those of DataJoint workers from ``success`` jobs, kept only
    with ``keep_completed`` (:mod:`pipeline_core.datamodel.jobs_stats`);
    ``keys_per_minute`` is ``completed`` over the window; ``eta_seconds`` is ``remaining``
    (:func:`remaining_of`) at that rate, None when nothing was computed in the window.

    Args:
        counts: the table's :func:`.jobs.job_counts` when already read.
    Raises:
        NotFoundError: no such visible table. PopulateError: not Computed/Imported.
    """
    jobs = jobs_of(schema, table)
    counts = counts if counts is not None else job_counts(schema, table)
    found = jobs_stats.throughput(connection(), jobs, settings.LABBOOK_AUDIT_DB)
    remaining = remaining_of(counts)
    eta = found.eta_seconds(remaining)
    return {
        "keys_per_minute": round(found.keys_per_minute, 3),
        "window_seconds": found.window_seconds,
        "eta_seconds": None if eta is None else round(eta, 1),
        "completed": found.completed,
        "remaining": remaining,
    }


def schema_progress(schema: str) -> dict:
    """The counts of every Computed and Imported table of a visible schema, by
    :class:`~pipeline_core.datamodel.TableRef`: ``{ref: {"info": TableInfo, "counts":
    job_counts or None, "problem": text or None}}`` (a table whose counts cannot be read,
    e.g. its key_source fails, has its problem instead of counts; the others go on). One
    progress query and one jobs-count query per table (a 0.14 ``~jobs`` too).

    Raises:
        NotFoundError: no such visible schema.
    """
    check_schema(schema)
    found = {}
    for info in catalog_of(connection()).tables(schema):
        if info.tier not in AUTO_TIERS:
            continue
        try:
            counts, problem = job_counts(schema, info.table_name), None
        except dm.DataJointError as exc:
            counts, problem = None, f"{type(exc).__name__}: {exc}"
        found[info.ref] = {"info": info, "counts": counts, "problem": problem}
    return found
