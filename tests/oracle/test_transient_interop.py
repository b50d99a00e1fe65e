"""A job LabBook deferred after a transient make() failure (issue #13) is ``pending`` with a
scheduled time in the future: the real DataJoint 2.3.5 ``populate(reserve_jobs=True)``
reserves only jobs scheduled by now (spec §6.4), so it leaves the job alone until then."""

from __future__ import annotations

import threading
import time

import pymysql
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.transient import RetryPolicy

pytestmark = pytest.mark.oracle

SOURCE = """
source_id: int32
"""
RESULT = """
-> Source
---
value: int32
"""


def test_datajoint_leaves_a_deferred_job_until_its_scheduled_time(dm_conn, dj, dj_conn, new_db):
    database = new_db("dtr")
    audit_db = new_db("audit")
    calls = []
    lb = dm.Schema(database, connection=dm_conn)
    source = lb(type("Source", (dm.Manual,), {"definition": SOURCE}), context={})

    class Result(dm.Computed):
        definition = RESULT

        def make(self, key):
            calls.append(("labbook", key["source_id"]))
            if len(calls) == 1:
                raise pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
            self.insert1(dict(key, value=2 * key["source_id"]))

    lb(Result, context={"Source": source})
    source.insert1({"source_id": 1})
    Result.jobs.declare()
    theirs = dj.Schema(database, connection=dj_conn)  # the same tables, by DataJoint

    def dj_make(self, key):
        calls.append(("datajoint", key["source_id"]))
        self.insert1(dict(key, value=-1))

    dj_source = theirs(type("Source", (dj.Manual,), {"definition": SOURCE}), context={})
    dj_result = theirs(
        type("Result", (dj.Computed,), {"definition": RESULT, "make": dj_make}),
        context={"Source": dj_source},
    )
    assert dj_result.full_table_name == Result.full_table_name
    seen = {}

    def labbook_worker():
        try:
            seen["out"] = Result.populate(
                reserve_jobs=True, retry=RetryPolicy(retries=2, backoff=120, database=audit_db)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            seen["error"] = exc

    watcher = dm_conn.clone()  # the worker thread has dm_conn (not thread-safe)
    thread = threading.Thread(target=labbook_worker, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not calls:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        query = (
            "SELECT status, TIMESTAMPDIFF(MICROSECOND, CURRENT_TIMESTAMP(3), scheduled_time) "
            f"FROM {Result.jobs.full_table_name}"
        )
        while watcher.query(query).fetchone()[0] != "pending":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        status, wait = watcher.query(query).fetchone()
        assert status == "pending" and int(wait) > 0
        outcome = dj_result.populate(reserve_jobs=True, suppress_errors=True)
        assert outcome["success_count"] == 0 and outcome["error_list"] == []
        assert calls == [("labbook", 1)]  # DataJoint did not take it
        assert watcher.query(query).fetchone()[0] == "pending"
        # time passes (the back-off was 60-120 s): the waiting worker takes it within 5 s
        watcher.query(
            f"UPDATE {Result.jobs.full_table_name} "
            "SET scheduled_time = CURRENT_TIMESTAMP(3) - INTERVAL 1 SECOND"
        )
    finally:
        thread.join(60)
        watcher.close()
    assert "error" not in seen and seen["out"]["success_count"] == 1
    assert calls == [("labbook", 1), ("labbook", 1)]
    assert Result.to_dicts() == [{"source_id": 1, "value": 2}]
