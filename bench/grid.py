"""Benchmark of the entry grid (issue 12) in headless Chromium: the time from navigation to
the first rows visible in the grid of a table of 1,000,000 rows (target < 300 ms), with the
plain table page of the same table as the reference.

A LabBook server (``manage.py runserver``, ``DEBUG=1`` so that static files are served) runs
in a subprocess on a free port with a Django database of its own; Chromium (Debian's
``/usr/bin/chromium`` through Playwright) logs in through the login form, then opens each
page ``REPEAT`` times. The time is ``performance.now()`` (milliseconds since the navigation
started) at the first animation frame where a row is in the document: ``#grid
.tabulator-row`` for the grid (its rows arrive by the rows API: the page, the vendored
scripts, the first keyset page of 200 rows), ``table.rows tbody tr`` for the table page
(100 rows rendered by the server). The first visit (empty cache) is reported apart.

Databases ``lbbench_grid*``, dropped at the end."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipeline_core import datamodel as dm

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "lbbench_grid"
DJANGO_DB = "lbbench_grid_django"
AUDIT_DB = "lbbench_grid_audit"
BIG = 1_000_000
REPEAT = 9
TARGET_MS = 300
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-Pass-4321"


def big_table(conn, database: str = DATABASE):
    """A Manual table ``Reading`` of 1,000,000 rows (int32 key, a varchar, a float) in a new
    database ``database``, filled by the server from MariaDB's sequence engine
    (``seq_0_to_999999``) in one statement. Also used by bench/entry.py."""
    conn.query(f"DROP DATABASE IF EXISTS `{database}`")
    schema = dm.Schema(database, connection=conn)

    @schema
    class Reading(dm.Manual):
        definition = """
        # readings
        reading_id: int32
        ---
        label: varchar(16)
        value: float64
        """

    conn.query(
        f"INSERT INTO {Reading.full_table_name} (reading_id, label, value) "
        f"SELECT seq, CONCAT('r', seq), seq * 0.5 FROM `{database}`.seq_0_to_{BIG - 1}"
    )
    return Reading


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(p: dict) -> dict:
    auth = p["user"] + (f":{p['password']}" if p["password"] else "")
    return {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"mysql://{auth}@{p['host']}:{p['port']}/{DJANGO_DB}",
        "LABBOOK_AUDIT_DB": AUDIT_DB,
        "LABBOOK_SCHEMA_PREFIX": DATABASE,
        "LABBOOK_DEMO": "0",
        "LABBOOK_PIPELINES": "",
        "LABBOOK_LOG_LEVEL": "WARNING",
    }


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )


def _start_server(env: dict) -> tuple[subprocess.Popen, str]:
    """Migrate the bench's Django database, make the user ``bench`` (superuser), start the
    server; ``(process, base URL)`` once it answers."""
    _manage(env, "migrate", "--noinput")
    _manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='bench').delete(); "
        f"User.objects.create_superuser('bench', 'bench@example.org', '{PASSWORD}')",
    )
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=1)
            return process, base
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the LabBook server did not start")


#: JavaScript: ms since navigation start at the first frame where ``selector`` matches.
_FIRST_ROW = """(selector) => document.querySelector(selector) ? performance.now() : false"""


def _visit(page, url: str, selector: str) -> float:
    page.goto(url, wait_until="commit")
    handle = page.wait_for_function(_FIRST_ROW, arg=selector, polling="raf", timeout=30_000)
    return float(handle.json_value())


def _measure(base: str, pages: dict[str, tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """Label -> (first visit ms, median of REPEAT further visits ms)."""
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for label, (path, selector) in pages.items():
                context = browser.new_context()
                page = context.new_page()
                page.goto(base + "/accounts/login/")
                page.fill("#id_username", "bench")
                page.fill("#id_password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state()
                first = _visit(page, base + path, selector)
                again = [_visit(page, base + path, selector) for _ in range(REPEAT)]
                results[label] = (first, statistics.median(again))
                context.close()
        finally:
            browser.close()
    return results


def bench_grid(dj) -> str:
    """Run the grid benchmark; the markdown of the section (``dj`` unused: no DataJoint
    counterpart exists)."""
    from bench.run import params

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    for name in (DJANGO_DB, AUDIT_DB):
        conn.query(f"DROP DATABASE IF EXISTS `{name}`")
    conn.query(f"CREATE DATABASE `{DJANGO_DB}`")
    process = None
    try:
        reading = big_table(conn)
        env = _server_env(p)
        process, base = _start_server(env)
        table = f"/schemas/{reading.database}/tables/{reading.table_name}/"
        results = _measure(
            base,
            {
                "grid (`web:grid`)": (table + "grid/", "#grid .tabulator-row"),
                "table page (`web:table`, reference)": (table, "table.rows tbody tr"),
            },
        )
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        for name in (DATABASE, DJANGO_DB, AUDIT_DB):
            conn.query(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
    lines = [
        f"| page | first rows visible, first visit | median of the next {REPEAT} visits | target |",
        "|---|---|---|---|",
    ]
    for label, (first, median) in results.items():
        target = (
            (f"< {TARGET_MS} ms: {'met' if median < TARGET_MS else 'MISSED'}")
            if label.startswith("grid")
            else "—"
        )
        lines.append(f"| {label} | {first:.0f} ms | {median:.0f} ms | {target} |")
    return (
        "\n".join(lines)
        + f"\n\nTable `Reading` of {BIG:,} rows (int32 key, varchar, float64). Headless "
        "Chromium, `manage.py runserver` (DEBUG, static files from the app directories), "
        "milliseconds from the start of the navigation to the first animation frame showing "
        "a row. The grid loads Tabulator (448 KB) and Papa Parse (20 KB), then asks the rows "
        "API for the first keyset page (200 rows, no COUNT); the table page is rendered by "
        "the server (100 rows).\n"
    )
