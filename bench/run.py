"""LabBook benchmarks (``make bench``): each compared with ``datajoint==2.3.5`` in the same
run where DataJoint does the same work. Writes ``bench/results.md`` and prints it.

``bench/run.py`` runs every section; ``bench/run.py blob``, ``bench/run.py db``,
``bench/run.py query``, ``bench/run.py audit``, ``bench/run.py fk`` (bench/fk.py) or
``bench/run.py entry`` (bench/entry.py), ``bench/run.py grid`` (bench/grid.py),
``bench/run.py recovery`` (bench/recovery.py), ``bench/run.py export`` (bench/export.py)
or ``bench/run.py pages`` (bench/pages.py) runs one
and rewrites only its section of results.md. The db and
query sections use their own databases ``lbbench_*`` on the DJ_HOST server, dropped at the end.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from pipeline_core import datamodel as dm  # noqa: E402
from pipeline_core.datamodel.catalog import Catalog  # noqa: E402
from pipeline_core.datamodel.codecs import blob  # noqa: E402
from pipeline_core.datamodel.paging import page  # noqa: E402


def params() -> dict:
    host = os.environ.get("DJ_HOST", "127.0.0.1:3306")
    host, _, port = host.partition(":")
    return dict(
        host=host,
        port=int(port or 3306),
        user=os.environ.get("DJ_USER", "root"),
        password=os.environ.get("DJ_PASS", ""),
    )


def timeit(fn, repeat: int) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timeit_pair(ours, theirs, repeat: int, theirs_repeat: int | None = None) -> tuple[float, float]:
    """Median wall times (s) of ``ours()`` and ``theirs()``, runs interleaved (and which one
    goes first alternating) so both see the same load and the same allocator state."""
    times: tuple[list, list] = ([], [])
    for i in range(max(repeat, theirs_repeat or repeat)):
        pair = ((ours, repeat, times[0]), (theirs, theirs_repeat or repeat, times[1]))
        for fn, n, bucket in pair if i % 2 == 0 else pair[::-1]:
            if i < n:
                start = time.perf_counter()
                fn()
                bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


MIB = 2**20
#: (label, float64 elements, repeats; DataJoint's compressed pack of 100 MB takes ~5-9 s: fewer)
BLOB_SIZES = [("1 MB", MIB // 8, 9, 9), ("100 MB", 100 * MIB // 8, 3, 2)]


def _blob_data(n: int) -> dict[str, np.ndarray]:
    return {
        "random": np.random.default_rng(0).standard_normal(n),
        "arange": np.arange(n, dtype=np.float64),
    }


def bench_blob(dj) -> str:
    """Blob pack/unpack, LabBook vs DataJoint (spec §13 sizes), and LabBook's peak pack memory.

    Returns the markdown of the section. "1 MB" = 2^20 bytes of float64; MB/s uses 10^6.
    """
    rows = []
    for size, n, repeat, dj_compressed_repeat in BLOB_SIZES:
        for data, array in _blob_data(n).items():
            mb = array.nbytes / 1e6
            for compress in (False, True):
                label = f"{size} {data}, compress={compress}"
                ours_blob, dj_blob = (
                    blob.pack(array, compress=compress),
                    dj.blob.pack(array, compress=compress),
                )
                ours, theirs = timeit_pair(
                    lambda array=array, compress=compress: blob.pack(array, compress=compress),
                    lambda array=array, compress=compress: dj.blob.pack(array, compress=compress),
                    repeat,
                    dj_compressed_repeat if compress else repeat,
                )
                sizes = f"{len(ours_blob) / 1e6:.2f} / {len(dj_blob) / 1e6:.2f} MB"
                rows.append((f"pack {label}", ours, theirs, f"{mb / ours:,.0f}", sizes))
                readers = [("LabBook's blob", ours_blob)] + (
                    [("DataJoint's blob", dj_blob)] if compress else []
                )
                for whose, packed in readers:
                    ours, theirs = timeit_pair(
                        lambda packed=packed: blob.unpack(packed),
                        lambda packed=packed: dj.blob.unpack(packed),
                        repeat,
                    )
                    zlib_blob = packed[:6] == b"ZL123\0"
                    rows.append(
                        (
                            f"unpack {label} ({whose}{', zlib' if zlib_blob else ', raw'})",
                            ours,
                            theirs,
                            f"{mb / ours:,.0f}" if zlib_blob else "zero-copy",
                            "",
                        )
                    )
                del ours_blob, dj_blob
    lines = [
        "| benchmark | LabBook | DataJoint 2.3.5 | ratio (DJ / ours) | LabBook MB/s "
        "| size LabBook / DJ |",
        "|---|---|---|---|---|---|",
    ]
    for label, ours, theirs, speed, sizes in rows:
        lines.append(
            f"| {label} | {ours * 1000:,.2f} ms | {theirs * 1000:,.2f} ms | {theirs / ours:,.2f}x "
            f"| {speed} | {sizes} |"
        )
    lines += [
        "",
        "Data: float64, `random` = standard normal, `arange` = `np.arange`; 1 MB = 2^20 bytes of "
        "array, MB/s = array bytes / 10^6 / LabBook's time. Unpack rows time both libraries on the "
        "same bytes. Repeats: 1 MB x9; 100 MB x3 (DataJoint's compressed pack x2).",
        "",
        "Peak traced memory (tracemalloc) of LabBook's `pack` of the 100 MB arrays, "
        "as a multiple of the array size:",
        "",
        '| data | compress=False | compress=True | compress=True, compression="datajoint" |',
        "|---|---|---|---|",
    ]
    for data, array in _blob_data(BLOB_SIZES[-1][1]).items():
        peaks = [
            _peak_multiple(array, **kwargs)
            for kwargs in (dict(compress=False), {}, dict(compression="datajoint"))
        ]
        lines.append(f"| {data} | " + " | ".join(f"{peak:.2f}x" for peak in peaks) + " |")
    return "\n".join(lines)


def _peak_multiple(array: np.ndarray, **kwargs) -> float:
    tracemalloc.start()
    try:
        blob.pack(array, **kwargs)
        return tracemalloc.get_traced_memory()[1] / array.nbytes
    finally:
        tracemalloc.stop()


def bench_introspection(conn, dj, dj_conn, n_tables: int = 500) -> list[tuple]:
    database = "lbbench_intro"
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    schema = dm.Schema(database, connection=conn)
    previous = None
    for i in range(n_tables):
        body = f"-> T{i - 1}\n" if previous else ""
        cls = type(
            f"T{i}",
            (dm.Manual,),
            {"definition": body + f"id{i}: int32\n---\nv: varchar(20)\nw=null: <blob>"},
        )
        previous = schema(cls, context={f"T{i - 1}": previous} if previous else {})
    seconds = timeit(lambda: Catalog(conn).tables(database), 5)
    from pipeline_core.datamodel.catalog import catalog_of
    from pipeline_core.datamodel.report import schemas_report

    def fresh_report():
        catalog_of(conn).invalidate()  # measure introspection, not the cache
        return schemas_report(conn, [database])

    report = timeit(fresh_report, 3)
    names = [t.table_name for t in Catalog(conn).tables(database)]

    def datajoint_headings():
        for name in names:
            _ = dj.FreeTable(dj_conn, f"`{database}`.`{name}`").heading.attributes

    theirs = timeit(datajoint_headings, 1)
    conn.query(f"DROP DATABASE `{database}`")
    return [
        (f"introspect {n_tables} tables (chain of FKs, blobs; DJ: every heading)", seconds, theirs),
        (f"inspect report of {n_tables} tables, exact row counts included", report, None),
    ]


def bench_populate(conn, dj, dj_conn, n_keys: int = 300) -> list[tuple]:
    rows = []
    for reserve in (False, True):
        times = {}
        for name, lib, c in (("ours", dm, conn), ("theirs", dj, dj_conn)):
            database = f"lbbench_pop_{name}"
            conn.query(f"DROP DATABASE IF EXISTS `{database}`")
            schema = lib.Schema(database, connection=c)
            source = schema(
                type("Source", (lib.Manual,), {"definition": "source_id: int32"}), context={}
            )

            def make(self, key):
                self.insert1(dict(key, v=key["source_id"] * 2))

            target = schema(
                type(
                    "Target",
                    (lib.Computed,),
                    {"definition": "-> Source\n---\nv: int32", "make": make},
                ),
                context={"Source": source},
            )
            source.insert([{"source_id": i} for i in range(n_keys)])
            start = time.perf_counter()
            target.populate(reserve_jobs=reserve)
            times[name] = time.perf_counter() - start
            conn.query(f"DROP DATABASE `{database}`")
        rows.append(
            (
                f"populate {n_keys} trivial keys, reserve_jobs={reserve}",
                times["ours"],
                times["theirs"],
            )
        )
    return rows


def bench_paging(conn, n_rows: int = 100_000) -> list[tuple]:
    database = "lbbench_page"
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    schema = dm.Schema(database, connection=conn)
    table = schema(
        type(
            "Reading", (dm.Manual,), {"definition": "sensor: int32\nt: int32\n---\nvalue: float64"}
        ),
        context={},
    )
    table.insert(
        [dict(sensor=i // 1000, t=i % 1000, value=i * 0.5) for i in range(n_rows)], chunk_size=5000
    )
    deep = {"sensor": 95, "t": 0}
    keyset = timeit(lambda: page(table(), None, deep, 100), 9)
    offset = timeit(lambda: table.to_dicts(order_by="KEY", limit=100, offset=95_000), 9)
    conn.query(f"DROP DATABASE `{database}`")
    return [
        (
            f"page of 100 at row 95,000 of {n_rows:,}: keyset (vs OFFSET in 'theirs' column)",
            keyset,
            offset,
        )
    ]


SECTIONS = (
    "blob",
    "db",
    "query",
    "audit",
    "fk",
    "entry",
    "populate",
    "grid",
    "recovery",
    "export",
    "pages",
)


def bench_db(dj) -> str:
    """Introspection, populate and paging against the DJ_HOST server; markdown of the section."""
    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    dj_conn = dj.Connection(f"{p['host']}:{p['port']}", p["user"], p["password"])
    results = (
        bench_introspection(conn, dj, dj_conn)
        + bench_populate(conn, dj, dj_conn)
        + bench_paging(conn)
    )
    lines = ["| benchmark | LabBook | DataJoint 2.3.5 | ratio (DJ / ours) |", "|---|---|---|---|"]
    for label, ours, theirs in results:
        ratio = f"{theirs / ours:.2f}x" if theirs else "—"
        lines.append(
            f"| {label} | {ours * 1000:.2f} ms | "
            f"{'—' if theirs is None else f'{theirs * 1000:.2f} ms'} | {ratio} |"
        )
    return "\n".join(lines)


# --- query section (issue 5) -------------------------------------------------------------------
QUERY_DATABASES = ("lbbench_query_pipeline", "lbbench_query_fetch", "lbbench_query_page")
QUERY_OPERATORS = [
    ("restrict by dict", '`Subject & {"species": "mouse"}`'),
    ("restrict by SQL string", '`Session & "duration > 35 or duration is null"`'),
    ("join", "`(1) * (2)`"),
    (
        "proj with rename and computed attribute",
        '`.proj("rig", sdate="session_date", age="datediff(session_date, dob)")`',
    ),
    ("aggr", '`.aggr(Session.Trial, n="count(*)", rt="avg(reaction_time)")`'),
    ("restrict by SQL string on a computed attribute", '`& "n > 3"`'),
    ("restrict by query", "`Session.Trial & (6)`"),
    ("U aggregation", '`U("subject_id").aggr((7), trials="count(*)", acc="avg(correct)")`'),
    ("difference by dict", '`- {"subject_id": 1}`'),
    ("Top", '`& Top(5, ["trials DESC", "KEY"])`'),
]


def query_expression(m):
    """The 10-operator expression of QUERY_OPERATORS over namespace ``m`` (either library)."""
    mice = m.Subject & {"species": "mouse"}  # 1
    sessions = m.Session & "duration > 35 or duration is null"  # 2
    joined = mice * sessions  # 3
    projected = joined.proj("rig", sdate="session_date", age="datediff(session_date, dob)")  # 4
    counted = projected.aggr(m.Session.Trial, n="count(*)", rt="avg(reaction_time)")  # 5
    busy = counted & "n > 3"  # 6
    trials = m.Session.Trial & busy  # 7
    per_subject = m.U("subject_id").aggr(trials, trials="count(*)", acc="avg(correct)")  # 8
    others = per_subject - {"subject_id": 1}  # 9
    return others & m.Top(5, ["trials DESC", "KEY"])  # 10


def _canonical_rows(rows) -> list:
    from tests.oracle.query_compare import canonical

    return [canonical(row) for row in rows]


def bench_compile(conn, dj, dj_conn, repeat: int = 501) -> list[tuple]:
    """Build + compile (``make_sql``) the 10-operator expression on tests/oracle/query_pipeline.py,
    declared and filled by datajoint, read by LabBook through a VirtualModule."""
    import types

    from tests.oracle import query_pipeline

    database = QUERY_DATABASES[0]
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    classes = query_pipeline.declare(dj, dj.Schema(database, connection=dj_conn))
    query_pipeline.load(classes, query_pipeline.rows())
    theirs = types.SimpleNamespace(**vars(classes), U=dj.U, Top=dj.Top)
    module = dm.VirtualModule("lbbench_query", database, connection=conn)
    ours = types.SimpleNamespace(
        **{name: getattr(module, name) for name in query_pipeline.ORDER}, U=dm.U, Top=dm.Top
    )
    mine, other = query_expression(ours).to_dicts(), query_expression(theirs).to_dicts()
    assert mine and _canonical_rows(mine) == _canonical_rows(other), (mine, other)
    ours_s, theirs_s = timeit_pair(
        lambda: query_expression(ours).make_sql(),
        lambda: query_expression(theirs).make_sql(),
        repeat,
    )
    return [
        (
            "build + compile a 10-operator expression (`make_sql`, no execution)",
            ours_s,
            theirs_s,
            "us",
        )
    ]


WIDE = """
    row_id: int32
    ---
    n_items: int32
    big: int64
    x: float64
    y: float32
    label: varchar(32)
    code: varchar(8)
    day: date
    maybe_x=null: float64
    maybe_label=null: varchar(16)
    """


def bench_fetch(
    conn, dj, dj_conn, n_rows: int = 100_000, repeat: int = 3
) -> tuple[list[tuple], list[str]]:
    """Fetch ``n_rows`` x 10 columns as dicts; LabBook's ``stream()`` and peak memories."""
    import datetime

    database = QUERY_DATABASES[1]
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    schema = dm.Schema(database, connection=conn)
    table = schema(type("Wide", (dm.Manual,), {"definition": WIDE}), context={})
    day0 = datetime.date(2020, 1, 1)
    table.insert(
        (
            {
                "row_id": i,
                "n_items": i % 1000 - 500,
                "big": i * 1_000_003,
                "x": i / 7,
                "y": (i % 100) / 4,
                "label": f"label {i:07d}",
                "code": "ABCDEFGH"[i % 8] * (1 + i % 8),
                "day": day0 + datetime.timedelta(days=i % 3000),
                "maybe_x": None if i % 3 == 0 else i * 0.25,
                "maybe_label": None if i % 3 == 1 else f"m{i % 97}",
            }
            for i in range(n_rows)
        ),
        chunk_size=5000,
    )
    ours_expr = table()
    theirs_expr = dj.FreeTable(dj_conn, f"`{database}`.`wide`")
    tail = f"row_id >= {n_rows - 1000}"  # same values from both (all rows are compared by count)
    assert len(ours_expr) == len(theirs_expr) == n_rows
    assert _canonical_rows((ours_expr & tail).to_dicts()) == _canonical_rows(
        (theirs_expr & tail).to_dicts()
    )
    ours_s, theirs_s = timeit_pair(ours_expr.to_dicts, theirs_expr.to_dicts, repeat)

    def drain():
        count = 0
        for _ in ours_expr.stream():
            count += 1
        assert count == n_rows

    stream_s = timeit(drain, repeat)
    peaks = {
        name: _peak_mb(fn) for name, fn in (("to_dicts", ours_expr.to_dicts), ("stream", drain))
    }
    label = f"{n_rows:,} rows x 10 columns (int, float, varchar, date, nullable)"
    rows = [
        (f"fetch {label} as dicts (`to_dicts`)", ours_s, theirs_s, "ms"),
        ("iterate the same rows with LabBook's `stream()` (batches of 1000)", stream_s, None, "ms"),
    ]
    memory = [
        f"{peaks['to_dicts']:,.1f} MB with `to_dicts()` (the result list), "
        f"{peaks['stream']:,.1f} MB iterating `stream()`"
    ]
    return rows, memory


def _peak_mb(fn) -> float:
    """Peak traced memory (tracemalloc) of ``fn()`` in MB (10^6 bytes), the result kept alive."""
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del result
        return peak / 1e6
    finally:
        tracemalloc.stop()


def bench_keyset(
    conn, dj, dj_conn, n_rows: int = 200_000, page_size: int = 1000, repeat: int = 3
) -> list[tuple]:
    """Page through ``n_rows`` with a compound key: LabBook keyset pages vs DataJoint's
    ``to_dicts(order_by="KEY", limit, offset)``; totals and the last page."""
    from pipeline_core.datamodel.paging import page

    database = QUERY_DATABASES[2]
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    schema = dm.Schema(database, connection=conn)
    per_sensor = 800  # pages of 1000 end inside a sensor: the expanded condition matters
    table = schema(
        type(
            "Reading",
            (dm.Manual,),
            {"definition": "sensor_id: int32\nt: int32\n---\nvalue: float64"},
        ),
        context={},
    )
    table.insert(
        (
            {"sensor_id": i // per_sensor, "t": (i % per_sensor) * 3, "value": i * 0.5}
            for i in range(n_rows)
        ),
        chunk_size=10_000,
    )
    ours_expr = table()
    theirs_expr = dj.FreeTable(dj_conn, f"`{database}`.`reading`")
    n_pages = n_rows // page_size
    last = {"ours": [], "theirs": []}
    last_rows = {}

    def ours():
        cursor, pages, count = None, 0, 0
        while True:
            start = time.perf_counter()
            rows, cursor = page(ours_expr, None, cursor, page_size)
            elapsed = time.perf_counter() - start
            pages, count = pages + 1, count + len(rows)
            if cursor is None:
                break
        assert pages == n_pages and count == n_rows, (pages, count)
        last["ours"].append(elapsed)
        last_rows["ours"] = rows

    def theirs():
        count = 0
        for k in range(0, n_rows, page_size):
            start = time.perf_counter()
            rows = theirs_expr.to_dicts(order_by="KEY", limit=page_size, offset=k)
            elapsed = time.perf_counter() - start
            count += len(rows)
        assert count == n_rows
        last["theirs"].append(elapsed)
        last_rows["theirs"] = rows

    ours_s, theirs_s = timeit_pair(ours, theirs, repeat)
    assert _canonical_rows(last_rows["ours"]) == _canonical_rows(last_rows["theirs"])
    label = f"{n_rows:,} rows, compound key (sensor_id, t), pages of {page_size:,}"
    return [
        (
            f"page through {label}: all {n_pages} pages (LabBook keyset; DJ `limit`/`offset`)",
            ours_s,
            theirs_s,
            "ms",
        ),
        (
            f"the last page ({n_pages}th) of that walk",
            statistics.median(last["ours"]),
            statistics.median(last["theirs"]),
            "ms",
        ),
    ]


def bench_query(dj) -> str:
    """Query API: compile, bulk fetch and paging, LabBook vs DataJoint; markdown of the section."""
    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    dj_conn = dj.Connection(f"{p['host']}:{p['port']}", p["user"], p["password"])
    try:
        results = bench_compile(conn, dj, dj_conn)
        fetched, memory = bench_fetch(conn, dj, dj_conn)
        results += fetched + bench_keyset(conn, dj, dj_conn)
    finally:
        for database in QUERY_DATABASES:
            conn.query(f"DROP DATABASE IF EXISTS `{database}`")

    def shown(seconds, unit):
        if seconds is None:
            return "—"
        return f"{seconds * 1e6:,.0f} µs" if unit == "us" else f"{seconds * 1000:,.2f} ms"

    lines = ["| benchmark | LabBook | DataJoint 2.3.5 | ratio (DJ / ours) |", "|---|---|---|---|"]
    for label, ours, theirs, unit in results:
        ratio = f"{theirs / ours:.2f}x" if theirs else "—"
        lines.append(f"| {label} | {shown(ours, unit)} | {shown(theirs, unit)} | {ratio} |")
    operators = "; ".join(
        f"({i}) {what}: {code}" for i, (what, code) in enumerate(QUERY_OPERATORS, 1)
    )
    lines += [
        "",
        "The 10-operator expression, on tests/oracle/query_pipeline.py declared and filled by "
        "DataJoint and read by LabBook through `dm.VirtualModule` (same expression code for both; "
        f"both return the same 5 rows, checked once outside the timing): {operators}. "
        "Timed per expression: building it from the table classes and `make_sql()`, no "
        "execution (median of 501 interleaved runs).",
        "",
        "Fetch: a table of 100,000 rows x 10 columns (int32 key, int32, int64, float64, float32, "
        "two varchar, date, nullable float64 and varchar with a third NULL each), inserted by "
        "LabBook in chunks of 5,000; both fetch every row as dicts (median of 3 interleaved runs; "
        "`stream()` median of 3). Peak traced memory (tracemalloc, one run each) of LabBook: "
        f"{memory[0]}.",
        "",
        "Paging: 200,000 rows keyed by (sensor_id int32, t int32) (250 sensors x 800 t), pages of "
        "1,000 (200 pages; page boundaries fall inside a sensor). LabBook: "
        "`paging.page(expr, None, cursor, 1000)` page after page, each page a range scan "
        "`sensor_id > s OR (sensor_id = s AND t > t0)`; DataJoint has no keyset paging, so its "
        'pages are `to_dicts(order_by="KEY", limit=1000, offset=k)`. Median of 3 walks; the last '
        "page rows of both are checked equal. Databases `lbbench_query_*`, dropped at the end.",
    ]
    return "\n".join(lines)


# --- audit section (issue 11) ------------------------------------------------------------------
AUDIT_DATABASES = ("lbbench_audit_pipeline", "lbbench_audit_trail")


def _audit_pipeline(conn):
    """A Manual table ``Trial`` (trial_id, value) and a Computed ``Double`` of it."""
    conn.query(f"DROP DATABASE IF EXISTS `{AUDIT_DATABASES[0]}`")
    schema = dm.Schema(AUDIT_DATABASES[0], connection=conn)
    trial = schema(
        type("Trial", (dm.Manual,), {"definition": "trial_id: int32\n---\nvalue: float64"}),
        context={},
    )

    def make(self, key):
        self.insert1(dict(key, v=2 * (trial & key).fetch1("value")))

    double = schema(
        type("Double", (dm.Computed,), {"definition": "-> Trial\n---\nv: float64", "make": make}),
        context={"Trial": trial},
    )
    return trial, double


def bench_audit(dj) -> str:
    """The cost of the audit trail (events in the write's transaction, datamodel/audit.py):
    the same writes with the trail on and off, interleaved; markdown of the section. The
    reference ('off') is LabBook itself without a trail: DataJoint keeps none."""
    from pipeline_core.datamodel import audit

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    trail = audit.AuditTrail(AUDIT_DATABASES[1], audit.AuditContext("bench", "cli", "bench"))
    conn.query(f"DROP DATABASE IF EXISTS `{AUDIT_DATABASES[1]}`")
    trail.ensure(conn)
    trial, double = _audit_pipeline(conn)
    n_rows, n_keys, n_updates = 1000, 300, 100
    rows = [{"trial_id": i, "value": i * 0.5} for i in range(n_rows)]

    def on(fn):
        def run():
            conn.audit = trail
            try:
                fn()
            finally:
                conn.audit = None

        return run

    def insert_then_delete():
        trial.insert(rows)
        trial.delete_quick()

    def populate_keys():
        double.populate(f"trial_id < {n_keys}")
        double.delete_quick()

    def updates():
        for i in range(n_updates):
            trial.update1({"trial_id": i, "value": float(i)})

    def cascade():
        double.populate(f"trial_id < {n_keys}")
        trial.delete()
        trial.insert(rows)

    results = []
    trial.insert(rows)
    for label, fn, repeat in (
        (f"populate {n_keys} keys (one event per key)", populate_keys, 5),
        (f"update1 x {n_updates} (old values read first)", updates, 5),
        (f"cascading delete of {n_rows} + {n_keys} rows, then re-insert", cascade, 5),
    ):
        off, with_trail = timeit_pair(fn, on(fn), repeat)
        results.append((label, off, with_trail))
    trial.delete_quick()
    off, with_trail = timeit_pair(insert_then_delete, on(insert_then_delete), 7)
    results.insert(0, (f"insert {n_rows} rows, then delete them", off, with_trail))
    events = conn.query(f"SELECT COUNT(*) FROM `{AUDIT_DATABASES[1]}`.`event`").fetchone()[0]
    for database in AUDIT_DATABASES:
        conn.query(f"DROP DATABASE `{database}`")
    lines = [
        "| benchmark | trail off | trail on | ratio (on / off) |",
        "|---|---|---|---|",
        *(
            f"| {label} | {off * 1000:.2f} ms | {on_ * 1000:.2f} ms | {on_ / off:.2f}x |"
            for label, off, on_ in results
        ),
    ]
    return "\n".join(lines) + (
        f"\n\nThe same LabBook writes with the trail off (the reference: DataJoint keeps no "
        f"trail) and on (one event per row or key, in the write's transaction; deletes read "
        f"the keys first), runs interleaved, medians. Table `Trial` (int32 key, float64) and "
        f"`Double` computed from it. {events:,} events written in all.\n"
    )


TITLES = {
    "blob": "Blob codec (`<blob>`, spec §4, §13)",
    "db": "Data model on MariaDB",
    "query": "Query API on MariaDB (issue 5)",
    "audit": "Audit trail on MariaDB (issue 11)",
    "fk": "Foreign-key search on MariaDB (issue 12)",
    "entry": "Data entry: batch check and save, grid pages (issue 12)",
    "populate": "Populate with job reservation, and scaling with workers (issue 13)",
    "grid": "Entry grid in Chromium: first rows visible on 1,000,000 rows (issue 12)",
    "recovery": "Dead workers: from a lost reservation to pending again (issue 13)",
    "export": "Export: 1,000,000 rows as CSV, streamed (issue 14)",
    "pages": "Speed of pages: HTML pages against the floor, gunicorn (issue 14)",
}


def write_results(texts: dict[str, str]) -> str:
    """Replace the given sections of bench/results.md.

    The sections are between ``<!-- bench:NAME -->`` markers.
    """
    path = ROOT / "bench" / "results.md"
    old = path.read_text() if path.exists() else ""
    parts = []
    for name in SECTIONS:
        found = re.search(rf"<!-- bench:{name} -->\n.*?<!-- /bench:{name} -->\n", old, re.S)
        if name in texts:
            parts.append(
                f"<!-- bench:{name} -->\n## {TITLES[name]} ({time.strftime('%Y-%m-%d')})\n\n"
                f"{texts[name]}\n<!-- /bench:{name} -->\n"
            )
        elif found:
            parts.append(found.group(0))
    text = (
        "# Benchmark results\n\nMedian wall times on this machine; DataJoint 2.3.5 runs in the "
        "same process. `make bench` reruns every section, `bench/run.py blob`, `bench/run.py db`, "
        "`bench/run.py query`, `bench/run.py audit`, `bench/run.py fk`, `bench/run.py entry`, "
        "`bench/run.py grid`, `bench/run.py recovery`, `bench/run.py export` or "
        "`bench/run.py pages` one.\n\n" + "\n".join(parts)
    )
    path.write_text(text)
    return text


def main(argv: list[str]) -> None:
    import datajoint as dj

    dj.config["safemode"] = False
    wanted = argv or list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    from bench.entry import bench_entry
    from bench.export import bench_export
    from bench.fk import bench_fk
    from bench.grid import bench_grid
    from bench.pages import bench_pages
    from bench.populate import bench_populate
    from bench.recovery import bench_recovery

    runners = {
        "blob": bench_blob,
        "db": bench_db,
        "query": bench_query,
        "audit": bench_audit,
        "fk": bench_fk,
        "entry": bench_entry,
        "populate": bench_populate,
        "grid": bench_grid,
        "recovery": bench_recovery,
        "export": bench_export,
        "pages": bench_pages,
    }
    texts = {}
    for name in SECTIONS:
        if name in wanted:
            started = time.perf_counter()
            texts[name] = runners[name](dj)
            print(
                f"## {TITLES[name]} ({time.perf_counter() - started:.0f} s)\n\n{texts[name]}\n",
                flush=True,
            )
    write_results(texts)


if __name__ == "__main__":
    main(sys.argv[1:])
