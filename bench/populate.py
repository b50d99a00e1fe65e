"""Benchmark of populate with job reservation (issue 13), against DataJoint 2.3.5 in the
same run:

* keys per second of one process, ``populate(reserve_jobs=True)`` on a trivial table
  (``make`` inserts one row), LabBook vs DataJoint, each on its own copy of the table;
* scaling: 1, 2 and 4 LabBook worker processes on a ``make`` that sleeps 50 ms (I/O-bound,
  so two cores do not cap it), throughput relative to one process.

The worker processes are ``tests/integration/shared_pipeline.py`` (the module the shared
populate test runs). Databases ``lbbench_pop*``, dropped at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pipeline_core import datamodel as dm

KEYS = 1000
SCALING_KEYS = 160
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fresh(conn, name: str, keys: int):
    from tests.integration.shared_pipeline import SOURCE

    conn.query(f"DROP DATABASE IF EXISTS `{name}`")
    schema = dm.Schema(name, connection=conn)
    source = schema(type("Source", (dm.Manual,), {"definition": SOURCE}), context={})
    source.insert([{"source_id": i, "value": i} for i in range(keys)])
    conn.query(
        f"CREATE TABLE `{name}`.`call_log` (source_id INT, who VARCHAR(16),"
        " id INT AUTO_INCREMENT PRIMARY KEY)"
    )
    return source


def _processes(library: str, database: str, n: int, make_seconds: float) -> float:
    """Seconds for ``n`` processes of ``library`` to populate ``database`` together."""
    env = dict(os.environ, PYTHONPATH=ROOT, LABBOOK_TEST_MAKE_SECONDS=str(make_seconds))
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.shared_pipeline", library, database, f"w{i}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]
    for proc in procs:
        proc.wait(timeout=600)
    return time.perf_counter() - start


def _startup(library: str, conn) -> float:
    """Seconds a process of ``library`` takes with nothing to compute (imports, connect,
    declare): subtracted from the timings so that keys/s measure the populate loop."""
    name = "lbbench_pop_empty"
    _fresh(conn, name, 0)
    seconds = _processes(library, name, 1, 0.0)
    conn.query(f"DROP DATABASE `{name}`")
    return seconds


def bench_populate(dj) -> str:
    """Run the populate benchmarks; the markdown of the section."""
    from bench.run import params

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    rates = {}
    for library in ("labbook", "datajoint"):
        startup = _startup(library, conn)
        name = f"lbbench_pop_{library}"
        _fresh(conn, name, KEYS)
        seconds = _processes(library, name, 1, 0.0) - startup
        rates[library] = KEYS / seconds
        conn.query(f"DROP DATABASE `{name}`")
    startup = _startup("labbook", conn)
    scaling = {}
    for n in (1, 2, 4):
        name = f"lbbench_pop_scale{n}"
        _fresh(conn, name, SCALING_KEYS)
        seconds = _processes("labbook", name, n, 0.05) - startup
        scaling[n] = SCALING_KEYS / seconds
        conn.query(f"DROP DATABASE `{name}`")
    conn.close()
    lines = [
        "| benchmark | LabBook | reference | ratio |",
        "|---|---|---|---|",
        f"| keys/s, one process, trivial make, reserve_jobs ({KEYS} keys) | "
        f"{rates['labbook']:.0f} | DataJoint 2.3.5: {rates['datajoint']:.0f} | "
        f"{rates['labbook'] / rates['datajoint']:.2f}x |",
    ]
    lines.extend(
        f"| {n} worker processes, make sleeps 50 ms ({SCALING_KEYS} keys) | "
        f"{scaling[n]:.1f} keys/s | 1 process: {scaling[1]:.1f} keys/s | "
        f"{scaling[n] / scaling[1]:.2f}x |"
        for n in (2, 4)
    )
    return "\n".join(lines) + (
        "\n\nEach figure: wall time of the processes minus the time one process takes with "
        "nothing to compute (imports, connection, declaration), medians not taken (one "
        "run each). Targets (issue 13): keys/s at least 2x DataJoint's; 2 workers / 1 at "
        "least 1.8, 4 / 1 at least 3.4.\n"
    )
