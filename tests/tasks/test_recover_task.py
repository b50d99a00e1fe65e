"""Recovery of dead workers' reservations through LabBook's front doors (issue #13 part 2):
the heartbeat of ``services.populate``, ``services.recover_stale`` with its audit events,
the Celery task ``recover_stale`` on a REAL worker, and ``manage.py pipeline recover``."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.conf import settings
from django.core.management import call_command

from pipeline_core import services
from pipeline_core.datamodel import audit
from pipeline_core.datamodel.sql import jobs as jobs_sql
from pipeline_core.principal import Actor, acting_as
from pipeline_core.tasks import recover_stale
from tests.web.conftest import reset_detection

pytestmark = [pytest.mark.integration]


def _lose_a_reservation(demo) -> dict:
    """Reserve one pending Detection job on a connection, then close it (a dead worker);
    returns the job's key."""
    detection = demo.Detection()
    reset_detection(demo)
    keys = detection._reserve_list(detection.jobs, (), None, None)
    key = keys[0]
    other = demo.Detection.connection.clone()
    cid = other.connection_id()
    sql, params = jobs_sql.reserve(
        detection.jobs.ref, detection._encoded(key), "lost-host", 99, cid, "x@y"
    )
    assert other.query(sql, params).rowcount == 1
    other.close()
    deadline = time.monotonic() + 10
    while cid in {int(r[0]) for r in demo.Detection.connection.query("SHOW PROCESSLIST")}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return key


def _job_status(demo, key) -> str:
    from pipeline_core.datamodel.expression import table_expression

    jobs = table_expression(demo.Detection.connection, demo.Detection.jobs.ref)
    return (jobs & key).fetch1("status")


def _ours(result, demo) -> list[dict]:
    return [j for j in result["jobs"] if j["table"] == demo.Detection.jobs.full_table_name]


def test_populate_keeps_a_heartbeat(demo):
    reset_detection(demo)
    with acting_as(Actor(name="hb", source="cli", trusted=True)):
        services.populate(demo.Detection.full_table_name, run_id="run-hb")
        rows = [r for r in services.worker_heartbeats() if r["pid"] == os.getpid()]
    assert len(rows) == 1
    row = rows[0]
    assert row["run_id"] == "run-hb" and row["current_key"] is None  # finished
    assert row["connection_id"] == services.connection().connection_id()
    assert row["age"] < 60 and row["stale"] is False


def test_recover_stale_service_records_an_event(demo):
    key = _lose_a_reservation(demo)
    assert _job_status(demo, key) == "reserved"
    with acting_as(Actor(name="ops", source="cli", trusted=True)):
        result = services.recover_stale(demo.Detection.database, "Detection")
    jobs = _ours(result, demo)
    assert [(j["outcome"], j["reason"], j["host"], j["pid"]) for j in jobs] == [
        ("pending", "connection gone", "lost-host", 99)
    ]
    assert _job_status(demo, key) == "pending"
    events = audit.read_events(
        demo.Detection.connection,
        settings.LABBOOK_AUDIT_DB,
        table=demo.Detection.ref,
        actor="ops",
        limit=5,
    )
    assert events[0]["action"] == "recover"
    assert events[0]["key"] == key
    assert events[0]["changes"]["status"] == ["reserved", "pending"]


def test_recover_stale_task_on_a_real_worker(demo, celery_worker):
    key = _lose_a_reservation(demo)
    result = recover_stale.delay().get(timeout=60)
    assert [(j["outcome"], j["key"]) for j in _ours(result, demo)] == [("pending", key)]
    assert _job_status(demo, key) == "pending"
    assert settings.CELERY_BEAT_SCHEDULE["recover-stale"] == {
        "task": "recover_stale",
        "schedule": 30.0,
    }


def test_manage_py_pipeline_recover(demo):
    key = _lose_a_reservation(demo)
    out = io.StringIO()
    schema = demo.Detection.database.removeprefix(settings.LABBOOK_SCHEMA_PREFIX)
    call_command("pipeline", "recover", schema, stdout=out)
    text = out.getvalue()
    assert "pending (connection gone; lost-host pid 99" in text
    assert "1 stale jobs recovered: 1 pending again, 0 marked error" in text
    assert _job_status(demo, key) == "pending"
    out = io.StringIO()
    call_command("pipeline", "recover", stdout=out)  # every visible schema: nothing left here
    assert demo.Detection.jobs.full_table_name not in out.getvalue()
    assert "stale jobs recovered" in out.getvalue()
