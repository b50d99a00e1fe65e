"""A pipeline populated at once by LabBook processes and a plain DataJoint 2.3.5 process
(tests/integration/test_shared_populate.py): the same tables declared by either library;
``make`` records each call in the side table ``call_log`` on a connection of its own
(autocommit, outside make's transaction), so a key computed twice shows even if one of the
two transactions was rolled back.

Run as ``python -m tests.integration.shared_pipeline labbook|datajoint DATABASE WHO``; the
last line printed is ``populate <start> <end>`` (``time.time()`` around the populate call,
seconds: what bench/populate.py measures, without the imports and the declaration)."""

from __future__ import annotations

import os
import sys
import time

import pymysql

SOURCE = """
source_id: int32
---
value: float64
"""
RESULT = """
-> Source
---
doubled: float64
"""
#: Seconds each make takes (sleeping: I/O-bound, so processes overlap on 2 cores).
MAKE_SECONDS = float(os.environ.get("LABBOOK_TEST_MAKE_SECONDS", "0.02"))
#: Whether make() logs its calls (off for the benchmark: a trivial make fetches one value
#: and inserts one row, nothing else).
CALL_LOG = os.environ.get("LABBOOK_TEST_CALL_LOG", "1") == "1"


def params() -> dict:
    host, _, port = os.environ.get("DJ_HOST", "127.0.0.1:3306").rpartition(":")
    return {
        "host": host.strip("[]") or "127.0.0.1",
        "port": int(port or 3306),
        "user": os.environ.get("DJ_USER", "root"),
        "password": os.environ.get("DJ_PASS", ""),
    }


def side_connection():
    p = params()
    return pymysql.connect(autocommit=True, **p)


def log_call(side, database: str, who: str, key: dict) -> None:
    if not CALL_LOG:
        return
    with side.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO `{database}`.`call_log` (source_id, who) VALUES (%s, %s)",
            [key["source_id"], who],
        )


def run_labbook(database: str, who: str) -> None:
    from pipeline_core import datamodel as dm

    p = params()
    conn = dm.connect(p["host"], p["user"], p["password"], port=p["port"])
    schema = dm.Schema(database, connection=conn)
    side = side_connection()
    source = schema(type("Source", (dm.Manual,), {"definition": SOURCE}), context={})

    class Result(dm.Computed):
        definition = RESULT

        def make(self, key):
            log_call(side, database, who, key)
            time.sleep(MAKE_SECONDS)
            value = (source & key).fetch1("value")
            self.insert1(dict(key, doubled=2 * value))

    schema(Result, context={"Source": source})
    _timed(lambda: Result.populate(reserve_jobs=True, suppress_errors=True))


def run_datajoint(database: str, who: str) -> None:
    import datajoint as dj

    p = params()
    dj.config["database.host"] = p["host"]
    dj.config["database.port"] = p["port"]
    dj.config["database.user"] = p["user"]
    dj.config["database.password"] = p["password"]
    dj.config["safemode"] = False
    schema = dj.Schema(database)
    side = side_connection()

    @schema
    class Source(dj.Manual):
        definition = SOURCE

    @schema
    class Result(dj.Computed):
        definition = RESULT

        def make(self, key):
            log_call(side, database, who, key)
            time.sleep(MAKE_SECONDS)
            value = (Source & key).fetch1("value")
            self.insert1(dict(key, doubled=2 * value))

    _timed(lambda: Result.populate(reserve_jobs=True, suppress_errors=True))


def _timed(call) -> None:
    """Run ``call`` and print ``populate <start> <end>`` (wall-clock seconds)."""
    start = time.time()
    call()
    print(f"populate {start:.6f} {time.time():.6f}", flush=True)


if __name__ == "__main__":
    library, database, who = sys.argv[1], sys.argv[2], sys.argv[3]
    (run_labbook if library == "labbook" else run_datajoint)(database, who)
