"""SQL of the 2.x jobs table ``~~<name>`` (spec §6.2–6.4): refresh, reserve, complete,
error, progress. Reservation is one conditional UPDATE judged by its row count."""

from __future__ import annotations

from collections.abc import Sequence

from ..nodes import Node
from ..tableref import TableRef
from .compiler import compile_select
from .dml import where_key
from .quoting import quote


def refresh(
    jobs_table: TableRef, keys_todo: Node, pk: Sequence[str], priority: int, delay_seconds: int
) -> tuple[str, list]:
    """One ``INSERT ... SELECT`` adding every key of ``keys_todo`` (a query tree whose
    heading is exactly ``pk``) as ``pending``; existing job rows are left untouched."""
    inner, params = compile_select(keys_todo)
    columns = ", ".join(quote(k) for k in pk)
    return (
        f"INSERT INTO {jobs_table.full_name} ({columns}, `status`, `priority`, `scheduled_time`) "
        f"SELECT {columns}, 'pending', %s, CURRENT_TIMESTAMP(3) + INTERVAL %s SECOND "
        f"FROM ({inner}) AS `$todo` "
        f"ON DUPLICATE KEY UPDATE `status` = `status`",
        [priority, delay_seconds, *params],  # in the order of the placeholders
    )


def pending(
    jobs_table: TableRef,
    pk: Sequence[str],
    max_priority: int | None,
    limit: int | None,
    keys_todo: Node | None = None,
) -> tuple[str, list]:
    """Pending, schedulable keys (and their ``priority``) in processing order (priority,
    then scheduled time); with
    ``keys_todo`` (a query tree whose heading is ``pk``: a restricted populate) only those
    among its keys."""
    params: list = []
    columns = ", ".join(quote(k) for k in pk)
    sql = (
        f"SELECT {columns}, `priority` FROM {jobs_table.full_name} "
        "WHERE `status` = 'pending' AND `scheduled_time` <= CURRENT_TIMESTAMP(3)"
    )
    if keys_todo is not None:
        inner, inner_params = compile_select(keys_todo)
        sql += f" AND ({columns}) IN (SELECT {columns} FROM ({inner}) AS `$todo`)"
        params += inner_params
    if max_priority is not None:
        sql += " AND `priority` <= %s"
        params.append(max_priority)
    sql += " ORDER BY `priority` ASC, `scheduled_time` ASC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def reserve(
    jobs_table: TableRef, key: dict, host: str, pid: int, connection_id: int, user: str
) -> tuple[str, list]:
    """The atomic reservation (spec §6.4 step 3): affected rows == 1 means reserved."""
    where, params = where_key(key)
    return (
        f"UPDATE {jobs_table.full_name} SET `status` = 'reserved', `host` = %s, `pid` = %s, "
        "`connection_id` = %s, `user` = %s, `reserved_time` = CURRENT_TIMESTAMP(3) "
        f"WHERE {where} AND `status` = 'pending' AND `scheduled_time` <= CURRENT_TIMESTAMP(3)",
        [host, pid, connection_id, user, *params],
    )


def complete(jobs_table: TableRef, key: dict, duration: float, keep: bool) -> tuple[str, list]:
    """Success: delete the job row, or mark it ``success`` when keeping completed jobs."""
    where, params = where_key(key)
    if not keep:
        return f"DELETE FROM {jobs_table.full_name} WHERE {where}", params
    return (
        f"UPDATE {jobs_table.full_name} SET `status` = 'success', "
        "`completed_time` = CURRENT_TIMESTAMP(3), `duration` = %s "
        f"WHERE {where}",
        [duration, *params],
    )


def error(
    jobs_table: TableRef, key: dict, duration: float, message: str, stack: bytes
) -> tuple[str, list]:
    """Failure: status ``error`` with the message and the packed traceback."""
    where, params = where_key(key)
    return (
        f"UPDATE {jobs_table.full_name} SET `status` = 'error', "
        "`completed_time` = CURRENT_TIMESTAMP(3), "
        "`duration` = %s, `error_message` = %s, `error_stack` = %s "
        f"WHERE {where}",
        [duration, message, stack, *params],
    )


def status_counts(jobs_table: TableRef) -> str:
    """``SELECT status, COUNT(*) ... GROUP BY status`` (spec §6.3, jobs.progress)."""
    return f"SELECT `status`, COUNT(*) FROM {jobs_table.full_name} GROUP BY `status`"


def progress(key_source: Node, target: TableRef, pk: Sequence[str]) -> tuple[str, list]:
    """Total and remaining keys of key_source in one query (spec §6.1 progress())."""
    inner, params = compile_select(key_source)
    columns = ", ".join(quote(k) for k in pk)
    on = " AND ".join(f"`$ks`.{quote(k)} = `$tgt`.{quote(k)}" for k in pk)
    first = quote(pk[0])
    return (
        f"SELECT COUNT(*), COALESCE(SUM(`$tgt`.{first} IS NULL), 0) FROM ({inner}) AS `$ks` "
        f"LEFT JOIN (SELECT DISTINCT {columns} FROM {target.full_name}) AS `$tgt` ON {on}",
        params,
    )
