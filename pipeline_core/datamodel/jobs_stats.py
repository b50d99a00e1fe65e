"""Throughput and ETA of an auto-populated table (issue #13, the jobs console).

Keys computed in the last ``window`` seconds are counted from two durable sources, so that
the number survives the workers and holds across processes and machines:

* LabBook's audit trail: every key a LabBook worker computes is one ``populate`` event,
  written in ``make``'s own transaction (:mod:`.audit`, :mod:`.populate`);
* the jobs table's ``success`` rows (spec §6.3): DataJoint workers keep them only with
  ``config.jobs.keep_completed = True``; otherwise a finished job's row is deleted and
  nothing durable tells when the key was computed, so such workers are not counted.

The two are added: LabBook's workers delete their finished jobs (they never keep
``success`` rows), so a key is counted once. A 0.14 ``~jobs`` keeps no finished jobs
(spec §11): only the audit trail counts there.
"""

from __future__ import annotations

import dataclasses

from .sql import audit as audit_sql
from .sql import introspection
from .sql import jobs_stats as sql
from .tableref import TableRef

#: Seconds of the window keys are counted in (the rate is keys in it / its length).
RATE_WINDOW = 300
#: Extra seconds read before the window when looking for its first audit event: events are
#: numbered in the order they are written, and their times may disagree by a little.
SLACK = 60


@dataclasses.dataclass(frozen=True)
class Throughput:
    """Keys computed in the last ``window_seconds``.

    Attributes:
        completed: keys computed in the window (``from_audit + from_jobs``).
        window_seconds: the window's length in seconds.
        from_audit: keys LabBook workers computed (audit ``populate`` events).
        from_jobs: ``success`` jobs completed in the window (workers keeping them).
    """

    completed: int
    window_seconds: int
    from_audit: int = 0
    from_jobs: int = 0

    @property
    def keys_per_minute(self) -> float:
        """``completed`` over the window's length, in keys per minute."""
        return self.completed * 60.0 / self.window_seconds

    def eta_seconds(self, remaining: int) -> float | None:
        """Seconds until ``remaining`` keys are computed at this rate, or None when
        nothing was computed in the window (no rate to go by)."""
        if not self.completed:
            return None
        return remaining * self.window_seconds / self.completed


def _audit_exists(conn, audit_db: str) -> bool:
    if f"audit:{audit_db}" in conn.prepared:  # the trail made sure of it on this connection
        return True
    return introspection.table_exists(conn, audit_db, audit_sql.EVENT_TABLE)


def audit_completed(conn, target: TableRef, audit_db: str, window: int) -> int:
    """Keys of ``target`` computed by LabBook workers in the last ``window`` seconds: its
    ``populate`` events in ``audit_db`` (0 before the audit table exists). Two index range
    reads whose cost is the table's events in the window, whatever its history."""
    if not _audit_exists(conn, audit_db):
        return 0
    place = [target.database, target.table]
    row = conn.query(sql.audit_bound(audit_db), [*place, window + SLACK]).fetchone()
    bound = int(row[0]) if row else 0
    return int(conn.query(sql.audit_completed(audit_db), [*place, bound, window]).fetchone()[0])


def throughput(conn, jobs, audit_db: str | None, window: int = RATE_WINDOW) -> Throughput:
    """The :class:`Throughput` of the table whose jobs are ``jobs`` (a
    :class:`.jobs.JobTable` or :class:`.jobs.LegacyJobTable`), from the audit trail in
    ``audit_db`` (None: not counted) and the 2.x jobs table's kept ``success`` rows.

    Raises:
        ValueError: ``window`` is not a positive number of seconds.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        raise ValueError(f"the window is a positive number of seconds, not {window!r}")
    from_audit = audit_completed(conn, jobs.target.ref, audit_db, window) if audit_db else 0
    from_jobs = 0
    if not jobs.legacy and jobs.exists():
        from_jobs = int(conn.query(sql.jobs_completed(jobs.ref), [window]).fetchone()[0])
    return Throughput(from_audit + from_jobs, window, from_audit, from_jobs)
