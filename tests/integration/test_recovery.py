"""Dead workers and stale reservations (issue #13 part 2): the stale rules of
:func:`pipeline_core.datamodel.recovery.recover_jobs` on real connections, the heartbeat,
and the kill test (3 worker processes, 5 SIGKILLs, nothing lost, nothing twice)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_core import services
from pipeline_core.datamodel import audit, recovery
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.sql import jobs as jobs_sql
from tests.integration import recovery_worker

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _clone(conn):
    return conn.clone()


def _reserve_as(other, result, key: dict, host: str = "elsewhere", pid: int = 4242) -> None:
    """Reserve ``key``'s job as another worker would, on connection ``other``."""
    jobs = result.jobs
    sql, params = jobs_sql.reserve(
        jobs.ref, result()._encoded(key), host, pid, other.connection_id(), other.current_user()
    )
    assert other.query(sql, params).rowcount == 1


def _setup(dm_conn, new_db, n: int = 3):
    source, result = recovery_worker.declare(dm_conn, new_db("rec"))
    source.insert([{"source_id": i} for i in range(n)])
    keys = result()._reserve_list(result.jobs, (), None, None)  # the jobs, all pending
    assert len(keys) == n
    return result, keys


def _job(result, key) -> dict:
    from pipeline_core.datamodel.expression import table_expression

    rows = (table_expression(result.connection, result.jobs.ref) & key).to_dicts()
    assert len(rows) == 1
    return rows[0]


def _wait_gone(conn, connection_id: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ids = {int(r[0]) for r in conn.query("SELECT ID FROM information_schema.PROCESSLIST")}
        if connection_id not in ids:
            return
        assert time.monotonic() < deadline, f"connection {connection_id} still listed"
        time.sleep(0.05)


def test_connection_gone_returns_the_job_to_pending(dm_conn, new_db):
    result, keys = _setup(dm_conn, new_db)
    audit_db = new_db("audit")
    other = _clone(dm_conn)
    cid = other.connection_id()
    _reserve_as(other, result, keys[0])
    other.close()
    _wait_gone(dm_conn, cid)
    done = recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db)
    assert [(r.key, r.outcome, r.reason, r.connection_id, r.attempts) for r in done] == [
        ({"source_id": keys[0]["source_id"]}, "pending", "connection gone", cid, 1)
    ]
    job = _job(result, keys[0])
    assert (job["status"], job["connection_id"], job["reserved_time"]) == ("pending", 0, None)
    assert recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db) == []  # nothing left
    # DataJoint's rules take it again: a populate computes every key
    assert result.populate(reserve_jobs=True)["success_count"] == 3


def test_old_heartbeat_returns_the_job_to_pending(dm_conn, new_db):
    result, keys = _setup(dm_conn, new_db)
    audit_db = new_db("audit")
    other = _clone(dm_conn)
    try:
        beat = recovery.Heartbeat(other, audit_db, run_id="r1", interval=60)
        beat.before_key(keys[1], result.ref)  # one beat, then silence (a hung worker)
        _reserve_as(other, result, keys[1], host=beat.host, pid=beat.pid)
        rows = recovery.workers(dm_conn, audit_db)
        assert [(r["host"], r["pid"], r["connection_id"], r["run_id"]) for r in rows] == [
            (beat.host, beat.pid, other.connection_id(), "r1")
        ]
        assert rows[0]["current_key"] == {"source_id": keys[1]["source_id"]}
        assert rows[0]["current_table"] == result.ref.full_name
        # fresh heartbeat, live connection: untouched
        assert recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db, stale_after=30) == []
        time.sleep(1.2)
        done = recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db, stale_after=1.0)
        assert [(r.outcome, r.reason) for r in done] == [("pending", "heartbeat old")]
        assert _job(result, keys[1])["status"] == "pending"
        beat._conn.close()
    finally:
        other.close()


def test_live_reservation_is_untouched_and_old_one_without_heartbeat_is_not(dm_conn, new_db):
    result, keys = _setup(dm_conn, new_db)
    audit_db = new_db("audit")
    other = _clone(dm_conn)
    try:
        _reserve_as(other, result, keys[2])  # a plain DataJoint worker: no heartbeat
        assert recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db, stale_after=60) == []
        assert _job(result, keys[2])["status"] == "reserved"
        time.sleep(0.6)
        done = recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db, stale_after=0.5)
        assert [(r.outcome, r.reason) for r in done] == [("pending", "reservation old")]
    finally:
        other.close()


def test_after_max_attempts_the_job_is_an_error_worker_lost(dm_conn, new_db):
    result, keys = _setup(dm_conn, new_db)
    audit_db = new_db("audit")
    trail = audit.AuditTrail(audit_db, audit.AuditContext("recoverer", "worker", "req-1"))
    trail.ensure(dm_conn)
    outcomes = []
    for _ in range(3):
        other = _clone(dm_conn)
        cid = other.connection_id()
        _reserve_as(other, result, keys[0])
        other.close()
        _wait_gone(dm_conn, cid)
        dm_conn.audit = trail
        try:
            done = recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db, max_attempts=2)
        finally:
            dm_conn.audit = None
        outcomes += [(r.outcome, r.attempts) for r in done]
        if done[0].outcome == "error":
            break
    assert outcomes == [("pending", 1), ("pending", 2), ("error", 3)]
    job = _job(result, keys[0])
    assert (job["status"], job["error_message"]) == ("error", recovery.WORKER_LOST)
    assert "worker lost: connection gone" in job["error_stack"]
    events = audit.read_events(dm_conn, audit_db, table=result.ref, limit=10)
    assert [e["action"] for e in events] == ["recover"] * 3
    assert [e["changes"]["status"] for e in events] == [
        ["reserved", "error"],
        ["reserved", "pending"],
        ["reserved", "pending"],
    ]
    assert events[0]["key"] == {"source_id": keys[0]["source_id"]}
    assert events[0]["actor"] == "recoverer"
    # the other keys are still computed; the lost one stays an error until retried
    assert result.populate(reserve_jobs=True)["success_count"] == 2


def test_populate_calls_before_key_after_reserving(dm_conn, new_db):
    source, result = recovery_worker.declare(dm_conn, new_db("rec"))
    source.insert([{"source_id": i} for i in range(3)])
    seen = []

    def before(key):
        seen.append((key["source_id"], _job(result, key)["status"], len(result() & key)))

    result.populate(reserve_jobs=True, before_key=before)
    # every key, each reserved and not yet computed when the hook runs (in any order:
    # populate spreads the keys of a priority differently in each process)
    assert sorted(seen) == [(0, "reserved", 0), (1, "reserved", 0), (2, "reserved", 0)]


def test_only_real_jobs_tables_are_recovered(dm_conn, new_db):
    result, _ = _setup(dm_conn, new_db)
    database = result.database
    dm_conn.query(f"CREATE TABLE `{database}`.`~~odd` (`id` INT PRIMARY KEY)")
    catalog_of(dm_conn).invalidate(database)
    assert recovery.jobs_tables(dm_conn, [database]) == [result.jobs.ref]


# --------------------------------------------------------------------------------------------
# the kill test
# --------------------------------------------------------------------------------------------

KEYS = 200
WORKERS = 3
KILLS = 5


def _start_worker(database: str, audit_db: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.recovery_worker", database, audit_db],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _current_key(conn, audit_db: str, pid: int) -> dict | None:
    for row in recovery.workers(conn, audit_db):
        if row["pid"] == pid:
            return row["current_key"]
    return None


def _masters_without_all_parts(conn, result) -> int:
    """Committed master rows of ``Result`` without exactly PARTS part rows."""
    return int(
        conn.query(
            f"SELECT COUNT(*) FROM {result.full_table_name} AS r WHERE (SELECT COUNT(*) "
            f"FROM {result.Piece.full_table_name} AS p WHERE p.source_id = r.source_id) != %s",
            [recovery_worker.PARTS],
        ).fetchone()[0]
    )


def _console_after_kill(victim: int, others: list[subprocess.Popen]) -> dict:
    """What the workers console (:func:`pipeline_core.services.worker_processes`, the service
    behind ``/workers/`` and ``GET /api/v1/workers/``) says right after a SIGKILL: asked
    until the killed pid is offline (its connection leaves the server's process list a
    moment after the kill; ``LABBOOK_STALE_AFTER`` is far longer than the wait here). Every
    other worker with a heartbeat row must be online, unless it has just finished.
    Returns the killed process's row."""
    deadline = time.monotonic() + 10
    while True:
        rows = {p["pid"]: p for p in services.worker_processes()}
        if victim in rows and not rows[victim]["online"]:
            break
        assert time.monotonic() < deadline, f"the killed worker still shows {rows.get(victim)}"
        time.sleep(0.05)
    for w in others:
        if w.pid in rows and not rows[w.pid]["online"]:
            assert w.poll() is not None, f"a live worker shows offline: {rows[w.pid]}"
    return rows[victim]


@pytest.mark.slow
def test_kill_test_three_workers_five_sigkills_nothing_lost_nothing_twice(
    dm_conn, new_db, dj_params, settings
):
    database, audit_db = new_db("kill"), new_db("audit")
    settings.LABBOOK_AUDIT_DB = audit_db  # the workers console reads these workers' heartbeats
    source, result = recovery_worker.declare(dm_conn, database)
    source.insert([{"source_id": i} for i in range(KEYS)])
    host = dj_params["host"]
    env = dict(
        os.environ,
        DJ_HOST=f"[{host}]:{dj_params['port']}" if ":" in host else f"{host}:{dj_params['port']}",
        DJ_USER=dj_params["user"],
        DJ_PASS=dj_params["password"],
        PYTHONUNBUFFERED="1",
    )
    rng = random.Random(13)
    workers = [_start_worker(database, audit_db, env) for _ in range(WORKERS)]
    recovered, killed_in_make, shown_offline = [], 0, []
    deadline = time.monotonic() + 60
    try:
        kills = 0
        while kills < KILLS:
            time.sleep(rng.uniform(0.3, 0.5))
            for w in workers:
                assert w.poll() in (None, 0), w.stderr.read().decode()
            assert time.monotonic() < deadline, f"only {kills} kills within a minute"
            alive = [i for i, w in enumerate(workers) if w.poll() is None]
            assert alive, f"the work was done after {kills} kills: too little work"
            busy = [i for i in alive if _current_key(dm_conn, audit_db, workers[i].pid)]
            if not busy:  # the survivors are still starting: kill one computing a key
                continue
            i = rng.choice(busy)
            victim = workers[i]
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=10)
            kills += 1
            others = [w for j, w in enumerate(workers) if j != i and w.poll() is None]
            shown_offline.append(_console_after_kill(victim.pid, others))
            key = _current_key(dm_conn, audit_db, victim.pid)
            if key is not None and not (result() & key):  # killed inside make()
                killed_in_make += 1
                assert not (result.Piece() & key), "a killed make() left part rows"
            assert _masters_without_all_parts(dm_conn, result) == 0
            workers[i] = _start_worker(database, audit_db, env)
            recovered += recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db, max_attempts=10)
        # recover until the workers have nothing left to do (a killed worker's connection
        # may leave the process list a moment after the kill)
        while any(w.poll() is None for w in workers):
            assert time.monotonic() < deadline, "the workers did not finish within a minute"
            recovered += recovery.recover_jobs(dm_conn, result.jobs.ref, audit_db, max_attempts=10)
            time.sleep(0.2)
        for w in workers:
            assert w.returncode == 0, w.stderr.read().decode()
    finally:
        for w in workers:
            if w.poll() is None:
                os.kill(w.pid, signal.SIGKILL)
                w.wait(timeout=10)
    assert recovered, "no reservation was lost: the kills missed every make()"
    # the console showed each lost worker offline at once (its connection gone, long
    # before its heartbeat could be LABBOOK_STALE_AFTER old)
    assert [p["reason"] for p in shown_offline] == ["connection gone"] * KILLS
    assert all(r.outcome == "pending" and r.reason == "connection gone" for r in recovered)
    assert len(recovered) >= killed_in_make
    keys = [r["source_id"] for r in result.to_dicts()]
    assert sorted(keys) == list(range(KEYS))  # every key exactly once
    pieces = dm_conn.query(
        f"SELECT source_id, COUNT(*) FROM {result.Piece.full_table_name} GROUP BY source_id"
    ).fetchall()
    assert {int(k): int(n) for k, n in pieces} == dict.fromkeys(range(KEYS), recovery_worker.PARTS)
    assert result.jobs.progress()["reserved"] == 0
    assert result.jobs.progress()["total"] == 0  # every job completed (rows deleted)
