"""Benchmark of data entry (issue 12), against DataJoint 2.3.5 in the same run:

* checking and saving 1,000 pasted Session rows with two foreign keys (Subject given by
  name, resolved against the parent; Rig by key): the server side of a grid save, i.e.
  :func:`~pipeline_core.datamodel.batch_check.check_rows` with the FK resolver, then one
  transaction inserting the rows with their audit events (what
  :func:`pipeline_core.services.save_rows` runs after the role checks). Reference:
  DataJoint's ``insert`` of the same rows (already resolved, no checks, no trail);
* the dry run alone (the grid's "Check");
* opening the grid on a table of 1,000,000 rows: the first keyset page as the rows API
  reads it (:func:`pipeline_core.datamodel.paging.page`, lazily), and a page deep in
  the table through its cursor, vs DataJoint's ``fetch(limit=, offset=)``.

Databases ``lbbench_entry*``, dropped at the end."""

from __future__ import annotations

import statistics
import time

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit, batch_check, fk_search
from pipeline_core.datamodel.paging import page

DATABASE = "lbbench_entry"
TRAIL = "lbbench_entry_audit"
N_ROWS = 1000
BIG = 1_000_000
REPEAT = 9


def _median(fn, repeat: int = REPEAT, reset=None) -> float:
    times = []
    for _ in range(repeat):
        if reset:
            reset()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pasted_rows() -> list[dict]:
    """1,000 Session rows as pasted: text cells, the subject by name, two foreign keys."""
    names = ["Mickey", "Minnie", "Pluto"]
    return [
        {
            "subject_id": names[i % 3],
            "session_datetime": (
                f"2024-{1 + i // 300:02d}-{1 + i % 28:02d} {8 + i % 10}:{i % 60:02d}"
            ),
            "rig": "AB"[i % 2],
            "weight": f"{20 + i % 7}.5",
            "n_spikes": str(i),
            "notes": f"note {i}",
        }
        for i in range(N_ROWS)
    ]


def bench_entry(dj) -> str:
    """Run the entry benchmarks; the markdown of the section."""
    from bench.run import params
    from tests.web.rows_fixtures import declare_lab

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    conn.query(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    conn.query(f"DROP DATABASE IF EXISTS `{TRAIL}`")
    lab = declare_lab(conn, DATABASE)
    trail = audit.AuditTrail(TRAIL, audit.AuditContext("bench", "cli", "bench"))
    trail.ensure(conn)
    session = lab.Session
    info = session.table_info()
    pasted = _pasted_rows()

    def check():
        result = batch_check.check_rows(
            conn, [batch_check.RowSet("rows", info, pasted)], fk_search.resolve_parents
        )
        assert not result.problems, result.problems[:3]
        return result

    def save():
        result = check()
        conn.audit = trail
        try:
            with trail.batch(), conn.transaction():
                session.insert(result.rows["rows"])
        finally:
            conn.audit = None

    resolved = check().rows["rows"]
    dj_conn = dj.Connection(f"{p['host']}:{p['port']}", p["user"], p["password"])
    dj_session = dj.FreeTable(dj_conn, session.full_table_name)
    dj_rows = [{k: v for k, v in row.items() if v is not None} for row in resolved]

    def empty():
        session.delete_quick()

    t_save = _median(save, reset=empty)
    t_check = _median(check, reset=empty)
    t_dj = _median(lambda: dj_session.insert(dj_rows), reset=empty)
    empty()

    from bench.grid import big_table

    big = big_table(conn, DATABASE + "_big")
    dj_big = dj.FreeTable(dj_conn, big.full_table_name)

    def first_page():
        return page(big, None, None, 100, lazy=True)

    deep_after = {"reading_id": 900_000 - 1}

    def deep_page():
        return page(big, None, deep_after, 100, lazy=True)

    t_first = _median(first_page, 21)
    t_dj_first = _median(lambda: dj_big.fetch(limit=100, order_by="KEY", as_dict=True), 21)
    t_deep = _median(deep_page, 21)
    t_dj_deep = _median(
        lambda: dj_big.fetch(limit=100, offset=900_000, order_by="KEY", as_dict=True), 9
    )
    for name in (DATABASE, DATABASE + "_big", TRAIL):
        conn.query(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()
    dj_conn.close()
    rows = [
        (
            f"check + save {N_ROWS} pasted Session rows (2 FKs, subject by name; one "
            "transaction, audit events)",
            t_save,
            f"DataJoint insert of the same rows: {t_dj * 1000:.1f} ms",
            t_save / t_dj,
        ),
        (f"dry run (Check) of the {N_ROWS} rows", t_check, "", None),
        (
            f"first page (100 rows) of a {BIG:,}-row table",
            t_first,
            f"DataJoint fetch(limit=100): {t_dj_first * 1000:.2f} ms",
            t_first / t_dj_first,
        ),
        (
            "page at row 900,000 (keyset cursor)",
            t_deep,
            f"DataJoint fetch(limit=100, offset=900000): {t_dj_deep * 1000:.1f} ms",
            t_deep / t_dj_deep,
        ),
    ]
    lines = ["| benchmark | LabBook p50 | reference | ratio |", "|---|---|---|---|"]
    for label, ours, ref, ratio in rows:
        shown = "" if ratio is None else f"{ratio:.2f}x"
        lines.append(f"| {label} | {ours * 1000:.1f} ms | {ref} | {shown} |")
    return "\n".join(lines) + (
        "\n\nTargets (issue 12): a save of 1,000 rows under 1 s server time; the grid's "
        "first rows from keyset pages (never COUNT or OFFSET). Medians; the references run "
        "in the same process against the same server.\n"
    )
