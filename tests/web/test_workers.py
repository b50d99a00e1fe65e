"""The workers view (issue #13) without a Celery worker: LabBook worker processes known by
their heartbeat rows, online while their connection is in the server's process list and
their heartbeat is young, offline when the connection was KILLed or the heartbeat is old;
offline rows hidden after a day and pruned; what a process computes shown only to readers
who may view its schema; a broker that cannot be reached reported, not a 500; the API and
the page for logged-in users only."""

from __future__ import annotations

import itertools
import json
import socket
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel import recovery
from pipeline_core.datamodel.sql import recovery as recovery_sql
from pipeline_core.models import RoleGrant

pytestmark = pytest.mark.integration

#: Pids above Linux's largest (2**22): never a real process, never a Celery node's.
_PIDS = itertools.count(5_000_000 + (int(time.time()) % 1000) * 1000)


@pytest.fixture(autouse=True)
def fresh_inspection():
    """No Celery inspection kept from another test (the page and API reuse one for 2 s)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def beats(dm_conn, dj_params, pipeline_prefix):
    """``beat(**fields)``: write a heartbeat row of a made-up worker process whose pipeline
    connection is a real, open connection (``alive=False``: one closed already); returns
    ``(pid, connection)``. The rows are deleted afterwards."""
    database = settings.LABBOOK_AUDIT_DB
    recovery.ensure_tables(dm_conn, database)
    made, connections = [], []

    def beat(table=None, key=None, run=None, host="far-host", alive=True):
        other = dm.connect(
            dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
        )
        connections.append(other)
        pid = next(_PIDS)
        made.append(pid)
        key_json = None if key is None else json.dumps(key)
        dm_conn.query(
            recovery_sql.heartbeat(database),
            [host, pid, other.connection_id(), run, table, key_json],
        )
        if not alive:
            kill(dm_conn, other)
        return pid, other

    yield beat
    for other in connections:
        other.close()
    if made:
        dm_conn.query(
            f"DELETE FROM `{database}`.`worker` WHERE `pid` IN ({', '.join(['%s'] * len(made))})",
            made,
        )


def kill(conn, other) -> None:
    """KILL ``other``'s connection on the server and wait until it left the process list."""
    cid = other.connection_id()
    conn.query(f"KILL {int(cid)}")
    deadline = time.monotonic() + 10
    while cid in recovery.live_connections(conn):
        assert time.monotonic() < deadline, "a KILLed connection stayed in the process list"
        time.sleep(0.05)


def process(pid: int, processes=None) -> dict:
    found = [p for p in (processes or services.worker_processes()) if p["pid"] == pid]
    assert len(found) == 1, found
    return found[0]


def test_a_process_whose_connection_is_open_is_online(beats, demo):
    table = demo.Detection.full_table_name
    pid, other = beats(table=table, key={"image_id": 1, "param_id": 2}, run="run-x")
    found = process(pid)
    assert found["online"] is True and found["reason"] is None
    assert found["connection_id"] == other.connection_id()
    assert found["host"] == "far-host" and found["run"] == "run-x"
    assert found["table"] == table and found["key"] == {"image_id": 1, "param_id": 2}
    assert found["first_seen"].endswith("+00:00") and found["age"] < 60


def test_a_process_whose_connection_was_killed_is_offline(beats, dm_conn):
    pid, other = beats()
    assert process(pid)["online"] is True
    kill(dm_conn, other)
    found = process(pid)
    assert found["online"] is False and found["reason"] == "connection gone"
    assert found["last_seen"]  # still listed, with when it was last seen


def test_a_silent_process_is_offline_after_stale_after(beats, dm_conn, settings):
    settings.LABBOOK_STALE_AFTER = 120
    pid, _ = beats()
    dm_conn.query(
        f"UPDATE `{settings.LABBOOK_AUDIT_DB}`.`worker` SET `last_seen` = "
        "UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE WHERE `pid` = %s",
        [pid],
    )
    found = process(pid)
    assert found["online"] is False and found["reason"] == "heartbeat old"
    assert found["age"] >= 600
    settings.LABBOOK_STALE_AFTER = 3600
    assert process(pid)["online"] is True  # the rule reads the setting


def test_offline_rows_older_than_a_day_are_hidden_then_pruned(beats, dm_conn):
    old, _ = beats(alive=False)
    recent, _ = beats(alive=False)
    database = settings.LABBOOK_AUDIT_DB
    dm_conn.query(
        f"UPDATE `{database}`.`worker` SET `last_seen` = UTC_TIMESTAMP(6) - INTERVAL 25 HOUR "
        "WHERE `pid` = %s",
        [old],
    )
    pids = {p["pid"] for p in services.worker_processes()}
    assert recent in pids and old not in pids
    assert services.prune_workers() >= 1
    rows = {r["pid"] for r in recovery.workers(dm_conn, database)}
    assert recent in rows and old not in rows


def test_pruning_runs_with_the_periodic_recovery(beats, dm_conn, demo):
    from pipeline_core.tasks import recover_stale

    old, _ = beats(alive=False)
    dm_conn.query(
        f"UPDATE `{settings.LABBOOK_AUDIT_DB}`.`worker` SET `last_seen` = "
        "UTC_TIMESTAMP(6) - INTERVAL 2 DAY WHERE `pid` = %s",
        [old],
    )
    result = recover_stale.apply().get()  # the task's body, in this process
    assert result["pruned_workers"] >= 1
    assert old not in {r["pid"] for r in recovery.workers(dm_conn, settings.LABBOOK_AUDIT_DB)}


def test_a_new_connection_for_a_pid_starts_its_first_seen_again(beats, dm_conn):
    pid, _ = beats()
    database = settings.LABBOOK_AUDIT_DB
    dm_conn.query(
        f"UPDATE `{database}`.`worker` SET `started` = UTC_TIMESTAMP(6) - INTERVAL 1 DAY "
        "WHERE `pid` = %s",
        [pid],
    )
    before = process(pid)["first_seen"]
    cid = process(pid)["connection_id"]
    args = ["far-host", pid]
    dm_conn.query(recovery_sql.heartbeat(database), [*args, cid, None, None, None])
    assert process(pid)["first_seen"] == before  # same connection: same process
    dm_conn.query(recovery_sql.heartbeat(database), [*args, cid + 10**9, None, None, None])
    assert process(pid)["first_seen"] > before  # another connection: a new process


# --- who sees what --------------------------------------------------------------------------


@pytest.fixture
def outsider(db, django_user_model, settings, pipeline_prefix):
    """A logged-in user who may view only ``<prefix>elsewhere%`` (no default role)."""
    settings.LABBOOK_DEFAULT_ROLE = "none"
    user = django_user_model.objects.create_user(username="outsider", password="pw-12345")
    RoleGrant.objects.create(
        user=user, schema_pattern=pipeline_prefix.replace("_", "\\_") + "elsewhere%", role="viewer"
    )
    return user


def test_what_a_process_computes_is_hidden_where_the_schema_is_not_viewable(
    beats, demo, client, outsider, lab_user
):
    table = demo.Detection.full_table_name
    pid, _ = beats(table=table, key={"image_id": 7}, run="run-secret")
    client.force_login(outsider)
    body = client.get(reverse("api:workers")).json()
    found = process(pid, body["processes"])
    assert found["hidden"] is True and found["online"] is True
    assert found["table"] is None and found["key"] is None and found["run"] is None
    assert "run-secret" not in json.dumps(body)
    client.force_login(lab_user)  # entry on every schema
    found = process(pid, client.get(reverse("api:workers")).json()["processes"])
    assert found["hidden"] is False and found["table"] == table and found["key"] == {"image_id": 7}


def test_api_shape_and_login(beats, client, lab_user):
    pid, _ = beats(alive=False)
    url = reverse("api:workers")
    response = client.get(url)
    assert response.status_code == 401
    client.force_login(lab_user)
    body = client.get(url).json()
    assert set(body) == {"nodes", "processes", "broker"}
    assert set(body["broker"]) == {"ok", "message"} and body["broker"]["ok"] is True
    found = process(pid, body["processes"])
    assert found["online"] is False and found["node"] is None
    assert set(found) >= {"host", "pid", "connection_id", "run", "table", "key"}
    assert set(found) >= {"first_seen", "last_seen", "online"}


def test_an_unreachable_broker_is_reported_not_a_500(settings, client, lab_user, beats):
    pid, _ = beats()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    client.force_login(lab_user)
    response = client.get(reverse("api:workers"))
    assert response.status_code == 200
    body = response.json()
    assert body["broker"]["ok"] is False and "127.0.0.1:1" in body["broker"]["message"]
    assert all(not n["online"] for n in body["nodes"])
    assert process(pid, body["processes"])["online"] is True  # the heartbeats still tell
    page = client.get(reverse("web:workers"))
    assert page.status_code == 200
    assert "cannot be reached" in page.content.decode()


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_processes_online_and_offline_with_links(
    beats, demo, dm_conn, client, lab_user
):
    detection = demo.Detection
    live, _ = beats(table=detection.full_table_name, key={"image_id": 3}, run="run-y")
    gone, _ = beats(alive=False, host=socket.gethostname())
    url = reverse("web:workers")
    assert client.get(url).status_code == 302  # log in first
    client.force_login(lab_user)
    text = client.get(url).content.decode()
    assert 'href="/workers/"' in text  # the header's link
    assert 'id="workers-panel"' in text and 'hx-trigger="every 3s"' in text
    row = _row(text, live)
    assert 'class="worker-status online"' in row and "online</span>" in row
    assert reverse("web:jobs", args=[detection.database, detection.table_name]) in row
    assert "image_id=3" in row
    assert "run-y" in row and "/runs/" not in row  # not a recorded run: no link
    row = _row(text, gone)
    assert 'class="worker-status offline"' in row and "connection gone" in row
    partial = client.get(url, headers={"HX-Request": "true", "HX-Target": "workers-panel"})
    body = partial.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<section id="workers-panel"')
    assert "HX-Target" in partial["Vary"]


def _row(text: str, pid: int) -> str:
    start = text.index(f'data-pid="{pid}"')
    return text[start : text.index("</tr>", start)]


def test_a_recorded_run_links_to_its_page(beats, demo, client, admin_user):
    import uuid

    from pipeline_core.models import PopulateRun

    detection = demo.Detection
    run = PopulateRun.objects.create(
        id=uuid.uuid4().hex,
        schema=detection.database,
        table=detection.table_name,
        full_name=detection.full_table_name,
        username="admin",
        status="running",
    )
    pid, _ = beats(table=detection.full_table_name, key={"image_id": 1}, run=run.id)
    client.force_login(admin_user)
    found = process(pid, client.get(reverse("api:workers")).json()["processes"])
    assert found["run"] == run.id and found["run_recorded"] is True
    row = _row(client.get(reverse("web:workers")).content.decode(), pid)
    assert f'href="{reverse("web:run", args=[run.id])}"' in row
