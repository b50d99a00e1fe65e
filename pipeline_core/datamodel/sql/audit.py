"""SQL of the audit trail (issue #11): the append-only ``event`` table of the audit database
on the pipeline server, one multi-row INSERT of events, and keyset-paged reads.

The table is LabBook's own (DataJoint keeps no record of writes); it is never updated or
deleted from by LabBook (retention belongs to a separate account).
"""

from __future__ import annotations

from collections.abc import Sequence

from .quoting import full_name, quote

#: Columns an event is inserted with, in this order (``event_id`` and ``time`` are the
#: server's: an auto-increment id and ``UTC_TIMESTAMP(6)``, microseconds).
EVENT_COLUMNS = (
    "actor",
    "source",
    "request_id",
    "action",
    "schema_name",
    "table_name",
    "primary_key",
    "key_hash",
    "changes",
    "batch_id",
)
#: The table of events in the audit database.
EVENT_TABLE = "event"


def create_database(database: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS `db```."""
    return f"CREATE DATABASE IF NOT EXISTS {quote(database)}"


def create_event_table(database: str) -> str:
    """``CREATE TABLE IF NOT EXISTS `db`.`event` (...)``: one row per event, InnoDB (so that
    events commit and roll back with the writes they record)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {full_name(database, EVENT_TABLE)} (\n"
        "  `event_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,\n"
        "  `time` DATETIME(6) NOT NULL,\n"
        "  `actor` VARCHAR(255) NOT NULL,\n"
        "  `source` VARCHAR(16) NOT NULL,\n"
        "  `request_id` VARCHAR(64) NULL,\n"
        "  `action` VARCHAR(32) NOT NULL,\n"
        "  `schema_name` VARCHAR(64) NULL,\n"
        "  `table_name` VARCHAR(64) NULL,\n"
        "  `primary_key` LONGTEXT NULL,\n"
        "  `key_hash` BINARY(16) NULL,\n"
        "  `changes` LONGTEXT NULL,\n"
        "  `batch_id` VARCHAR(64) NULL,\n"
        "  PRIMARY KEY (`event_id`),\n"
        "  INDEX (`schema_name`, `table_name`, `key_hash`, `event_id`),\n"
        "  INDEX (`schema_name`, `table_name`, `event_id`),\n"
        "  INDEX (`actor`, `event_id`),\n"
        "  INDEX (`batch_id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='LabBook audit trail (append-only)'"
    )


def insert_events(database: str, count: int) -> str:
    """One ``INSERT`` of ``count`` events, values as parameters in :data:`EVENT_COLUMNS`
    order; the time is the server's clock in UTC (microseconds), whatever the session's
    time zone."""
    row = "(UTC_TIMESTAMP(6), " + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
    columns = ", ".join(quote(c) for c in ("time", *EVENT_COLUMNS))
    return f"INSERT INTO {full_name(database, EVENT_TABLE)} ({columns}) VALUES " + ", ".join(
        [row] * count
    )


def select_events(
    database: str, filters: Sequence[tuple[str, object]], after: int | None, limit: int
) -> tuple[str, list]:
    """The newest events first, ``limit`` of them, optionally before event id ``after``,
    matching every ``(column, value)`` of ``filters`` (columns of the event table; a list or
    tuple value means one of those, an empty one matching nothing).

    Raises:
        ValueError: a filter names a column the table does not have.
    """
    terms, params = [], []
    for column, value in filters:
        if column not in (*EVENT_COLUMNS, "event_id"):
            raise ValueError(f"not a column of the audit events: {column!r}")
        if isinstance(value, (list, tuple)):
            terms.append(
                f"{quote(column)} IN ({', '.join(['%s'] * len(value))})" if value else "FALSE"
            )
            params.extend(value)
        else:
            terms.append(f"{quote(column)} = %s")
            params.append(value)
    if after is not None:
        terms.append("`event_id` < %s")
        params.append(int(after))
    where = f" WHERE {' AND '.join(terms)}" if terms else ""
    return (
        f"SELECT * FROM {full_name(database, EVENT_TABLE)}{where} "
        f"ORDER BY `event_id` DESC LIMIT {int(limit)}",
        params,
    )
