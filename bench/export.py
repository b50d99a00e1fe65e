"""Benchmark of export (issue 14 part 5): 1,000,000 rows as CSV through the real views,
served by gunicorn as deployed (gthread worker), read by an HTTP client; rows per second
(target: at least 100,000) and the memory of the serving process (flat: the same growth for
100,000 and for 1,000,000 rows), against references measured in the same run on the same
table and order: the ``mysql --batch --quick`` client dumping the rows (the server's and a C
client's floor) and PyMySQL reading them unbuffered without formatting (the Python driver's
floor, which LabBook's export reads through).

A LabBook server (``gunicorn labbook.wsgi``, one worker process, 2 threads, ``DEBUG=0``) runs
in a subprocess on a free port with a Django database of its own; the client logs in through
the login form (the table page's export, ``web:export``) and uses an API token (the query
export, ``api:query_export``). Memory: the worker's resident set size (``VmRSS`` of
``/proc``), sampled every 20 ms during each export, compared with its value just before.

Databases ``lbbench_export*``, dropped at the end."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from pipeline_core import datamodel as dm

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "lbbench_export"
DJANGO_DB = "lbbench_export_django"
AUDIT_DB = "lbbench_export_audit"
ROWS = 1_000_000
SMALL = 100_000
TARGET = 100_000
REPEAT = 3
PASSWORD = "bench-Pass-4321"
CHUNK = 1 << 16
#: The server: one worker process with threads (gthread, as docker-compose runs it).
GUNICORN = (sys.executable, "-m", "gunicorn", "labbook.wsgi", "--workers", "1", "--threads", "2")
MYSQL_ARGS = ("--batch", "--quick", "-e")


def _env(p: dict) -> dict:
    auth = p["user"] + (f":{p['password']}" if p["password"] else "")
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-export-secret-key-not-for-production",
        "DATABASE_URL": f"mysql://{auth}@{p['host']}:{p['port']}/{DJANGO_DB}",
        "LABBOOK_AUDIT_DB": AUDIT_DB,
        "LABBOOK_SCHEMA_PREFIX": DATABASE,
        "LABBOOK_DEMO": "0",
        "LABBOOK_PIPELINES": "",
        "LABBOOK_LOG_LEVEL": "WARNING",
    }


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return done.stdout.decode().strip()


def _start(env: dict) -> tuple[subprocess.Popen, int, str]:
    """Migrate, make the superuser ``bench``, start gunicorn; ``(process, worker pid, base
    URL)`` once it answers."""
    from bench.grid import _free_port

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
        [*GUNICORN, "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=1)
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
            return process, int(children.split()[0]), base
        except (OSError, IndexError, ValueError):
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the LabBook server did not start")


def _session_cookie(base: str) -> str:
    """Log in through the login form; the ``Cookie`` header of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token}
    opener.open(
        urllib.request.Request(
            base + "/accounts/login/",
            data=urllib.parse.urlencode(form).encode(),
            headers={"Referer": base + "/accounts/login/"},
        )
    )
    assert any(c.name == "sessionid" for c in jar), "login failed"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _download(base: str, path: str, headers: dict, pid: int) -> dict:
    """GET ``path`` and read the whole body; seconds, bytes, lines, the worker's RSS before
    and its peak during the download."""
    before, peak, done = _rss(pid), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600)
    sampler.start()
    start = time.perf_counter()
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        assert response.status == 200, (response.status, response.read()[:300])
        size = lines = 0
        while chunk := response.read(CHUNK):
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - start
    finally:
        done.set()
        sampler.join()
        connection.close()
    return {"seconds": seconds, "bytes": size, "lines": lines, "before": before, "peak": peak[0]}


def _reference_mysql(p: dict, sql: str) -> float:
    """Seconds of ``mysql --batch --quick -e sql`` writing to /dev/null."""
    env = {**os.environ, "MYSQL_PWD": p["password"]} if p["password"] else dict(os.environ)
    start = time.perf_counter()
    subprocess.run(
        ["mysql", "-h", p["host"], "-P", str(p["port"]), "-u", p["user"], *MYSQL_ARGS, sql],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _reference_pymysql(conn, sql: str) -> float:
    """Seconds of PyMySQL reading every row unbuffered (tuples), nothing else."""
    start = time.perf_counter()
    count = 0
    with conn.unbuffered(sql, as_dict=False) as cursor:
        while rows := cursor.fetchmany(2000):
            count += len(rows)
    assert count == ROWS, count
    return time.perf_counter() - start


def bench_export(dj) -> str:
    """Run the export benchmark; the markdown of the section (``dj`` unused: DataJoint has
    no export)."""
    from bench.grid import big_table
    from bench.run import params

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    for name in (DJANGO_DB, AUDIT_DB):
        conn.query(f"DROP DATABASE IF EXISTS `{name}`")
    conn.query(f"CREATE DATABASE `{DJANGO_DB}`")
    process = None
    try:
        reading = big_table(conn, DATABASE)
        env = _env(p)
        process, worker, base = _start(env)
        token = _manage(env, "api_token", "bench")
        web = {"Cookie": _session_cookie(base)}
        api = {"Authorization": f"Token {token}"}
        table = f"/schemas/{DATABASE}/tables/{reading.table_name}/export."

        def query(fmt: str, where: dict | None = None) -> str:
            description = {"from": {"schema": DATABASE, "table": "Reading"}}
            if where:
                description["where"] = where
            return f"/api/v1/query/export.{fmt}?q=" + urllib.parse.quote(json.dumps(description))

        small = {"attribute": "reading_id", "operator": "<", "value": SMALL}
        _download(
            base,
            query("csv", {"attribute": "reading_id", "operator": "<", "value": 10}),
            api,
            worker,
        )  # warm-up
        runs = {"csv": [_download(base, table + "csv", web, worker) for _ in range(REPEAT)]}
        runs["api csv"] = [_download(base, query("csv"), api, worker)]
        runs["tsv"] = [_download(base, table + "tsv", web, worker)]
        runs["jsonl"] = [_download(base, table + "jsonl", web, worker)]
        runs["small"] = [_download(base, query("csv", small), api, worker)]
        sql = f"SELECT reading_id, label, value FROM `{DATABASE}`.`reading` ORDER BY reading_id"
        mysql_s = statistics.median(_reference_mysql(p, sql) for _ in range(REPEAT))
        pymysql_s = statistics.median(_reference_pymysql(conn, sql) for _ in range(REPEAT))
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
        for name in (DATABASE, DJANGO_DB, AUDIT_DB):
            conn.query(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
    return _report(runs, mysql_s, pymysql_s)


def _report(runs: dict, mysql_s: float, pymysql_s: float) -> str:
    mb = 1e6
    for label, expected in (("csv", ROWS + 1), ("api csv", ROWS + 1), ("tsv", ROWS + 1)):
        assert all(r["lines"] == expected for r in runs[label]), (label, runs[label])
    assert runs["jsonl"][0]["lines"] == ROWS and runs["small"][0]["lines"] == SMALL + 1
    csv_s = statistics.median(r["seconds"] for r in runs["csv"])
    rate = ROWS / csv_s
    rows = [
        (
            f"CSV, table page (`web:export`), median of {REPEAT}",
            runs["csv"],
            f"**{rate:,.0f}** (target ≥ {TARGET:,}: {'met' if rate >= TARGET else 'MISSED'})",
        ),
        ("CSV, query API (`api:query_export`, `q` = the table)", runs["api csv"], None),
        ("TSV, table page", runs["tsv"], None),
        ("JSON Lines, table page", runs["jsonl"], None),
        (f"CSV, query API, first {SMALL:,} rows (`reading_id < {SMALL}`)", runs["small"], None),
    ]
    lines = [
        "| export | rows | time | rows/s | MB | worker RSS before → peak (growth) |",
        "|---|---|---|---|---|---|",
    ]
    for label, results, shown in rows:
        r = results[0] if len(results) == 1 else sorted(results, key=lambda x: x["seconds"])[1]
        count = SMALL if label.startswith("CSV, query API, first") else ROWS
        speed = shown or f"{count / r['seconds']:,.0f}"
        growth = (r["peak"] - r["before"]) / mb
        lines.append(
            f"| {label} | {count:,} | {r['seconds']:.2f} s | {speed} | {r['bytes'] / mb:.1f} "
            f"| {r['before'] / mb:.0f} → {r['peak'] / mb:.0f} MB ({growth:+.1f} MB) |"
        )
    lines += [
        "",
        "| reference (same rows, same order) | time | rows/s | export CSV / reference |",
        "|---|---|---|---|",
        f"| `mysql --batch --quick` to /dev/null (C client), median of {REPEAT} "
        f"| {mysql_s:.2f} s | {ROWS / mysql_s:,.0f} | {csv_s / mysql_s:.2f}x |",
        f"| PyMySQL unbuffered read, tuples, no formatting, median of {REPEAT} "
        f"| {pymysql_s:.2f} s | {ROWS / pymysql_s:,.0f} | {csv_s / pymysql_s:.2f}x |",
    ]
    return "\n".join(lines) + (
        f"\n\nTable `Reading` of {ROWS:,} rows (int32 key, varchar(16), float64), built by "
        "`bench.grid.big_table`. LabBook served by gunicorn (one worker process, gthread, 2 "
        "threads, DEBUG off) in a subprocess; an `http.client` reader in the benchmark "
        "process takes the body 64 KiB at a time and counts its lines (every export is "
        "checked whole: header plus 1,000,000 rows). Time: from the request to the last "
        "byte. RSS: the worker's `VmRSS`, sampled every 20 ms, just before the export and its "
        "peak during it: the same growth for 100,000 and 1,000,000 rows is flat memory. The "
        "references read the same `SELECT ... ORDER BY reading_id` in the same run; "
        "LabBook's export reads through PyMySQL, whose unbuffered reading is most of its "
        "time.\n"
    )
