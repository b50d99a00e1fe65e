"""The populate soak (issue #13, ``make soak``): the kill test at length.

``--workers`` worker processes (``tests/integration/recovery_worker.py``: the data model's
``populate(reserve_jobs=True)`` with a heartbeat; ``make`` inserts a master row and 3 part
rows over 50 ms) compute ``--keys`` keys while this script SIGKILLs a worker that is
computing a key ``--kills`` times, spread over the run, restarting each one, and returns
stale reservations to ``pending`` every 0.2 s (as the periodic ``recover_stale`` task
does every 30 s). At the end it checks that every key is in the target exactly once, that
no master row lacks its parts, that no job is left ``reserved`` and that each killed worker
was seen offline by the workers list while the others were online, and prints a markdown
table (the README's "Running populate" quotes the last one).

    .venv/bin/python scripts/soak.py [--workers 4] [--keys 10000] [--kills 20] [--keep]

Connection from ``DJ_HOST``/``DJ_USER``/``DJ_PASS``; databases ``lbsoak_<hex>`` and
``lbsoak_<hex>_audit``, dropped at the end unless ``--keep``. Exit status 1 when a check
fails.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline_core.datamodel import recovery  # noqa: E402
from tests.integration import recovery_worker  # noqa: E402


def _start(database: str, audit_db: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.recovery_worker", database, audit_db],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _heartbeats(conn, audit_db: str) -> dict[int, dict]:
    """Heartbeat rows by pid, with ``online`` decided as the workers view decides it
    (``services.workers``): the connection is in the server's process list and the last
    beat is at most ``recovery.STALE_AFTER`` seconds old."""
    alive = recovery.live_connections(conn)
    rows = {}
    for row in recovery.workers(conn, audit_db):
        online = int(row["connection_id"]) in alive and row["age"] <= recovery.STALE_AFTER
        rows[int(row["pid"])] = {**row, "online": online}
    return rows


def _count(conn, sql: str, params=()) -> int:
    return int(conn.query(sql, list(params)).fetchone()[0])


def _kill_one(conn, database: str, audit_db: str, result, procs: list, rng) -> dict | None:
    """SIGKILL a worker computing a key and restart it; None when none is computing one.

    Returns:
        ``{"in_make": bool, "offline": bool, "to_pending": seconds or None, "recovered":
        [Recovery, ...]}``: whether the key was left uncomputed (killed inside make), whether
        the worker was seen offline within 5 s, and the seconds from the kill to its key
        being pending again (recovery run every 0.2 s).
    """
    beats = _heartbeats(conn, audit_db)
    busy = [
        i
        for i, p in enumerate(procs)
        if p.poll() is None and beats.get(p.pid, {}).get("current_key")
    ]
    if not busy:
        return None
    i = rng.choice(busy)
    victim = procs[i]
    key = beats[victim.pid]["current_key"]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    killed_at = time.monotonic()
    out = {"in_make": not (result() & key), "offline": False, "to_pending": None}
    for _ in range(50):
        if not _heartbeats(conn, audit_db)[victim.pid]["online"]:
            out["offline"] = True
            break
        time.sleep(0.1)
    procs[i] = _start(database, audit_db)
    out["recovered"] = []
    while time.monotonic() - killed_at < 60:
        got = recovery.recover_jobs(conn, result.jobs.ref, audit_db, max_attempts=1000)
        out["recovered"] += got
        if any(r.key == key for r in got):
            out["to_pending"] = time.monotonic() - killed_at
            break
        if result() & key:  # killed after its commit: nothing to recover
            break
        time.sleep(0.2)
    return out


def soak(workers: int, keys: int, kills: int, keep: bool) -> bool:
    """Run the soak; print its table; True when every check passed."""
    conn = recovery_worker.connect()
    tag = uuid.uuid4().hex[:8]
    database, audit_db = f"lbsoak_{tag}", f"lbsoak_{tag}_audit"
    source, result = recovery_worker.declare(conn, database)
    for start in range(0, keys, 5000):
        source.insert([{"source_id": i} for i in range(start, min(keys, start + 5000))])
    rng = random.Random(tag)
    expected = keys * recovery_worker.MAKE_SECONDS / workers
    interval = expected / (kills + 2)
    recovered: list = []
    offline_seen, kill_to_pending = 0, []
    procs = [_start(database, audit_db) for _ in range(workers)]
    started = time.monotonic()
    deadline = started + 20 * expected + 300
    done_kills, killed_in_make = 0, 0
    next_kill = started + interval
    try:
        while any(p.poll() is None for p in procs):
            if time.monotonic() > deadline:
                raise RuntimeError("the soak did not finish in time")
            time.sleep(0.2)
            if done_kills < kills and time.monotonic() >= next_kill:
                kill = _kill_one(conn, database, audit_db, result, procs, rng)
                if kill is not None:
                    done_kills += 1
                    next_kill = time.monotonic() + interval
                    killed_in_make += kill["in_make"]
                    offline_seen += kill["offline"]
                    recovered += kill["recovered"]
                    if kill["to_pending"] is not None:
                        kill_to_pending.append(kill["to_pending"])
            recovered += recovery.recover_jobs(conn, result.jobs.ref, audit_db, max_attempts=1000)
        seconds = time.monotonic() - started
    finally:
        for p in procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=30)
    failed = [p.returncode for p in procs if p.returncode != 0]
    target = _count(conn, f"SELECT COUNT(DISTINCT source_id) FROM {result.full_table_name}")
    rows = _count(conn, f"SELECT COUNT(*) FROM {result.full_table_name}")
    lacking = _count(
        conn,
        f"SELECT COUNT(*) FROM {result.full_table_name} AS r WHERE (SELECT COUNT(*) "
        f"FROM {result.Piece.full_table_name} AS p WHERE p.source_id = r.source_id) != %s",
        [recovery_worker.PARTS],
    )
    reserved = result.jobs.progress()["reserved"]
    checks = {
        f"every key in the target exactly once ({keys})": target == keys == rows,
        "no master row lacks its parts": lacking == 0,
        "no job left reserved": reserved == 0,
        f"each killed worker seen offline ({offline_seen} of {done_kills})": offline_seen
        == done_kills,
        f"kills done ({done_kills} of {kills})": done_kills == kills,
        "workers exited cleanly": not failed,
    }
    med = statistics.median(kill_to_pending) if kill_to_pending else float("nan")
    print(f"| soak ({time.strftime('%Y-%m-%d')}) | value |")
    print("|---|---|")
    print(f"| worker processes / keys / SIGKILLs | {workers} / {keys} / {done_kills} |")
    print(f"| wall time | {seconds:.0f} s ({keys / seconds:.1f} keys/s) |")
    print(f"| kills inside make() (rolled back) | {killed_in_make} |")
    print(f"| reservations recovered | {len(recovered)} |")
    print(
        f"| kill to key pending again (recovery every 0.2 s) | median {med:.2f} s, "
        f"max {max(kill_to_pending, default=float('nan')):.2f} s |"
    )
    for name, ok in checks.items():
        print(f"| {name} | {'yes' if ok else 'NO'} |")
    if not keep:
        conn.query(f"DROP DATABASE `{database}`")
        conn.query(f"DROP DATABASE IF EXISTS `{audit_db}`")
    conn.close()
    return all(checks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    sys.exit(0 if soak(args.workers, args.keys, args.kills, args.keep) else 1)


if __name__ == "__main__":
    main()
