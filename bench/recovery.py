"""Benchmark of dead-worker recovery (issue 13): the time from a killed (or hung) worker's
reservation to its key being ``pending`` again, with the recovery
(:func:`pipeline_core.datamodel.recovery.recover_jobs`) polled every 0.1 s.

* killed: the worker is SIGKILLed inside ``make``; its connection leaves the process list
  and the next recovery returns the key (rule "connection gone");
* hung: the worker is SIGSTOPped inside ``make`` (its connection stays open, its heartbeat
  stops); the key returns once the heartbeat is older than ``stale_after`` (5 s here).

In production recovery runs every 30 s (celery beat), so add up to 30 s to both. The issue's
target: under ``LABBOOK_STALE_AFTER`` + 30 s. DataJoint 2.3.5 never returns such a key
(``orphan_timeout`` is None by default). Databases ``lbbench_recovery*``, dropped at the end.

    python -m bench.recovery worker DATABASE AUDIT_DB   # the worker process itself
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "lbbench_recovery"
AUDIT_DB = "lbbench_recovery_audit"
STALE_AFTER = 5.0
REPEAT = 5


def _connect():
    from pipeline_core import datamodel as dm

    host = os.environ.get("DJ_HOST", "127.0.0.1:3306")
    return dm.connect(host, os.environ.get("DJ_USER", "root"), os.environ.get("DJ_PASS", ""))


def _declare(conn):
    from pipeline_core import datamodel as dm

    schema = dm.Schema(DATABASE, connection=conn)

    @schema
    class Source(dm.Manual):
        definition = "source_id: int32"

    @schema
    class Slow(dm.Computed):
        definition = "-> Source\n---\nv: int32"

        def make(self, key):
            self.insert1(dict(key, v=1))
            time.sleep(60)  # killed or stopped long before

    return Source, Slow


def worker() -> None:
    """Populate ``Slow`` with reservation and a heartbeat (1 s) until killed."""
    from pipeline_core.datamodel import recovery

    conn = _connect()
    _, slow = _declare(conn)
    with recovery.Heartbeat(conn, AUDIT_DB, interval=1.0) as beat:
        slow.populate(
            reserve_jobs=True, max_calls=1, before_key=lambda k: beat.before_key(k, slow.ref)
        )


def _reserved(conn, slow, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while slow.jobs.progress()["reserved"] == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker reserved nothing within 30 s")
        time.sleep(0.02)


def _time_to_pending(conn, slow, sig: int) -> float:
    from pipeline_core.datamodel import recovery

    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.recovery", "worker"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _reserved(conn, slow)
        time.sleep(0.2)  # inside make()
        os.kill(proc.pid, sig)
        start = time.perf_counter()
        while True:
            done = recovery.recover_jobs(conn, slow.jobs.ref, AUDIT_DB, stale_after=STALE_AFTER)
            if done:
                return time.perf_counter() - start
            if time.perf_counter() - start > 60:
                raise RuntimeError("the key did not return to pending within 60 s")
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def bench_recovery(dj=None) -> str:
    """Markdown of the section: median and max seconds to pending, killed and hung."""
    conn = _connect()
    for name in (DATABASE, AUDIT_DB):
        conn.query(f"DROP DATABASE IF EXISTS `{name}`")
    source, slow = _declare(conn)
    source.insert([{"source_id": i} for i in range(2 * REPEAT)])
    slow.jobs.declare()  # before the workers: this connection's catalog then knows it
    rows = []
    try:
        for label, sig in (
            ("worker killed (SIGKILL) inside make: connection gone", signal.SIGKILL),
            (
                f"worker hung (SIGSTOP) inside make: heartbeat older than {STALE_AFTER:g} s",
                signal.SIGSTOP,
            ),
        ):
            times = [_time_to_pending(conn, slow, sig) for _ in range(REPEAT)]
            rows.append((label, statistics.median(times), max(times)))
    finally:
        for name in (DATABASE, AUDIT_DB):
            conn.query(f"DROP DATABASE IF EXISTS `{name}`")
    lines = ["| case | median | max |", "|---|---|---|"]
    lines += [f"| {label} | {med:.2f} s | {top:.2f} s |" for label, med, top in rows]
    lines += [
        "",
        f"Time from the signal to the key being `pending` again, recovery polled every 0.1 s "
        f"({REPEAT} runs each; stale_after {STALE_AFTER:g} s, heartbeat every 1 s). In "
        "production the recovery runs every 30 s (celery beat): add up to 30 s. DataJoint "
        "2.3.5 leaves these keys `reserved` for ever (no orphan timeout by default).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["worker"]:
        worker()
    else:
        print(bench_recovery())
