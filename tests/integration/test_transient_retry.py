"""Automatic retry of transient make() failures (issue #13): real lock wait timeouts,
deadlocks and killed connections on the MariaDB server, the classifier on the drivers' own
exceptions, the cap counted in ``transient_attempt``, and errors that are never retried."""

from __future__ import annotations

import contextlib
import random
import threading
import time

import MySQLdb
import pymysql
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit, errors, recovery, transient
from pipeline_core.datamodel.expression import table_expression
from pipeline_core.datamodel.sql import retry as retry_sql
from pipeline_core.datamodel.transient import RetryPolicy, transient_reason

pytestmark = pytest.mark.integration

FAST = dict(retries=3, backoff=0.05)
#: Seconds between two looks at INNODB_TRX (see :func:`lock_waiting`).
LOCK_POLL = 0.15


def declare(conn, database: str, hook=None):
    """``Source`` and ``Result`` (value = 2 * source_id) whose make() calls
    ``hook(table, key, call_number)`` first, writes the key's row of the table
    ``resource`` (which another connection may hold: :func:`hold_resource`) and logs its
    key in ``commit_log`` inside its transaction (only committed attempts leave a row).
    ``Result.calls``: make()'s calls."""
    schema = dm.Schema(database, connection=conn)
    log = f"`{database}`.`commit_log`"
    resource = f"`{database}`.`resource`"

    @schema
    class Source(dm.Manual):
        definition = """
        source_id: int32
        """

    @schema
    class Result(dm.Computed):
        definition = """
        -> Source
        ---
        value: int32
        """
        calls: list = []

        def make(self, key):
            Result.calls.append(key["source_id"])
            if hook is not None:
                hook(self, key, len(Result.calls))
            self.insert1(dict(key, value=2 * key["source_id"]))
            self.connection.query(
                f"INSERT INTO {resource} (source_id, uses) VALUES (%s, 1) "
                "ON DUPLICATE KEY UPDATE uses = uses + 1",
                [key["source_id"]],
            )
            self.connection.query(f"INSERT INTO {log} (source_id) VALUES (%s)", [key["source_id"]])

    conn.query(f"CREATE TABLE {log} (id INT AUTO_INCREMENT PRIMARY KEY, source_id INT)")
    conn.query(f"CREATE TABLE {resource} (source_id INT PRIMARY KEY, uses INT) ENGINE=InnoDB")
    Result.calls = []
    return Source, Result


def committed(conn, result) -> list[int]:
    """source_id of every committed make() (from ``commit_log``)."""
    rows = conn.query(f"SELECT source_id FROM `{result.database}`.`commit_log` ORDER BY id")
    return [int(r[0]) for r in rows.fetchall()]


def job_rows(result) -> list[dict]:
    return table_expression(result.connection, result.jobs.ref).to_dicts()


def attempts(conn, audit_db: str) -> list[tuple]:
    """(table_name, primary_key JSON, attempts) of the transient counter."""
    table = f"`{audit_db}`.`{retry_sql.TRANSIENT_TABLE}`"
    exists = conn.query(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = %s",
        [audit_db, retry_sql.TRANSIENT_TABLE],
    ).fetchone()[0]
    if not exists:
        return []
    rows = conn.query(f"SELECT table_name, primary_key, attempts FROM {table}").fetchall()
    return [tuple(r) for r in rows]


def with_trail(conn, audit_db: str) -> audit.AuditTrail:
    trail = audit.AuditTrail(audit_db, audit.AuditContext("tester", "worker", "req-1"))
    trail.ensure(conn)
    conn.audit = trail
    return trail


def hold_target_row(holder, result, source_id: int) -> None:
    """Connection ``holder`` inserts ``source_id``'s target row without committing: a row
    lock that make()'s own insert waits for (``holder.rollback()`` releases it). Without
    a jobs table only: a reservation reads the target too (a locking read) and would
    wait as well."""
    holder.autocommit(False)
    holder.cursor().execute(
        f"INSERT INTO {result.full_table_name} (source_id, value) VALUES (%s, -1)", [source_id]
    )


def hold_resource(holder, result, source_id: int) -> None:
    """Connection ``holder`` inserts ``source_id``'s row of ``resource`` without
    committing: a row lock that make()'s write of that row waits for (and nothing else
    populate does); ``holder.rollback()`` releases it."""
    holder.autocommit(False)
    holder.cursor().execute(
        f"INSERT INTO `{result.database}`.`resource` (source_id, uses) VALUES (%s, 0)",
        [source_id],
    )


def wait_until(predicate, what: str, timeout: float = 30.0, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(every)


def lock_waiting(monitor, connection_id: int) -> bool:
    """True when connection ``connection_id``'s transaction waits for a lock. InnoDB
    refreshes ``INNODB_TRX`` only when it was last read over 0.1 s ago: ask less often
    (``wait_until(..., every=LOCK_POLL)``)."""
    with monitor.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = %s AND trx_state = 'LOCK WAIT'",
            [connection_id],
        )
        return bool(cur.fetchone()[0])


# --------------------------------------------------------------------------------------------
# lock wait timeout (1205)
# --------------------------------------------------------------------------------------------


def test_lock_wait_timeout_defers_the_job_then_computes_the_key_once(dm_conn, new_db, dj_connect):
    audit_db = new_db("audit")
    source, result = declare(dm_conn, new_db("tr"))
    source.insert1({"source_id": 1})
    with_trail(dm_conn, audit_db)
    dm_conn.query("SET SESSION innodb_lock_wait_timeout = 1")
    holder = dj_connect()
    hold_resource(holder, result, 1)  # a row make() writes
    seen = {}

    def before(key):
        if len(result.calls) == 1:  # the retry is about to run: look at the deferral
            [job] = job_rows(result)
            seen["job"] = job
            seen["attempts"] = attempts(dm_conn, audit_db)
            seen["events"] = audit.read_events(dm_conn, audit_db, table=result.ref)
            holder.rollback()  # the other connection lets go

    outcomes = []
    try:
        out = result.populate(
            reserve_jobs=True,
            suppress_errors=True,
            before_key=before,
            on_key=lambda key, outcome: outcomes.append((key["source_id"], outcome)),
            retry=RetryPolicy(**FAST, database=audit_db),
        )
    finally:
        holder.close()
        dm_conn.audit = None
    assert out == {"success_count": 1, "error_list": []}
    assert outcomes == [(1, "success")]  # the deferred attempt is no outcome
    assert result.calls == [1, 1] and committed(dm_conn, result) == [1]
    assert result.to_dicts() == [{"source_id": 1, "value": 2}]
    # the deferral: pending, scheduled after the failure, reserved again only then
    job = seen["job"]
    assert job["status"] == "reserved"
    assert job["error_message"].startswith("transient error (lock wait timeout), retry 1 of 3")
    assert "Lock wait timeout exceeded" in job["error_message"]
    assert job["reserved_time"] >= job["scheduled_time"] > job["created_time"]
    assert [(t, n) for t, _, n in seen["attempts"]] == [(result.jobs.table_name, 1)]
    [event] = seen["events"]
    assert event["action"] == "retry_transient" and event["key"] == {"source_id": 1}
    assert event["changes"]["status"] == ["reserved", "pending"]
    assert event["changes"]["reason"] == "lock wait timeout"
    assert (event["changes"]["retry"], event["changes"]["retries"]) == (1, 3)
    # afterwards: no job left, the count forgotten, the computed key recorded
    assert job_rows(result) == [] and attempts(dm_conn, audit_db) == []
    actions = [e["action"] for e in audit.read_events(dm_conn, audit_db, table=result.ref)]
    assert actions == ["populate", "retry_transient"]


def test_a_deferred_job_waits_until_its_scheduled_time(dm_conn, new_db):
    """While a key waits, its job is ``pending`` with a scheduled time in the future: a
    populate of the same table by another worker (any worker's: DataJoint 2.x also reserves
    only jobs scheduled by now, spec §6.4) leaves it alone."""
    audit_db = new_db("audit")
    database = new_db("tr")

    def first_fails(table, key, call):
        if call == 1:
            raise deadlock_error()

    source, result = declare(dm_conn, database, first_fails)
    source.insert1({"source_id": 7})
    result.jobs.declare()  # before the other worker reads the catalog
    other = dm_conn.clone()
    _, other_result = declare_again(other, database)
    seen = {}

    def worker():
        try:
            seen["out"] = result.populate(
                reserve_jobs=True, retry=RetryPolicy(retries=3, backoff=120, database=audit_db)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            seen["error"] = exc

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:

        def deferred():  # pending again after make() was called (not the new job)
            rows = result.calls and job_rows(other_result)
            return bool(rows) and rows[0]["status"] == "pending"

        wait_until(deferred, "the job deferred")
        wait = other.query(
            "SELECT TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(3), scheduled_time) / 1e6 "
            f"FROM {result.jobs.full_table_name}"
        ).fetchone()[0]
        assert float(wait) > 0
        assert other_result.populate(reserve_jobs=True) == {"success_count": 0, "error_list": []}
        [job] = job_rows(other_result)
        assert job["status"] == "pending" and job["connection_id"] == 0
        assert job["error_message"].startswith("transient error (deadlock), retry 1 of 3")
        # time passes (the back-off was 60-120 s): the waiting worker takes it within 5 s
        other.query(
            f"UPDATE {result.jobs.full_table_name} "
            "SET scheduled_time = CURRENT_TIMESTAMP(3) - INTERVAL 1 SECOND"
        )
        thread.join(60)
    finally:
        other.close()
    assert "error" not in seen and seen["out"]["success_count"] == 1
    assert result.calls == [7, 7] and committed(dm_conn, result) == [7]


def declare_again(conn, database: str):
    """The classes of :func:`declare` on another connection (the tables exist)."""
    schema = dm.Schema(database, connection=conn)

    @schema
    class Source(dm.Manual):
        definition = """
        source_id: int32
        """

    @schema
    class Result(dm.Computed):
        definition = """
        -> Source
        ---
        value: int32
        """

        def make(self, key):  # pragma: no cover - must not run in these tests
            raise AssertionError(f"{key} computed by the second worker")

    return Source, Result


# --------------------------------------------------------------------------------------------
# deadlock (1213)
# --------------------------------------------------------------------------------------------


def test_a_real_deadlock_is_retried(dm_conn, new_db, dj_connect):
    audit_db = new_db("audit")
    database = new_db("tr")
    rows = f"`{database}`.`lock_rows`"
    monitor, rival = dj_connect(), dj_connect()
    rival_locked, make_holds_one = threading.Event(), threading.Event()
    rival_error = []

    def hook(table, key, call):
        if call != 1:
            return
        conn = table.connection
        conn.query(f"SELECT * FROM {rows} WHERE id = 1 FOR UPDATE")
        make_holds_one.set()
        assert rival_locked.wait(30)
        wait_until(lambda: lock_waiting(monitor, rival_id), "the rival waiting", every=LOCK_POLL)
        conn.query(f"SELECT * FROM {rows} WHERE id = 2 FOR UPDATE")  # the crossing lock

    source, result = declare(dm_conn, database, hook)
    dm_conn.query(f"CREATE TABLE {rows} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
    dm_conn.query(f"INSERT INTO {rows} VALUES " + ", ".join(f"({i}, 0)" for i in range(1, 61)))
    source.insert1({"source_id": 3})
    with rival.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        rival_id = cur.fetchone()[0]

    def rival_work():
        try:
            with rival.cursor() as cur:
                cur.execute("BEGIN")
                # many changed rows: InnoDB rolls back the lighter transaction, make()'s
                cur.execute(f"UPDATE {rows} SET v = v + 1 WHERE id >= 2")
                rival_locked.set()
                assert make_holds_one.wait(30)
                cur.execute(f"UPDATE {rows} SET v = v + 1 WHERE id = 1")
                cur.execute("COMMIT")
        except Exception as exc:  # pragma: no cover - reported below
            rival_error.append(exc)

    thread = threading.Thread(target=rival_work)
    thread.start()
    try:
        out = result.populate(
            reserve_jobs=True,
            suppress_errors=True,
            retry=RetryPolicy(**FAST, database=audit_db),
        )
        thread.join(30)
    finally:
        monitor.close()
        rival.close()
    assert rival_error == []
    assert out == {"success_count": 1, "error_list": []}
    assert result.calls == [3, 3] and committed(dm_conn, result) == [3]
    assert job_rows(result) == []
    total = dm_conn.query(f"SELECT SUM(v) FROM {rows}").fetchone()[0]
    assert int(total) == 60  # the rival committed every row once


def test_a_reservation_that_times_out_is_tried_again(dm_conn, new_db, dj_connect):
    """The reserving UPDATE itself waits for a lock on the job row and times out: the key
    is tried again with the deferred ones instead of stopping populate."""
    source, result = declare(dm_conn, new_db("tr"))
    source.insert([{"source_id": 1}, {"source_id": 2}])
    result()._reserve_list(result.jobs, (), None, None)  # the jobs, pending
    result.jobs.reprioritize(7, keys=[{"source_id": 2}])  # key 2 after key 1
    dm_conn.query("SET SESSION innodb_lock_wait_timeout = 1")
    holder, monitor = dj_connect(), dj_connect()
    worker_id = dm_conn.connection_id()
    seen = {}

    def release_after_a_timeout():
        try:

            def waiting():
                return lock_waiting(monitor, worker_id)

            wait_until(waiting, "the reservation waiting", every=LOCK_POLL)
            seen["waited"] = True
            wait_until(lambda: not waiting(), "the lock wait timing out", every=LOCK_POLL)
            holder.rollback()
        except Exception as exc:  # pragma: no cover - reported below
            seen["error"] = exc

    thread = threading.Thread(target=release_after_a_timeout, daemon=True)

    def before(key):
        if key["source_id"] == 1:  # lock key 2's job row, then let the thread watch
            holder.autocommit(False)
            holder.cursor().execute(
                f"SELECT * FROM {result.jobs.full_table_name} WHERE source_id = 2 FOR UPDATE"
            )
            thread.start()

    try:
        out = result.populate(
            reserve_jobs=True, before_key=before, retry=RetryPolicy(retries=3, backoff=1)
        )
        thread.join(30)
    finally:
        holder.close()
        monitor.close()
    assert "error" not in seen and seen["waited"]
    assert out == {"success_count": 2, "error_list": []}
    assert result.calls == [1, 2] and committed(dm_conn, result) == [1, 2]
    assert job_rows(result) == []


# --------------------------------------------------------------------------------------------
# lost connection (KILL)
# --------------------------------------------------------------------------------------------


def test_a_killed_connection_reconnects_and_computes_the_key_once(dm_conn, new_db, dj_connect):
    audit_db = new_db("audit")
    source, result = declare(dm_conn, new_db("tr"))
    source.insert1({"source_id": 5})
    result.jobs.declare()  # the killer thread reads it from the start
    with_trail(dm_conn, audit_db)
    holder, killer = dj_connect(), dj_connect()
    hold_resource(holder, result, 5)  # make() waits for it: then its connection is killed
    first_id = dm_conn.connection_id()
    killed = {}
    reserved_by = []  # the job's connection_id when each attempt starts

    def kill_when_waiting():
        try:

            def reserved_and_waiting():
                rows = job_rows_on(killer, result)
                return bool(rows) and rows[0][0] == "reserved" and lock_waiting(killer, rows[0][1])

            wait_until(reserved_and_waiting, "make() waiting for the lock", every=LOCK_POLL)
            killed["id"] = job_rows_on(killer, result)[0][1]
            with killer.cursor() as cur:
                cur.execute("KILL %s", [killed["id"]])
            holder.rollback()
        except Exception as exc:  # pragma: no cover - reported below
            killed["error"] = exc

    thread = threading.Thread(target=kill_when_waiting)
    thread.start()
    try:
        with recovery.Heartbeat(dm_conn, audit_db, run_id="r-kill", interval=60) as beat:
            out = result.populate(
                reserve_jobs=True,
                suppress_errors=True,
                before_key=lambda key: (
                    beat.before_key(key, result.ref),
                    reserved_by.append(job_rows(result)[0]["connection_id"]),
                ),
                retry=RetryPolicy(**FAST, database=audit_db),
            )
            thread.join(30)
            workers = recovery.workers(dm_conn, audit_db)
    finally:
        holder.close()
        killer.close()
        dm_conn.audit = None
    assert "error" not in killed
    assert killed["id"] == first_id  # the job recorded the worker's connection, which died
    assert out == {"success_count": 1, "error_list": []}
    assert result.calls == [5, 5] and committed(dm_conn, result) == [5]
    new_id = dm_conn.connection_id()
    assert new_id != first_id and dm_conn.link_id == new_id
    assert reserved_by == [first_id, new_id]  # reserved again under the new connection
    assert job_rows(result) == []  # no job left reserved
    assert [w["connection_id"] for w in workers] == [new_id]  # the heartbeat followed
    events = audit.read_events(dm_conn, audit_db, table=result.ref)
    assert [e["action"] for e in events] == ["populate", "retry_transient"]
    changes = events[1]["changes"]
    assert changes["reason"] == "lost connection"
    assert changes["connection_id"] == [first_id, new_id]


def test_a_connection_lost_between_keys_is_reopened_and_the_job_restamped(
    dm_conn, new_db, dj_connect
):
    """The worker's connection is killed after the reservation, before make()'s
    transaction: START TRANSACTION reopens it, and the job then carries the new id (so
    recovery does not take a live worker's job for a lost one)."""
    seen = {}

    def hook(table, key, call):  # inside make's transaction: its own uncommitted writes
        conn = table.connection
        row = conn.query(f"SELECT connection_id FROM {table.jobs.full_table_name}").fetchone()
        seen["job"], seen["link"] = int(row[0]), conn.link_id

    source, result = declare(dm_conn, new_db("tr"), hook)
    source.insert1({"source_id": 8})
    killer = dj_connect()
    first_id = dm_conn.connection_id()

    def before(key):
        with killer.cursor() as cur:
            cur.execute("KILL %s", [first_id])

            def gone():
                sql = "SELECT ID FROM information_schema.PROCESSLIST WHERE ID = %s"
                return not cur.execute(sql, [first_id])

            wait_until(gone, "the killed connection gone")

    try:
        out = result.populate(reserve_jobs=True, before_key=before, retry=RetryPolicy(**FAST))
    finally:
        killer.close()
    assert out == {"success_count": 1, "error_list": []} and result.calls == [8]
    assert seen["job"] == seen["link"] != first_id
    assert dm_conn.connection_id() == seen["link"]


def test_a_job_recovered_before_the_retry_is_left_to_recovery_and_taken_again(dm_conn, new_db):
    """Recovery returned the job to ``pending`` before the worker could defer it (it took
    the failing worker for a lost one): the worker does not count a transient retry, and
    its populate reserves the key again like any pending job."""
    audit_db = new_db("audit")
    other = dm_conn.clone()
    recovered = []

    def recovered_then_fails(table, key, call):
        if call == 1:
            time.sleep(0.05)  # older than stale_after: "reservation old" (no heartbeat)
            recovered.extend(
                recovery.recover_jobs(other, table.jobs.ref, audit_db, stale_after=0.01)
            )
            raise deadlock_error()

    source, result = declare(dm_conn, new_db("tr"), recovered_then_fails)
    source.insert1({"source_id": 6})
    with_trail(dm_conn, audit_db)
    outcomes = []
    try:
        out = result.populate(
            reserve_jobs=True,
            on_key=lambda key, outcome: outcomes.append(outcome),
            retry=RetryPolicy(**FAST, database=audit_db),
        )
    finally:
        other.close()
        dm_conn.audit = None
    assert [(r.outcome, r.reason) for r in recovered] == [("pending", "reservation old")]
    assert out == {"success_count": 1, "error_list": []} and outcomes == ["success"]
    assert result.calls == [6, 6] and committed(dm_conn, result) == [6]
    # recovery counted it; no transient retry was counted or recorded
    assert attempts(dm_conn, audit_db) == []
    events = audit.read_events(dm_conn, audit_db, table=result.ref)
    assert [e["action"] for e in events] == ["populate"]


def job_rows_on(conn, result) -> list[tuple]:
    """(status, connection_id) of the jobs, read on a PyMySQL connection."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT status, connection_id FROM {result.jobs.full_table_name}")
        return [(s, int(c)) for s, c in cur.fetchall()]


def test_reconnect_gives_a_new_connection_id_and_keeps_the_session_settings(dm_conn):
    first = dm_conn.connection_id()
    assert dm_conn.link_id == first
    dm_conn.reconnect()
    second = dm_conn.connection_id()
    assert second != first and dm_conn.link_id == second
    mode = dm_conn.query("SELECT @@SESSION.sql_mode").fetchone()[0]
    assert "STRICT_ALL_TABLES" in mode and "ONLY_FULL_GROUP_BY" in mode
    dm_conn.start_transaction()
    with pytest.raises(errors.TransactionError):
        dm_conn.reconnect()
    dm_conn.rollback()


# --------------------------------------------------------------------------------------------
# the cap, and errors that are not retried
# --------------------------------------------------------------------------------------------


def deadlock_error() -> pymysql.err.OperationalError:
    return pymysql.err.OperationalError(
        1213, "Deadlock found when trying to get lock; try restarting transaction"
    )


def test_after_the_retries_the_job_is_an_error_saying_so(dm_conn, new_db):
    audit_db = new_db("audit")

    def always(table, key, call):
        raise deadlock_error()

    source, result = declare(dm_conn, new_db("tr"), always)
    source.insert1({"source_id": 2})
    with_trail(dm_conn, audit_db)
    outcomes = []
    try:
        out = result.populate(
            reserve_jobs=True,
            suppress_errors=True,
            on_key=lambda key, outcome: outcomes.append(outcome),
            retry=RetryPolicy(retries=2, backoff=0.01, database=audit_db),
        )
    finally:
        dm_conn.audit = None
    assert result.calls == [2, 2, 2]  # the first attempt and 2 retries
    assert outcomes == ["error"]
    [(_, message)] = out["error_list"]
    assert message.startswith("transient error (deadlock), retries exhausted (2 of 2)")
    [job] = job_rows(result)
    assert job["status"] == "error" and job["error_message"] == message
    assert "Deadlock found" in job["error_stack"]
    assert attempts(dm_conn, audit_db) == []  # forgotten: a person's retry starts afresh
    events = audit.read_events(dm_conn, audit_db, table=result.ref)
    assert [(e["action"], e["changes"]["retry"]) for e in events] == [
        ("retry_transient", 2),
        ("retry_transient", 1),
    ]
    # a person retries it: the key gets every retry again
    assert result.jobs.retry() == 1
    result.calls.clear()
    result.populate(
        reserve_jobs=True,
        suppress_errors=True,
        retry=RetryPolicy(retries=1, backoff=0.01, database=audit_db),
    )
    assert result.calls == [2, 2]


def test_the_count_is_shared_by_worker_processes(dm_conn, new_db):
    """Failures counted by other workers (rows of ``transient_attempt``) use up the key's
    retries: the next transient failure here ends it."""
    audit_db = new_db("audit")

    def always(table, key, call):
        raise deadlock_error()

    source, result = declare(dm_conn, new_db("tr"), always)
    source.insert1({"source_id": 4})
    result.jobs.declare()
    from pipeline_core.datamodel.retry import ensure_table

    ensure_table(dm_conn, audit_db)
    key_json = {"source_id": 4}
    place = [result.database, result.jobs.table_name, audit.key_hash(key_json)]
    for _ in range(3):  # three failures elsewhere
        dm_conn.query(retry_sql.count(audit_db), [*place, audit.canonical_json(key_json)])
    with pytest.raises(pymysql.err.OperationalError, match="Deadlock"):
        result.populate(reserve_jobs=True, retry=RetryPolicy(retries=3, database=audit_db))
    assert result.calls == [4]
    [job] = job_rows(result)
    assert job["status"] == "error" and "retries exhausted (3 of 3)" in job["error_message"]


def test_an_other_error_after_a_retry_ends_the_key_and_its_count(dm_conn, new_db):
    audit_db = new_db("audit")

    def deadlock_then_bad_data(table, key, call):
        if call == 1:
            raise deadlock_error()
        raise ValueError("bad data")

    source, result = declare(dm_conn, new_db("tr"), deadlock_then_bad_data)
    source.insert1({"source_id": 9})
    out = result.populate(
        reserve_jobs=True, suppress_errors=True, retry=RetryPolicy(**FAST, database=audit_db)
    )
    assert result.calls == [9, 9]
    assert [m for _, m in out["error_list"]] == ["ValueError: bad data"]
    [job] = job_rows(result)
    assert (job["status"], job["error_message"]) == ("error", "ValueError: bad data")
    assert attempts(dm_conn, audit_db) == []  # a person's retry gets every retry again


@pytest.mark.parametrize("kind", ["value", "duplicate"])
def test_other_errors_are_never_retried(dm_conn, new_db, kind):
    audit_db = new_db("audit")
    database = new_db("tr")
    schema = dm.Schema(database, connection=dm_conn)

    @schema
    class Used(dm.Manual):
        definition = """
        used_id: int32
        """

    Used.insert1({"used_id": 1})

    def fail(table, key, call):
        if kind == "value":
            raise ValueError("bad data")
        Used.insert1({"used_id": 1})  # DuplicateError (1062)

    source, result = declare(dm_conn, database, fail)
    source.insert1({"source_id": 1})
    out = result.populate(
        reserve_jobs=True,
        suppress_errors=True,
        retry=RetryPolicy(**FAST, database=audit_db),
    )
    assert result.calls == [1]
    [(_, message)] = out["error_list"]
    expected = "ValueError: bad data" if kind == "value" else "DuplicateError: "
    assert message.startswith(expected) and "transient" not in message
    [job] = job_rows(result)
    assert job["status"] == "error"
    assert attempts(dm_conn, audit_db) == []


def test_without_jobs_table_the_key_is_retried_inline(dm_conn, new_db, dj_connect):
    source, result = declare(dm_conn, new_db("tr"))
    source.insert([{"source_id": 1}, {"source_id": 2}])
    dm_conn.query("SET SESSION innodb_lock_wait_timeout = 1")
    holder = dj_connect()
    hold_target_row(holder, result, 2)  # no refresh without jobs: the lock can come first
    original = result.make

    def make(self, key):
        if len(type(self).calls) == 2 and key["source_id"] == 2:
            holder.rollback()  # the second attempt at key 2 finds the lock gone
        original(self, key)

    try:
        result.make = make
        out = result.populate(retry=RetryPolicy(**FAST))
    finally:
        result.make = original
        holder.close()
    assert out == {"success_count": 2, "error_list": []}
    assert result.calls == [1, 2, 2] and sorted(committed(dm_conn, result)) == [1, 2]
    assert not result.jobs.exists()


def test_without_jobs_table_retries_end_in_an_error(dm_conn, new_db):
    def always(table, key, call):
        raise deadlock_error()

    source, result = declare(dm_conn, new_db("tr"), always)
    source.insert1({"source_id": 1})
    out = result.populate(suppress_errors=True, retry=RetryPolicy(retries=2, backoff=0.01))
    assert result.calls == [1, 1, 1] and out["success_count"] == 0
    assert out["error_list"][0][1].startswith("transient error (deadlock), retries exhausted")
    result.calls.clear()
    out = result.populate(suppress_errors=True, retry=transient.NO_RETRY)
    assert result.calls == [1]
    assert out["error_list"][0][1].startswith("OperationalError: (1213")


# --------------------------------------------------------------------------------------------
# the classifier on the drivers' own exceptions
# --------------------------------------------------------------------------------------------


def _raised(run) -> BaseException:
    try:
        run()
    except BaseException as exc:
        return exc
    raise AssertionError("nothing was raised")


@pytest.mark.parametrize("driver", ["pymysql", "MySQLdb"])
def test_the_classifier_on_real_driver_errors(driver, dj_params, new_db, dm_conn):
    database = new_db("cls")
    dm_conn.query(f"CREATE DATABASE `{database}`")
    dm_conn.query(f"CREATE TABLE `{database}`.`t` (id INT PRIMARY KEY) ENGINE=InnoDB")
    dm_conn.query(f"INSERT INTO `{database}`.`t` VALUES (1), (2)")

    def connect():
        if driver == "pymysql":
            return pymysql.connect(
                host=dj_params["host"],
                port=int(dj_params["port"]),
                user=dj_params["user"],
                password=dj_params["password"],
                autocommit=True,
            )
        return MySQLdb.connect(
            host=dj_params["host"],
            port=int(dj_params["port"]),
            user=dj_params["user"],
            password=dj_params["password"],
            autocommit=True,
        )

    def execute(conn, sql):
        cur = conn.cursor()
        cur.execute(sql)
        return cur

    holder, victim, killer = connect(), connect(), connect()
    try:
        # lock wait timeout
        execute(holder, "BEGIN")
        execute(holder, f"SELECT * FROM `{database}`.`t` WHERE id = 1 FOR UPDATE")
        execute(victim, "SET SESSION innodb_lock_wait_timeout = 1")
        execute(victim, "BEGIN")
        exc = _raised(lambda: execute(victim, f"UPDATE `{database}`.`t` SET id = 3 WHERE id = 1"))
        assert exc.args[0] == 1205 and transient_reason(exc) == transient.LOCK_WAIT_TIMEOUT
        execute(victim, "ROLLBACK")
        execute(holder, "ROLLBACK")
        # not transient: duplicate key, syntax, a statement time limit
        duplicate = _raised(lambda: execute(victim, f"INSERT INTO `{database}`.`t` VALUES (1)"))
        syntax = _raised(lambda: execute(victim, "SELEC 1"))
        limit = _raised(
            lambda: execute(
                victim,
                "SET STATEMENT max_statement_time=0.01 FOR "
                "SELECT SLEEP(1) FROM `" + database + "`.`t`",
            )
        )
        assert [e.args[0] for e in (duplicate, syntax, limit)] == [1062, 1064, 1969]
        assert [transient_reason(e) for e in (duplicate, syntax, limit)] == [None] * 3
        # lost connection: killed, then used again
        victim_id = execute(victim, "SELECT CONNECTION_ID()").fetchone()[0]
        execute(killer, f"KILL {int(victim_id)}")
        lost = _raised(lambda: execute(victim, "SELECT 1"))
        again = _raised(lambda: execute(victim, "SELECT 1"))
        assert lost.args[0] == 2013 and transient_reason(lost) == transient.LOST_CONNECTION
        assert again.args[0] in (0, 2006) and transient_reason(again) == transient.LOST_CONNECTION
        # wrapped by make() code or raised while handling it: still transient
        wrapped = _raised(lambda: _wrap(lost))
        assert transient_reason(wrapped) == transient.LOST_CONNECTION
        handling = _raised(lambda: _while_handling(lost))
        assert transient_reason(handling) == transient.LOST_CONNECTION
    finally:
        for conn in (holder, victim, killer):
            with contextlib.suppress(Exception):
                conn.close()


def _wrap(exc):
    raise RuntimeError("make failed") from exc


def _while_handling(exc):
    try:
        raise exc
    except type(exc):
        raise KeyError("cleanup failed") from None


def test_the_classifier_on_the_data_model_errors(dm_conn, new_db, dj_connect):
    """Errors translated by the data model's connection keep the driver's error as their
    cause; the classes alone decide nothing (a DuplicateError is never transient)."""
    database = new_db("cls")
    schema = dm.Schema(database, connection=dm_conn)

    @schema
    class Thing(dm.Manual):
        definition = """
        thing_id: int32
        """

    Thing.insert1({"thing_id": 1})
    duplicate = _raised(lambda: Thing.insert1({"thing_id": 1}))
    assert isinstance(duplicate, dm.DuplicateError) and transient_reason(duplicate) is None
    other = dm_conn.clone()
    killer = dj_connect()
    try:
        other.start_transaction()
        with killer.cursor() as cur:
            cur.execute("KILL %s", [other.connection_id()])
        lost = _raised(lambda: other.query("SELECT 1"))
        assert isinstance(lost, dm.LostConnectionError)
        assert transient_reason(lost) == transient.LOST_CONNECTION
        other.rollback()  # the server rolled it back: no error
        assert other.query("SELECT 1").fetchone()[0] == 1  # reconnected
    finally:
        other.close()
        killer.close()
    for exc in (ValueError(1205), KeyboardInterrupt(), SystemExit(2), None):
        assert transient_reason(exc) is None
    assert transient.is_transient(deadlock_error())


def test_the_back_off_doubles_with_jitter_up_to_the_ceiling():
    policy = RetryPolicy(retries=10, backoff=1.0, max_delay=5.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter: workers failing together spread out
    assert RetryPolicy(backoff=0).delay(3) == 0
    for bad in (dict(retries=-1), dict(retries=1.5), dict(backoff=-1)):
        with pytest.raises(ValueError, match="must be"):
            RetryPolicy(**bad)


def test_labbook_reads_the_policy_from_its_settings(settings):
    from pipeline_core.services.populate import retry_policy

    settings.LABBOOK_TRANSIENT_RETRIES = 5
    settings.LABBOOK_RETRY_BACKOFF = 0.25
    settings.LABBOOK_AUDIT_DB = "some_audit"
    assert retry_policy() == RetryPolicy(retries=5, backoff=0.25, database="some_audit")
