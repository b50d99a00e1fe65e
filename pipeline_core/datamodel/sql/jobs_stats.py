"""SQL of a table's throughput (issue #13, the jobs console): keys computed in a recent
window, counted from LabBook's audit trail (one ``populate`` event per key computed by a
LabBook worker) and from the jobs table's ``success`` rows (spec §6.3: kept only by workers
with ``keep_completed``).

Every value is a parameter; the audit table's name comes from :mod:`.audit`.
"""

from __future__ import annotations

from ..tableref import TableRef
from .audit import EVENT_TABLE
from .quoting import full_name


def audit_bound(audit_db: str) -> str:
    """The id of the newest event of one table older than a time: parameters ``schema,
    table, seconds ago`` (UTC). Read backwards along the index ``(schema_name, table_name,
    event_id)``, it stops at the first old event, so its cost is the table's events since
    then, not its whole history. ``None`` (no row) when every event is newer."""
    return (
        f"SELECT `event_id` FROM {full_name(audit_db, EVENT_TABLE)} "
        "WHERE `schema_name` = %s AND `table_name` = %s "
        "AND `time` < UTC_TIMESTAMP(6) - INTERVAL %s SECOND "
        "ORDER BY `event_id` DESC LIMIT 1"
    )


def audit_completed(audit_db: str) -> str:
    """How many ``populate`` events (keys computed) one table has after an event id and
    within a window: parameters ``schema, table, event id (exclusive; 0 for all), seconds``.
    A separate bound (:func:`audit_bound`) keeps the scan to an index range: MariaDB does
    not use a subquery's value as a range bound."""
    return (
        f"SELECT COUNT(*) FROM {full_name(audit_db, EVENT_TABLE)} "
        "WHERE `schema_name` = %s AND `table_name` = %s AND `event_id` > %s "
        "AND `action` = 'populate' AND `time` >= UTC_TIMESTAMP(6) - INTERVAL %s SECOND"
    )


def jobs_completed(jobs_table: TableRef) -> str:
    """How many ``success`` jobs of a 2.x jobs table completed within a window: parameter
    ``seconds``. ``completed_time`` is the server's ``CURRENT_TIMESTAMP(3)`` of the worker's
    session (spec §6.4), compared here with the same clock."""
    return (
        f"SELECT COUNT(*) FROM {jobs_table.sql_name} WHERE `status` = 'success' "
        "AND `completed_time` >= CURRENT_TIMESTAMP(3) - INTERVAL %s SECOND"
    )
