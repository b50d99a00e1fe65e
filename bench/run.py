"""LabBook benchmarks (``make bench``): each compared with ``datajoint==2.3.5`` in the same
run where DataJoint does the same work. Writes ``bench/results.md`` and prints it.

Benchmarks use their own databases ``lbbench_*`` on the DJ_HOST server, dropped at the end.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from pipeline_core import datamodel as dm  # noqa: E402
from pipeline_core.datamodel.catalog import Catalog  # noqa: E402
from pipeline_core.datamodel.codecs import blob  # noqa: E402
from pipeline_core.datamodel.fetch import page_after  # noqa: E402


def params() -> dict:
    host = os.environ.get("DJ_HOST", "127.0.0.1:3306")
    host, _, port = host.partition(":")
    return dict(host=host, port=int(port or 3306), user=os.environ.get("DJ_USER", "root"),
                password=os.environ.get("DJ_PASS", ""))


def timeit(fn, repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_blob(dj) -> list[tuple]:
    rows = []
    for label, array in [("1 MB random", np.random.default_rng(0).standard_normal(2**17)),
                         ("1 MB arange", np.arange(2**17, dtype=np.float64)),
                         ("16 MB random", np.random.default_rng(1).standard_normal(2**21))]:
        repeat = 9 if "1 MB" in label else 3
        for compress in (False, True):
            ours = timeit(lambda: blob.pack(array, compress=compress), repeat)
            theirs = timeit(lambda: dj.blob.pack(array, compress=compress), repeat)
            rows.append((f"pack {label}, compress={compress}", ours, theirs))
            packed = dj.blob.pack(array, compress=compress)
            ours = timeit(lambda: blob.unpack(packed), repeat)
            theirs = timeit(lambda: dj.blob.unpack(packed), repeat)
            rows.append((f"unpack {label}, compress={compress}", ours, theirs))
    return rows


def bench_introspection(conn, dj, dj_conn, n_tables: int = 500) -> list[tuple]:
    database = "lbbench_intro"
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    schema = dm.Schema(database, connection=conn)
    previous = None
    for i in range(n_tables):
        body = f"-> T{i - 1}\n" if previous else ""
        cls = type(f"T{i}", (dm.Manual,), {"definition": body + f"id{i}: int32\n---\nv: varchar(20)\nw=null: <blob>"})
        previous = schema(cls, context={f"T{i - 1}": previous} if previous else {})
    seconds = timeit(lambda: Catalog(conn).tables(database), 5)
    from pipeline_core.datamodel.report import schemas_report
    from pipeline_core.datamodel.catalog import catalog_of

    def fresh_report():
        catalog_of(conn).invalidate()  # measure introspection, not the cache
        return schemas_report(conn, [database])
    report = timeit(fresh_report, 3)
    names = [t.table_name for t in Catalog(conn).tables(database)]

    def datajoint_headings():
        for name in names:
            dj.FreeTable(dj_conn, f"`{database}`.`{name}`").heading.attributes
    theirs = timeit(datajoint_headings, 1)
    conn.query(f"DROP DATABASE `{database}`")
    return [(f"introspect {n_tables} tables (chain of FKs, blobs; DJ: every heading)", seconds, theirs),
            (f"inspect report of {n_tables} tables, exact row counts included", report, None)]


def bench_populate(conn, dj, dj_conn, n_keys: int = 300) -> list[tuple]:
    rows = []
    for reserve in (False, True):
        times = {}
        for name, lib, c in (("ours", dm, conn), ("theirs", dj, dj_conn)):
            database = f"lbbench_pop_{name}"
            conn.query(f"DROP DATABASE IF EXISTS `{database}`")
            schema = lib.Schema(database, connection=c)
            source = schema(type("Source", (lib.Manual,), {"definition": "source_id: int32"}), context={})

            def make(self, key):
                self.insert1(dict(key, v=key["source_id"] * 2))
            target = schema(type("Target", (lib.Computed,), {"definition": "-> Source\n---\nv: int32",
                                                              "make": make}), context={"Source": source})
            source.insert([{"source_id": i} for i in range(n_keys)])
            start = time.perf_counter()
            target.populate(reserve_jobs=reserve)
            times[name] = time.perf_counter() - start
            conn.query(f"DROP DATABASE `{database}`")
        rows.append((f"populate {n_keys} trivial keys, reserve_jobs={reserve}", times["ours"], times["theirs"]))
    return rows


def bench_paging(conn, n_rows: int = 100_000) -> list[tuple]:
    database = "lbbench_page"
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    schema = dm.Schema(database, connection=conn)
    table = schema(type("Reading", (dm.Manual,), {"definition": "sensor: int32\nt: int32\n---\nvalue: float64"}),
                   context={})
    table.insert([dict(sensor=i // 1000, t=i % 1000, value=i * 0.5) for i in range(n_rows)], chunk_size=5000)
    deep = {"sensor": 95, "t": 0}
    keyset = timeit(lambda: page_after(table(), deep, 100), 9)
    offset = timeit(lambda: table.to_dicts(order_by="KEY", limit=100, offset=95_000), 9)
    conn.query(f"DROP DATABASE `{database}`")
    return [(f"page of 100 at row 95,000 of {n_rows:,}: keyset (vs OFFSET in 'theirs' column)", keyset, offset)]


def main() -> None:
    import datajoint as dj
    dj.config["safemode"] = False
    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    dj_conn = dj.Connection(f"{p['host']}:{p['port']}", p["user"], p["password"])
    results = bench_blob(dj) + bench_introspection(conn, dj, dj_conn) + bench_populate(conn, dj, dj_conn) \
        + bench_paging(conn)
    lines = ["| benchmark | LabBook | DataJoint 2.3.5 | ratio (DJ / ours) |", "|---|---|---|---|"]
    for label, ours, theirs in results:
        ratio = f"{theirs / ours:.2f}x" if theirs else "—"
        lines.append(f"| {label} | {ours * 1000:.2f} ms | "
                     f"{'—' if theirs is None else f'{theirs * 1000:.2f} ms'} | {ratio} |")
    text = "\n".join(lines)
    (ROOT / "bench" / "results.md").write_text(
        f"# Benchmark results\n\nMedian wall times on this machine ({time.strftime('%Y-%m-%d')}).\n\n"
        + text + "\n")
    print(text)


if __name__ == "__main__":
    main()
