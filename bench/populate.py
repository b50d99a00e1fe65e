"""Benchmark of populate with job reservation (issue 13), against DataJoint 2.3.5 in the
same run:

* keys per second of one process, ``populate(reserve_jobs=True)`` on a trivial table
  (``make`` fetches one value and inserts one row), LabBook vs DataJoint, each on its own
  copy of the table;
* scaling: 1, 2 and 4 LabBook worker processes on a ``make`` that sleeps 50 ms (I/O-bound,
  so two cores do not cap it), throughput relative to one process.

The worker processes are ``tests/integration/shared_pipeline.py`` (the module the shared
populate test runs). Databases ``lbbench_pop*``, dropped at the end."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from pipeline_core import datamodel as dm

KEYS = 1000
SCALING_KEYS = 400
REPEATS = 5
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
    """Seconds from the first of ``n`` processes of ``library`` entering ``populate()`` on
    ``database`` to the last one leaving it (each prints its interval; imports, connection
    and declaration, which vary with the load of the machine, are not counted)."""
    env = dict(
        os.environ,
        PYTHONPATH=ROOT,
        LABBOOK_TEST_MAKE_SECONDS=str(make_seconds),
        LABBOOK_TEST_CALL_LOG="0",
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.shared_pipeline", library, database, f"w{i}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]
    intervals = []
    for proc in procs:
        out = proc.communicate(timeout=600)[0].decode()
        if proc.returncode != 0:
            raise RuntimeError(f"{library} worker failed ({proc.returncode}): {out[-2000:]}")
        line = [line for line in out.splitlines() if line.startswith("populate ")][-1]
        intervals.append([float(x) for x in line.split()[1:]])
    return max(end for _, end in intervals) - min(start for start, _ in intervals)


def bench_populate(dj) -> str:
    """Run the populate benchmarks; the markdown of the section."""
    from bench.run import params

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    runs = {"labbook": [], "datajoint": []}
    for _ in range(REPEATS):  # interleaved
        for library in runs:
            name = f"lbbench_pop_{library}"
            _fresh(conn, name, KEYS)
            runs[library].append(KEYS / _processes(library, name, 1, 0.0))
            conn.query(f"DROP DATABASE `{name}`")
    rates = {library: statistics.median(values) for library, values in runs.items()}
    scaling = {}
    for n in (1, 2, 4):
        name = f"lbbench_pop_scale{n}"
        _fresh(conn, name, SCALING_KEYS)
        scaling[n] = SCALING_KEYS / _processes("labbook", name, n, 0.05)
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
        f"\n\nEach figure: keys over the wall time from the first process entering "
        f"`populate(reserve_jobs=True)` to the last one leaving it (each process prints its "
        f"interval; imports, connection and declaration are not counted); keys/s the median of "
        f"{REPEATS} interleaved runs, scaling one run each. Targets (issue 13): keys/s at "
        "least 2x DataJoint's; 2 workers / 1 at least 1.8, 4 / 1 at least 3.4.\n"
    )
