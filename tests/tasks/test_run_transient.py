"""A populate run on a REAL Celery worker whose make() loses its database connection once
(the worker's connection is KILLed while make() waits for a row lock): the worker
reconnects, the key is retried after the back-off and the run ends ``done`` with the key a
success (issue #13, automatic retry of transient errors)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings

from pipeline_core.datamodel import audit, recovery
from pipeline_core.models import PopulateRun, RoleGrant
from tests.tasks.test_runs import start, wait_for_run
from tests.web.conftest import reset_detection

pytestmark = [pytest.mark.worker, pytest.mark.integration, pytest.mark.usefixtures("quiet_worker")]

#: Seconds between two looks at INNODB_TRX (InnoDB refreshes it only when it was last
#: read over 0.1 s ago).
LOCK_POLL = 0.15


@pytest.fixture
def run_operator(transactional_db, django_user_model, demo):
    user = django_user_model.objects.create_user(username="op-retry", password="pw-op-12345")
    RoleGrant.objects.create(user=user, schema_pattern="%", role="operator", created_by="tests")
    return user


def _key_with_blobs(demo) -> dict:
    """A Detection key whose make() inserts part rows (computed here once to find it)."""
    demo.Detection.populate(reserve_jobs=True, suppress_errors=True)
    rows = demo.Detection().to_dicts(order_by="KEY")
    row = max(rows, key=lambda r: r["blob_count"])
    assert row["blob_count"] > 0
    return {k: row[k] for k in demo.Detection.heading.primary_key}


def _reserved_and_waiting(conn, jobs_table: str) -> int | None:
    """The connection id of the reserved job when that connection waits for a lock."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT connection_id FROM {jobs_table} WHERE status = 'reserved'")
        row = cur.fetchone()
        if row is None:
            return None
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = %s AND trx_state = 'LOCK WAIT'",
            [row[0]],
        )
        return int(row[0]) if cur.fetchone()[0] else None


def test_a_run_whose_make_loses_its_connection_once_is_done(
    demo, celery_worker, run_operator, settings, dj_connect
):
    settings.LABBOOK_RUN_TASKS = 1
    key = _key_with_blobs(demo)
    reset_detection(demo)
    detection = demo.Detection
    # another connection holds the key's first part row (uncommitted, foreign keys off):
    # make() inserts the master row, then waits for that row lock in its part insert
    holder, killer = dj_connect(), dj_connect()
    holder.autocommit(False)
    with holder.cursor() as cur:
        cur.execute("SET SESSION foreign_key_checks = 0")
        names = ", ".join(f"`{k}`" for k in key)
        cur.execute(
            f"INSERT INTO {detection.Blob.full_table_name} ({names}, blob_id, x, y, radius) "
            f"VALUES ({', '.join(['%s'] * len(key))}, 0, 0, 0, 0)",
            list(key.values()),
        )
    restriction = {"and": [{"attribute": k, "operator": "=", "value": v} for k, v in key.items()]}
    try:
        run = start(demo, run_operator, restriction=restriction)
        deadline = time.monotonic() + 60
        while (victim := _reserved_and_waiting(killer, detection.jobs.full_table_name)) is None:
            assert time.monotonic() < deadline, celery_worker["log"].read_text()[-3000:]
            assert PopulateRun.objects.get(id=run.id).status in ("queued", "running")
            time.sleep(LOCK_POLL)
        with killer.cursor() as cur:
            cur.execute("KILL %s", [victim])
        holder.rollback()
        done = wait_for_run(run.id, celery_worker)
    finally:
        holder.close()
        killer.close()
    log = celery_worker["log"].read_text()[-3000:]
    assert done.status == "done" and (done.success, done.errors) == (1, 0), (done.message, log)
    assert list(done.key_outcomes.values_list("outcome", flat=True)) == ["success"]
    assert len(detection() & key) == 1 and len(detection.Blob() & key) > 0
    assert detection.jobs.progress()["total"] == 0  # nothing left reserved or pending
    conn = detection.connection
    audit_db = django_settings.LABBOOK_AUDIT_DB
    events = audit.read_events(conn, audit_db, table=detection.ref, batch_id=run.id)
    assert [e["action"] for e in events] == ["populate", "retry_transient", "populate_start"]
    retried = events[1]
    assert retried["actor"] == run_operator.get_username() and retried["source"] == "worker"
    assert retried["changes"]["reason"] == "lost connection"
    old, new = retried["changes"]["connection_id"]
    assert old == victim and new != victim
    beats = [w for w in recovery.workers(conn, audit_db) if w["run_id"] == run.id]
    assert [w["connection_id"] for w in beats] == [new]  # the heartbeat followed
