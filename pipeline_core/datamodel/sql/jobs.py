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
        f"INSERT INTO {jobs_table.sql_name} ({columns}, `status`, `priority`, `scheduled_time`) "
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
        f"SELECT {columns}, `priority` FROM {jobs_table.sql_name} "
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
    jobs_table: TableRef,
    key: dict,
    host: str,
    pid: int,
    connection_id: int,
    user: str,
    target: TableRef | None = None,
    nowait: bool = False,
) -> tuple[str, list]:
    """The atomic reservation (spec §6.4 step 3): affected rows == 1 means reserved.

    With ``target``, a key already in the target is not reserved: the check DataJoint runs
    as a ``SELECT EXISTS`` after reserving (spec §6.4) is part of the same statement, one
    round trip fewer per key (a key computed meanwhile then fails to reserve, and
    :func:`complete_computed` settles its job). The subquery is a locking read, so inside
    a transaction it sees the latest committed rows, not the transaction's snapshot.

    ``nowait`` (MariaDB only): the statement never waits for a row lock; a locked job
    raises lock wait timeout (1205) at once, which rolls back this statement only, never
    the surrounding transaction (``innodb_rollback_on_timeout`` is off by default)."""
    where, params = where_key(key)
    computed = ""
    if target is not None:
        computed = f" AND NOT EXISTS (SELECT 1 FROM {target.sql_name} WHERE {where})"
        params = [*params, *params]
    prefix = "SET STATEMENT innodb_lock_wait_timeout = 0 FOR " if nowait else ""
    return (
        f"{prefix}UPDATE {jobs_table.sql_name} SET `status` = 'reserved', `host` = %s, "
        "`pid` = %s, `connection_id` = %s, `user` = %s, `reserved_time` = CURRENT_TIMESTAMP(3) "
        f"WHERE {where} AND `status` = 'pending' AND `scheduled_time` <= CURRENT_TIMESTAMP(3)"
        f"{computed}",
        [host, pid, connection_id, user, *params],
    )


def unreserve(jobs_table: TableRef, key: dict, connection_id: int) -> tuple[str, list]:
    """Return a reservation this connection holds to ``pending`` (worker fields cleared):
    a key reserved ahead that populate will not compute after all."""
    where, params = where_key(key)
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'pending', `reserved_time` = NULL, "
        "`host` = '', `pid` = 0, `connection_id` = 0 "
        f"WHERE {where} AND `status` = 'reserved' AND `connection_id` = %s",
        [*params, connection_id],
    )


def complete_computed(
    jobs_table: TableRef, target: TableRef, key: dict, keep: bool
) -> tuple[str, list]:
    """The job of a key that is ``pending`` although the key is already in the target
    (computed by someone else after the jobs were refreshed) completes as DataJoint
    completes it when its ``SELECT EXISTS`` finds the key (spec §6.4): deleted, or
    ``success`` when keeping completed jobs."""
    where, params = where_key(key)
    condition = (
        f"WHERE {where} AND `status` = 'pending' "
        f"AND EXISTS (SELECT 1 FROM {target.sql_name} WHERE {where})"
    )
    if not keep:
        return f"DELETE FROM {jobs_table.sql_name} {condition}", [*params, *params]
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'success', "
        f"`completed_time` = CURRENT_TIMESTAMP(3), `duration` = 0 {condition}",
        [*params, *params],
    )


def complete(jobs_table: TableRef, key: dict, duration: float, keep: bool) -> tuple[str, list]:
    """Success: delete the job row, or mark it ``success`` when keeping completed jobs."""
    where, params = where_key(key)
    if not keep:
        return f"DELETE FROM {jobs_table.sql_name} WHERE {where}", params
    return (  # the message of a transient failure retried before (if any) goes
        f"UPDATE {jobs_table.sql_name} SET `status` = 'success', "
        "`completed_time` = CURRENT_TIMESTAMP(3), `duration` = %s, "
        "`error_message` = '', `error_stack` = NULL "
        f"WHERE {where}",
        [duration, *params],
    )


def error(
    jobs_table: TableRef, key: dict, duration: float, message: str, stack: bytes
) -> tuple[str, list]:
    """Failure: status ``error`` with the message and the packed traceback."""
    where, params = where_key(key)
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'error', "
        "`completed_time` = CURRENT_TIMESTAMP(3), "
        "`duration` = %s, `error_message` = %s, `error_stack` = %s "
        f"WHERE {where}",
        [duration, message, stack, *params],
    )


def status_counts(jobs_table: TableRef) -> str:
    """``SELECT status, COUNT(*) ... GROUP BY status`` (spec §6.3, jobs.progress)."""
    return f"SELECT `status`, COUNT(*) FROM {jobs_table.sql_name} GROUP BY `status`"


def progress(key_source: Node, target: TableRef, pk: Sequence[str]) -> tuple[str, list]:
    """Total and remaining keys of key_source in one query (spec §6.1 progress())."""
    inner, params = compile_select(key_source)
    columns = ", ".join(quote(k) for k in pk)
    on = " AND ".join(f"`$ks`.{quote(k)} = `$tgt`.{quote(k)}" for k in pk)
    first = quote(pk[0])
    return (
        f"SELECT COUNT(*), COALESCE(SUM(`$tgt`.{first} IS NULL), 0) FROM ({inner}) AS `$ks` "
        f"LEFT JOIN (SELECT DISTINCT {columns} FROM {target.sql_name}) AS `$tgt` ON {on}",
        params,
    )


# --------------------------------------------------------------------------------------------
# the console (issue #13): listing with filters in keyset pages, and operator actions
# --------------------------------------------------------------------------------------------

#: Job columns listed by the console (``error_stack`` is read one job at a time).
LIST_COLUMNS = (
    "status",
    "priority",
    "created_time",
    "scheduled_time",
    "reserved_time",
    "completed_time",
    "duration",
    "error_message",
    "user",
    "host",
    "pid",
    "connection_id",
    "version",
)


def _like(text: str) -> str:
    """``%text%`` with LIKE's wildcards and escape character taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def selection(
    pk: Sequence[str],
    *,
    statuses: Sequence[str] | None = None,
    host: str | None = None,
    error_contains: str | None = None,
    keys: Sequence[Sequence] | None = None,
) -> tuple[str, list]:
    """The WHERE condition (``"1"`` when unrestricted) selecting jobs: status among
    ``statuses``, exactly ``host``, ``error_message`` containing ``error_contains``
    (literally, case-insensitively as the column's collation), primary key among ``keys``
    (encoded values in ``pk`` order; an empty list selects nothing)."""
    terms: list[str] = []
    params: list = []
    if statuses is not None:
        if not statuses:
            return "0", []
        terms.append(f"`status` IN ({', '.join(['%s'] * len(statuses))})")
        params += list(statuses)
    if host:
        terms.append("`host` = %s")
        params.append(host)
    if error_contains:
        terms.append("`error_message` LIKE %s")
        params.append(_like(error_contains))
    if keys is not None:
        if not keys:
            return "0", []
        one = "(" + " AND ".join(f"{quote(k)} = %s" for k in pk) + ")"
        terms.append("(" + " OR ".join([one] * len(keys)) + ")")
        for key in keys:
            params += list(key)
    return (" AND ".join(f"({t})" for t in terms) or "1"), params


def after_key(pk: Sequence[str], last: Sequence) -> tuple[str, list]:
    """Keyset condition: primary keys strictly after ``last`` in primary-key order,
    expanded (``a > %s OR (a = %s AND b > %s)``) so the server uses the primary index."""
    terms, params = [], []
    for i, name in enumerate(pk):
        equal = [f"{quote(p)} = %s" for p in pk[:i]]
        terms.append("(" + " AND ".join([*equal, f"{quote(name)} > %s"]) + ")")
        params += [*last[:i], last[i]]
    return "(" + " OR ".join(terms) + ")", params


def list_jobs(
    jobs_table: TableRef, pk: Sequence[str], where: tuple[str, list], limit: int
) -> tuple[str, list]:
    """Up to ``limit`` jobs matching ``where`` (from :func:`selection`, possibly AND
    :func:`after_key`) in primary-key order: pk columns then :data:`LIST_COLUMNS`."""
    columns = ", ".join(quote(c) for c in (*pk, *LIST_COLUMNS))
    order = ", ".join(quote(k) for k in pk)
    return (
        f"SELECT {columns} FROM {jobs_table.sql_name} WHERE {where[0]} "
        f"ORDER BY {order} LIMIT {int(limit)}",
        list(where[1]),
    )


def count(jobs_table: TableRef, where: tuple[str, list]) -> tuple[str, list]:
    """``SELECT COUNT(*)`` of the jobs matching ``where``."""
    return f"SELECT COUNT(*) FROM {jobs_table.sql_name} WHERE {where[0]}", list(where[1])


def select_keys(
    jobs_table: TableRef, pk: Sequence[str], where: tuple[str, list], limit: int | None = None
) -> tuple[str, list]:
    """Primary keys of the jobs matching ``where`` (locked ``FOR UPDATE`` for the write that
    follows in the same transaction), at most ``limit``."""
    sql = (
        f"SELECT {', '.join(quote(k) for k in pk)} FROM {jobs_table.sql_name} "
        f"WHERE {where[0]} ORDER BY {', '.join(quote(k) for k in pk)}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql + " FOR UPDATE", list(where[1])


def retry(jobs_table: TableRef, where: tuple[str, list]) -> tuple[str, list]:
    """Error jobs matching ``where`` back to ``pending`` (schedulable now, the error and
    the previous attempt's times cleared; priority kept): what DataJoint 2.x's
    ``populate(reserve_jobs=True)`` takes next (spec §6.3–6.4)."""
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'pending', "
        "`scheduled_time` = CURRENT_TIMESTAMP(3), `reserved_time` = NULL, "
        "`completed_time` = NULL, `duration` = NULL, `error_message` = '', "
        "`error_stack` = NULL, `host` = '', `pid` = 0, `connection_id` = 0, `user` = '' "
        f"WHERE `status` = 'error' AND ({where[0]})",
        list(where[1]),
    )


def ignore(jobs_table: TableRef, where: tuple[str, list]) -> tuple[str, list]:
    """Jobs matching ``where`` that are ``pending`` or ``error`` become ``ignore`` (a
    reserved job finishes first; a success stays)."""
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'ignore' "
        f"WHERE `status` IN ('pending', 'error') AND ({where[0]})",
        list(where[1]),
    )


def insert_ignored(jobs_table: TableRef, pk: Sequence[str], key: Sequence) -> tuple[str, list]:
    """A key not in the jobs table yet, inserted as ``ignore`` (DataJoint's
    ``jobs.ignore(key)``, spec §6.3); an existing row is left as it is."""
    columns = ", ".join(quote(k) for k in pk)
    return (
        f"INSERT INTO {jobs_table.sql_name} ({columns}, `status`, `priority`) "
        f"VALUES ({', '.join(['%s'] * len(pk))}, 'ignore', 5) "
        "ON DUPLICATE KEY UPDATE `status` = `status`",
        list(key),
    )


def unignore(jobs_table: TableRef, where: tuple[str, list]) -> tuple[str, list]:
    """Ignored jobs matching ``where`` are deleted: the key is "not yet queued" again and
    the next populate's refresh adds it as ``pending`` (spec §6.3)."""
    return (
        f"DELETE FROM {jobs_table.sql_name} WHERE `status` = 'ignore' AND ({where[0]})",
        list(where[1]),
    )


def reprioritize(jobs_table: TableRef, where: tuple[str, list], priority: int) -> tuple[str, list]:
    """Set the priority (lower = more urgent, spec §6.3) of the ``pending`` and ``error``
    jobs matching ``where``."""
    return (
        f"UPDATE {jobs_table.sql_name} SET `priority` = %s "
        f"WHERE `status` IN ('pending', 'error') AND ({where[0]})",
        [priority, *where[1]],
    )


def error_stack(jobs_table: TableRef, where: tuple[str, list]) -> tuple[str, list]:
    """The packed ``error_stack`` of the job matching ``where``."""
    return f"SELECT `error_stack` FROM {jobs_table.sql_name} WHERE {where[0]}", list(where[1])


# --------------------------------------------------------------------------------------------
# legacy 0.14 ``~jobs`` (schema-wide, keyed by table_name + key_hash; spec §11)
# --------------------------------------------------------------------------------------------

LEGACY_JOBS = "~jobs"


def legacy_counts(jobs_table: TableRef, table_name: str) -> tuple[str, list]:
    """Counts per status of one table's rows in a 0.14 ``~jobs``."""
    return (
        f"SELECT `status`, COUNT(*) FROM {jobs_table.sql_name} WHERE `table_name` = %s "
        "GROUP BY `status`",
        [table_name],
    )


def legacy_count(ref: TableRef, table_name: str, where: tuple[str, list]) -> tuple[str, list]:
    """``SELECT COUNT(*)`` of a 0.14 schema-wide ``~jobs`` table's rows for one table
    (``table_name``, its raw name) matching ``where`` (a condition from :func:`selection`)."""
    condition, params = where
    return (
        f"SELECT COUNT(*) FROM {ref.sql_name} WHERE `table_name` = %s AND ({condition})",
        [table_name, *params],
    )


def legacy_list(
    jobs_table: TableRef,
    table_name: str,
    where: tuple[str, list],
    after: str | None,
    limit: int,
) -> tuple[str, list]:
    """Up to ``limit`` rows of one table in a 0.14 ``~jobs`` matching ``where`` (a
    :func:`selection` without keys), in ``key_hash`` order after ``after``."""
    sql = (
        "SELECT `key_hash`, `key`, `status`, `error_message`, `user`, `host`, `pid`, "
        f"`connection_id`, `timestamp` FROM {jobs_table.sql_name} "
        f"WHERE `table_name` = %s AND ({where[0]})"
    )
    params = [table_name, *where[1]]
    if after is not None:
        sql += " AND `key_hash` > %s"
        params.append(after)
    return sql + f" ORDER BY `key_hash` LIMIT {int(limit)}", params


def legacy_stack(jobs_table: TableRef, table_name: str, key_hash: str) -> tuple[str, list]:
    """The packed ``error_stack`` of one 0.14 job."""
    return (
        f"SELECT `error_stack` FROM {jobs_table.sql_name} "
        "WHERE `table_name` = %s AND `key_hash` = %s",
        [table_name, key_hash],
    )


def legacy_delete(
    jobs_table: TableRef, table_name: str, where: tuple[str, list]
) -> tuple[str, list]:
    """Delete one table's 0.14 jobs matching ``where`` (0.14: a key without a row is
    available, so deleting an error row retries it)."""
    return (
        f"DELETE FROM {jobs_table.sql_name} WHERE `table_name` = %s AND ({where[0]})",
        [table_name, *where[1]],
    )


# --------------------------------------------------------------------------------------------
# automatic retry of transient errors (issue #13; pipeline_core/datamodel/retry.py)
# --------------------------------------------------------------------------------------------


def _ours(connection_ids: Sequence[int]) -> tuple[str, list]:
    """``status = 'reserved'`` by one of ``connection_ids`` (the worker's link before and
    after a reconnect): the reservation is still this worker's."""
    ids = list(dict.fromkeys(int(i) for i in connection_ids))
    return (
        f"`status` = 'reserved' AND `connection_id` IN ({', '.join(['%s'] * len(ids))})",
        ids,
    )


def defer(
    jobs_table: TableRef,
    key: dict,
    delay_seconds: float,
    message: str,
    stack: bytes,
    connection_ids: Sequence[int],
) -> tuple[str, list]:
    """A reservation of this worker back to ``pending``, schedulable ``delay_seconds``
    from now (server clock, as DataJoint's ``refresh(delay=...)``: spec §6.3, so DataJoint
    2.x workers also wait), worker fields cleared, ``message``/``stack`` saying why; only
    if it is still reserved by one of ``connection_ids`` (one affected row = done)."""
    where, params = where_key(key)
    ours, ids = _ours(connection_ids)
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'pending', "
        "`scheduled_time` = CURRENT_TIMESTAMP(3) + INTERVAL %s MICROSECOND, "
        "`reserved_time` = NULL, `host` = '', `pid` = 0, `connection_id` = 0, "
        "`error_message` = %s, `error_stack` = %s "
        f"WHERE {where} AND {ours}",
        [max(0, round(delay_seconds * 1e6)), message, stack, *params, *ids],
    )


def fail_reserved(
    jobs_table: TableRef,
    key: dict,
    duration: float,
    message: str,
    stack: bytes,
    connection_ids: Sequence[int],
) -> tuple[str, list]:
    """As :func:`error`, only if the job is still reserved by one of ``connection_ids``."""
    where, params = where_key(key)
    ours, ids = _ours(connection_ids)
    return (
        f"UPDATE {jobs_table.sql_name} SET `status` = 'error', "
        "`completed_time` = CURRENT_TIMESTAMP(3), "
        "`duration` = %s, `error_message` = %s, `error_stack` = %s "
        f"WHERE {where} AND {ours}",
        [duration, message, stack, *params, *ids],
    )


def restamp(jobs_table: TableRef, key: dict, old_id: int, new_id: int) -> tuple[str, list]:
    """A reservation made with connection id ``old_id`` (a link lost and reopened during
    the reserving statement) recorded under the new link's id ``new_id``."""
    where, params = where_key(key)
    return (
        f"UPDATE {jobs_table.sql_name} SET `connection_id` = %s "
        f"WHERE {where} AND `status` = 'reserved' AND `connection_id` = %s",
        [new_id, *params, old_id],
    )


def job_states(
    jobs_table: TableRef, pk: Sequence[str], keys: Sequence[Sequence]
) -> tuple[str, list]:
    """For the jobs of ``keys`` (encoded values in ``pk`` order): primary key, ``status``,
    ``connection_id`` and ``wait``, the seconds (server clock) until ``scheduled_time``
    (negative: schedulable now)."""
    where, params = selection(pk, keys=keys)
    columns = ", ".join(quote(k) for k in pk)
    return (
        f"SELECT {columns}, `status`, `connection_id`, "
        "TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(3), `scheduled_time`) / 1e6 AS `wait` "
        f"FROM {jobs_table.sql_name} WHERE {where}",
        params,
    )
