"""Benchmark of the foreign-key search (issue 12): a parent of 1,000,000 rows, the search a
picker sends as people type (``services.fk.fk_choices``, as one API request: fresh
introspection, the role check, the search, JSON values), p50/p95 per typed text, against
references measured in the same run: DataJoint 2.3.5's prefix restriction
``(Subject & 'subject_name LIKE "x%"').fetch(limit=20)`` and LabBook's plain keyset page.
Database ``lbbench_fk``, dropped at the end."""

from __future__ import annotations

import os
import statistics
import time
import types

DATABASE = "lbbench_fk"
ROWS = 1_000_000
NAMES = ("Mickey", "Minnie", "Donald", "Daisy", "Goofy", "Pluto", "Scrooge", "Ludwig")
#: (typed text, what it exercises)
TEXTS = [
    ("", "empty: first rows in key order"),
    ("1", "integer key prefix, many matches"),
    ("4821", "integer key prefix"),
    ("999999", "integer key prefix, last rows"),
    ("Mi", "indexed varchar prefix"),
    ("Goofy-77", "indexed varchar prefix"),
    ("oge-1", "substring only, frequent (not searched on a large parent)"),
    ("ooge-12345", "substring only, rare (not searched on a large parent)"),
    ("zzz", "no match at all"),
]
REPEAT = 41


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _timed(fn, repeat: int = REPEAT) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return _percentiles(times)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labbook.settings")
    os.environ.setdefault("SECRET_KEY", "labbook-bench-only")
    import django

    django.setup()


def _declare(dm, conn):
    conn.query(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    schema = dm.Schema(DATABASE, connection=conn)

    @schema
    class Subject(dm.Manual):
        definition = """
        subject_id: int32
        ---
        subject_name: varchar(32)
        sex: enum('F', 'M', 'U')
        index(subject_name)
        """

    @schema
    class Session(dm.Manual):
        definition = """
        -> Subject
        session_id: int16
        """

    chunk = 50_000
    for start in range(1, ROWS + 1, chunk):
        Subject.insert(
            [
                (i, f"{NAMES[i % len(NAMES)]}-{i}", "FMU"[i % 3])
                for i in range(start, min(start + chunk, ROWS + 1))
            ]
        )
    return Subject, Session


def bench_fk(dj) -> str:
    """Foreign-key search on a parent of 1,000,000 rows; markdown of the section."""
    _setup_django()
    from bench.run import params
    from pipeline_core import datamodel as dm
    from pipeline_core import services
    from pipeline_core.datamodel.paging import page
    from pipeline_core.principal import Actor
    from pipeline_core.services import fk as fk_service

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    dj_conn = dj.Connection(f"{p['host']}:{p['port']}", p["user"], p["password"])
    started = time.perf_counter()
    subject, _ = _declare(dm, conn)
    loaded = time.perf_counter() - started
    theirs = dj.VirtualModule("lbbench_fk_dj", DATABASE, connection=dj_conn)
    admin = types.SimpleNamespace(is_authenticated=True, is_active=True, is_superuser=True)
    rows = []
    try:

        def request(text):
            with services.serving(Actor.shell()):
                return fk_service.fk_choices(DATABASE, "session", "subject_id", admin, q=text)

        for text, what in TEXTS:
            found = request(text)["results"]
            p50, p95 = _timed(lambda text=text: request(text))
            pattern = text.replace("%", "%%") + "%%"
            ref = _timed(
                lambda pattern=pattern: (theirs.Subject & f'subject_name LIKE "{pattern}"').fetch(
                    limit=20, order_by="KEY"
                )
            )
            rows.append((f"`{text}` ({what})", len(found), p50, p95, ref[0], ref[1]))
        keyset = _timed(lambda: page(subject(), limit=20))
    finally:
        conn.query(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        dj_conn.close()
        conn.close()

    def ms(seconds):
        return f"{seconds * 1000:,.2f} ms"

    lines = [
        "| typed text | results | search p50 | search p95 | DataJoint prefix p50 | "
        "DataJoint prefix p95 |",
        "|---|---|---|---|---|---|",
        *(
            f"| {label} | {n} | {ms(a)} | {ms(b)} | {ms(c)} | {ms(d)} |"
            for label, n, a, b, c, d in rows
        ),
        "",
        f"Reference: LabBook's keyset page of 20 rows (`paging.page`) p50 {ms(keyset[0])}, "
        f"p95 {ms(keyset[1])}.",
        "",
        f"Parent `Subject` of {ROWS:,} rows (int32 key, `subject_name` varchar(32) with "
        "`index(subject_name)`, values `Goofy-77`, and an enum), loaded by LabBook in "
        f"{loaded:.0f} s; child `Session(-> Subject, session_id)`. Search = "
        "`services.fk.fk_choices` for `Session.subject_id` as one API request does it (fresh "
        "introspection, role check, search, JSON values), limit 20; "
        f"{REPEAT} runs after a warm-up, p50 and p95. DataJoint: "
        '`(Subject & \'subject_name LIKE "<text>%"\').fetch(limit=20, order_by="KEY")` on its '
        "own connection (a prefix of the name only, no substring phase). A parent above "
        "`fk_search.SCAN_ROWS` (100,000) rows is searched through index ranges only: "
        "substrings find nothing there (smaller parents are scanned for them too).",
    ]
    return "\n".join(lines)
