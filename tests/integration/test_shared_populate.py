"""Two LabBook worker processes and one plain DataJoint 2.3.5 process populate the same
table at the same time through its jobs table (spec §6): every key is computed exactly
once (make calls counted in a side table written outside make's transaction)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_core import datamodel as dm
from tests.integration import shared_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.oracle]

ROOT = Path(__file__).resolve().parents[2]
KEYS = 200


def test_labbook_and_datajoint_workers_share_a_table(dm_conn, new_db, dj_params):
    database = new_db("shared")
    schema = dm.Schema(database, connection=dm_conn)
    source = schema(
        type("Source", (dm.Manual,), {"definition": shared_pipeline.SOURCE}), context={}
    )
    source.insert([{"source_id": i, "value": i} for i in range(KEYS)])
    dm_conn.query(
        f"CREATE TABLE `{database}`.`call_log` (source_id INT, who VARCHAR(16),"
        " id INT AUTO_INCREMENT PRIMARY KEY)"
    )
    host = dj_params["host"]
    env = dict(
        os.environ,
        DJ_HOST=f"[{host}]:{dj_params['port']}" if ":" in host else f"{host}:{dj_params['port']}",
        DJ_USER=dj_params["user"],
        DJ_PASS=dj_params["password"],
        PYTHONPATH=str(ROOT),
    )
    workers = [("labbook", "lb1"), ("labbook", "lb2"), ("datajoint", "dj")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.shared_pipeline", lib, database, who],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for lib, who in workers
    ]
    outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    calls = dm_conn.query(
        f"SELECT source_id, COUNT(*), GROUP_CONCAT(who) FROM `{database}`.`call_log` "
        "GROUP BY source_id"
    ).fetchall()
    assert len(calls) == KEYS
    assert [row for row in calls if row[1] != 1] == []  # no key computed twice
    result = dm_conn.query(f"SELECT COUNT(*) FROM `{database}`.`__result`").fetchone()[0]
    assert result == KEYS
    by = dm_conn.query(f"SELECT who, COUNT(*) FROM `{database}`.`call_log` GROUP BY who").fetchall()
    assert len(by) >= 2, by  # the work was shared (each process takes keys as it goes)
    jobs = dm_conn.query(
        f"SELECT COUNT(*) FROM `{database}`.`~~result` WHERE status = 'reserved'"
    ).fetchone()[0]
    assert jobs == 0
