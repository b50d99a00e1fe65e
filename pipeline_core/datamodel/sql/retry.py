"""SQL of the transient-failure counter (issue #13): LabBook's ``transient_attempt`` table in
the audit database, beside ``recovery_attempt`` (:mod:`.recovery`), counting per job key the
transient failures of ``make`` that were retried. DataJoint's jobs table is never altered.
"""

from __future__ import annotations

from .quoting import full_name
from .recovery import create_counter_table

#: Transient failures of a job key that were retried (or ended the key as an error).
TRANSIENT_TABLE = "transient_attempt"


def create_table(database: str) -> str:
    """``CREATE TABLE IF NOT EXISTS `db`.`transient_attempt```: per job key (schema, jobs
    table, MD5 of the key's canonical JSON) the transient failures counted so far."""
    return create_counter_table(
        database, TRANSIENT_TABLE, "LabBook transient failures of populate jobs"
    )


def attempts(database: str) -> str:
    """The transient failures of one key so far, locked (parameters: schema, table, key
    hash)."""
    return (
        f"SELECT `attempts` FROM {full_name(database, TRANSIENT_TABLE)} "
        "WHERE `schema_name` = %s AND `table_name` = %s AND `key_hash` = %s FOR UPDATE"
    )


def count(database: str) -> str:
    """Add one transient failure of a key (parameters: schema, table, key hash, key JSON)."""
    return (
        f"INSERT INTO {full_name(database, TRANSIENT_TABLE)} "
        "(`schema_name`, `table_name`, `key_hash`, `primary_key`, `attempts`, `last_time`) "
        "VALUES (%s, %s, %s, %s, 1, UTC_TIMESTAMP(6)) "
        "ON DUPLICATE KEY UPDATE `attempts` = `attempts` + 1, `last_time` = UTC_TIMESTAMP(6)"
    )


def forget(database: str) -> str:
    """Drop one key's count (parameters: schema, table, key hash): its job ended, so a
    person's retry of it starts with every retry again."""
    return (
        f"DELETE FROM {full_name(database, TRANSIENT_TABLE)} "
        "WHERE `schema_name` = %s AND `table_name` = %s AND `key_hash` = %s"
    )
