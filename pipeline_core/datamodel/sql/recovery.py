"""SQL of dead-worker recovery (issue #13 part 2): LabBook's ``worker`` heartbeat table and
``recovery_attempt`` counter in the audit database, the ``reserved`` jobs of a 2.x jobs
table ``~~<name>`` (spec §6.2) with their worker's heartbeat, the server's process list, and
the conditional UPDATEs that return a stale job to ``pending`` or mark it ``error``.

Every value is a parameter; DataJoint's jobs table is only read and updated, never altered.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..tableref import TableRef
from .dml import where_key
from .quoting import full_name, quote

#: Heartbeats of LabBook worker processes (one row per host and pid).
WORKER_TABLE = "worker"
#: How many times a job key was returned to pending after its worker was lost.
ATTEMPT_TABLE = "recovery_attempt"


def create_worker_table(database: str) -> str:
    """``CREATE TABLE IF NOT EXISTS `db`.`worker```: host, pid, the pipeline connection's
    id, run id, current key (JSON), first and last seen (UTC, µs)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {full_name(database, WORKER_TABLE)} (\n"
        "  `host` VARCHAR(255) NOT NULL,\n"
        "  `pid` INT NOT NULL,\n"
        "  `connection_id` BIGINT NOT NULL,\n"
        "  `run_id` VARCHAR(64) NULL,\n"
        "  `current_table` VARCHAR(200) NULL,\n"
        "  `current_key` LONGTEXT NULL,\n"
        "  `started` DATETIME(6) NOT NULL,\n"
        "  `last_seen` DATETIME(6) NOT NULL,\n"
        "  PRIMARY KEY (`host`, `pid`),\n"
        "  INDEX (`connection_id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='LabBook worker heartbeats'"
    )


def create_attempt_table(database: str) -> str:
    """``CREATE TABLE IF NOT EXISTS `db`.`recovery_attempt```: per job key (schema, jobs
    table, MD5 of the key's canonical JSON) the number of recoveries."""
    return create_counter_table(database, ATTEMPT_TABLE, "LabBook recoveries of lost jobs")


def create_counter_table(database: str, table: str, comment: str) -> str:
    """``CREATE TABLE IF NOT EXISTS `db`.`table```: a count per job key (schema, jobs table,
    MD5 of the key's canonical JSON, the key's JSON) with the time of the last one; the
    shape of LabBook's ``recovery_attempt`` and ``transient_attempt`` (``comment`` is a
    constant of this layer, never user text)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {full_name(database, table)} (\n"
        "  `schema_name` VARCHAR(64) NOT NULL,\n"
        "  `table_name` VARCHAR(64) NOT NULL,\n"
        "  `key_hash` BINARY(16) NOT NULL,\n"
        "  `primary_key` LONGTEXT NOT NULL,\n"
        "  `attempts` INT NOT NULL,\n"
        "  `last_time` DATETIME(6) NOT NULL,\n"
        "  PRIMARY KEY (`schema_name`, `table_name`, `key_hash`)\n"
        f") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='{comment}'"
    )


def heartbeat(database: str) -> str:
    """Insert or update one worker's row; parameters: host, pid, connection_id, run_id,
    current_table, current_key (JSON or None). Times are the server's clock in UTC;
    ``started`` (first seen) starts again when the connection id changes (a new process
    with a reused pid, or a reconnection): assignments run left to right, so it is
    compared before ``connection_id`` is replaced."""
    return (
        f"INSERT INTO {full_name(database, WORKER_TABLE)} "
        "(`host`, `pid`, `connection_id`, `run_id`, `current_table`, `current_key`, "
        "`started`, `last_seen`) VALUES (%s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6), "
        "UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE "
        "`started` = IF(`connection_id` = VALUES(`connection_id`), `started`, VALUES(`started`)), "
        "`connection_id` = VALUES(`connection_id`), "
        "`run_id` = VALUES(`run_id`), `current_table` = VALUES(`current_table`), "
        "`current_key` = VALUES(`current_key`), `last_seen` = VALUES(`last_seen`)"
    )


def workers(database: str, recent: bool = False) -> str:
    """Every heartbeat row with its age in seconds (``age``); ``recent``: only the rows
    seen within a number of microseconds (one parameter)."""
    where = " WHERE `last_seen` >= UTC_TIMESTAMP(6) - INTERVAL %s MICROSECOND" if recent else ""
    return (
        "SELECT `host`, `pid`, `connection_id`, `run_id`, `current_table`, `current_key`, "
        "`started`, `last_seen`, "
        "TIMESTAMPDIFF(MICROSECOND, `last_seen`, UTC_TIMESTAMP(6)) / 1e6 AS `age` "
        f"FROM {full_name(database, WORKER_TABLE)}{where} ORDER BY `host`, `pid`"
    )


def prune_workers(database: str) -> str:
    """Delete the heartbeat rows not seen for a number of microseconds (one parameter)."""
    return (
        f"DELETE FROM {full_name(database, WORKER_TABLE)} "
        "WHERE `last_seen` < UTC_TIMESTAMP(6) - INTERVAL %s MICROSECOND"
    )


def reserved_jobs(jobs_table: TableRef, pk: Sequence[str], worker_db: str | None) -> str:
    """The ``reserved`` jobs: primary key, ``host``, ``pid``, ``connection_id``,
    ``reserved_time``, ``reserved_age`` (seconds, server clock) and ``heartbeat_age``
    (seconds since the matching worker's last heartbeat, same host, pid and connection id;
    NULL without one, or when ``worker_db`` is None: no heartbeat table yet)."""
    columns = ", ".join(f"`j`.{quote(k)}" for k in pk)
    age = "TIMESTAMPDIFF(MICROSECOND, `j`.`reserved_time`, CURRENT_TIMESTAMP(6)) / 1e6"
    if worker_db is None:
        beat, join = "NULL", ""
    else:
        beat = "TIMESTAMPDIFF(MICROSECOND, `w`.`last_seen`, UTC_TIMESTAMP(6)) / 1e6"
        join = (
            f" LEFT JOIN {full_name(worker_db, WORKER_TABLE)} AS `w` ON `w`.`host` = `j`.`host` "
            "AND `w`.`pid` = `j`.`pid` AND `w`.`connection_id` = `j`.`connection_id`"
        )
    return (
        f"SELECT {columns}, `j`.`host`, `j`.`pid`, `j`.`connection_id`, `j`.`reserved_time`, "
        f"{age} AS `reserved_age`, {beat} AS `heartbeat_age` "
        f"FROM {jobs_table.sql_name} AS `j`{join} WHERE `j`.`status` = 'reserved'"
    )


def process_ids() -> str:
    """The ids of the server's connections (``information_schema.PROCESSLIST``; every
    connection only with the PROCESS privilege, else the account's own)."""
    return "SELECT `ID` FROM information_schema.PROCESSLIST"


def release(jobs_table: TableRef, key: dict, connection_id: int, reserved_time) -> tuple:
    """Return one reservation to ``pending`` (worker fields cleared), only if it is still
    the same reservation (status, connection id and reserved time unchanged): one
    affected row means done."""
    where, params = where_key(key)
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'pending', `reserved_time` = NULL, "
        "`host` = '', `pid` = 0, `connection_id` = 0 "
        f"WHERE {where} AND `status` = 'reserved' AND `connection_id` = %s "
        "AND `reserved_time` <=> %s",
        [*params, connection_id, reserved_time],
    )


def lose(
    jobs_table: TableRef, key: dict, connection_id: int, reserved_time, message: str, stack
) -> tuple:
    """Mark one reservation ``error`` with ``message`` (same condition as :func:`release`)."""
    where, params = where_key(key)
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'error', "
        "`completed_time` = CURRENT_TIMESTAMP(3), `error_message` = %s, `error_stack` = %s "
        f"WHERE {where} AND `status` = 'reserved' AND `connection_id` = %s "
        "AND `reserved_time` <=> %s",
        [message, stack, *params, connection_id, reserved_time],
    )


def attempts(database: str) -> str:
    """The recoveries of one key so far, locked (parameters: schema, table, key hash)."""
    return (
        f"SELECT `attempts` FROM {full_name(database, ATTEMPT_TABLE)} "
        "WHERE `schema_name` = %s AND `table_name` = %s AND `key_hash` = %s FOR UPDATE"
    )


def count_attempt(database: str) -> str:
    """Add one recovery of a key (parameters: schema, table, key hash, key JSON)."""
    return (
        f"INSERT INTO {full_name(database, ATTEMPT_TABLE)} "
        "(`schema_name`, `table_name`, `key_hash`, `primary_key`, `attempts`, `last_time`) "
        "VALUES (%s, %s, %s, %s, 1, UTC_TIMESTAMP(6)) "
        "ON DUPLICATE KEY UPDATE `attempts` = `attempts` + 1, `last_time` = UTC_TIMESTAMP(6)"
    )
