"""The workers view (issue #13) with the REAL Celery worker of tests/conftest.py: its node is
online on the session's queue with its concurrency and pool; after a populate run, the
worker process that computed it is listed under the node (matched by host and pid), online,
with the run linked; the API and the page show the same."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from pipeline_core import services
from tests.tasks.test_runs import operator, start, wait_for_run  # noqa: F401  (fixture)
from tests.web.conftest import reset_detection

pytestmark = [pytest.mark.worker, pytest.mark.integration, pytest.mark.usefixtures("quiet_worker")]


def our_node(worker, user, tries: int = 5) -> dict:
    """The session worker's node in :func:`services.list_workers` (inspected afresh; asked
    again a few times, since a reply may miss the 1 s window on a busy machine)."""
    for _ in range(tries):
        found = [n for n in services.list_workers(user, fresh=True)["nodes"] if n["online"]]
        found = [n for n in found if n["name"] == worker["name"]]
        if found:
            return found[0]
    raise AssertionError(f"node {worker['name']} did not answer {tries} inspections")


def test_the_session_worker_is_an_online_node_on_its_queue(celery_worker, admin_user):
    node = our_node(celery_worker, admin_user)
    assert node["queues"] == [celery_worker["queue"]]
    assert node["concurrency"] == 1 and node["pool"] == "solo"  # -c 1 -P solo
    assert node["pid"] == celery_worker["process"].pid
    assert node["host"] == celery_worker["name"].split("@", 1)[1]
    assert node["active"] == []  # idle: a solo worker answers only between tasks
    body = services.list_workers(admin_user)  # within 2 s: the same inspection, kept
    assert body["broker"]["ok"] is True
    assert celery_worker["name"] in {n["name"] for n in body["nodes"]}


def test_the_process_that_computed_a_run_is_listed_under_its_node(
    demo,
    celery_worker,
    operator,  # noqa: F811
):
    reset_detection(demo)
    run = wait_for_run(start(demo, operator, limit=2).id, celery_worker)
    assert run.status == "done" and run.success == 2, run.message
    node = our_node(celery_worker, operator)
    pid = celery_worker["process"].pid
    mine = [p for p in node["processes"] if p["pid"] == pid]
    assert len(mine) == 1, node["processes"]
    process = mine[0]
    assert process["online"] is True and process["node"] == celery_worker["name"]
    assert process["run"] == run.id and process["run_recorded"] is True
    assert process["table"] is None and process["key"] is None  # between keys
    cache.clear()
    client = Client()
    client.force_login(operator)
    body = client.get(reverse("api:workers")).json()
    listed = [p for p in body["processes"] if p["pid"] == pid]
    assert listed and listed[0]["node"] == celery_worker["name"] and listed[0]["online"]
    page = client.get(reverse("web:workers")).content.decode()
    assert f'data-node="{celery_worker["name"]}"' in page
    row = page[page.index(f'data-pid="{pid}"') :]
    row = row[: row.index("</tr>")]
    assert 'class="worker-status online"' in row
    assert f'href="{reverse("web:run", args=[run.id])}"' in row


def test_a_stopped_node_is_remembered_offline(celery_worker, admin_user, settings):
    """A node seen before that no longer answers is listed offline (here: the broker is
    out of reach, so no node can answer)."""
    our_node(celery_worker, admin_user)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    body = services.list_workers(admin_user, fresh=True)
    assert body["broker"]["ok"] is False
    node = [n for n in body["nodes"] if n["name"] == celery_worker["name"]]
    assert node and node[0]["online"] is False and node[0]["queues"] == [celery_worker["queue"]]
