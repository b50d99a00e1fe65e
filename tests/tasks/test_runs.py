"""Populate runs (issue #13) on a REAL Celery worker: a run fans out to tasks that reserve
keys through the jobs table; restricted and limited runs compute only their keys; the run
history counts each key's outcome; cancel; a broker that is down is reported at once."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from pipeline_core import services
from pipeline_core.models import PopulateRun, RoleGrant
from pipeline_core.principal import Actor, acting_as
from tests.tasks.test_populate_task import expected_keys
from tests.web.conftest import reset_detection

pytestmark = [pytest.mark.worker, pytest.mark.integration, pytest.mark.usefixtures("quiet_worker")]


@pytest.fixture
def operator(transactional_db, django_user_model, demo):
    user = django_user_model.objects.create_user(username="op", password="pw-op-12345")
    RoleGrant.objects.create(user=user, schema_pattern="%", role="operator", created_by="tests")
    return user


def start(demo, user, **options) -> PopulateRun:
    detection = demo.Detection
    with acting_as(Actor.of_user(user, "web")):
        services.begin_request()
        return services.start_run(detection.database, detection.table_name, user, **options)


def wait_for_run(run_id: str, worker=None, timeout: float = 90.0) -> PopulateRun:
    deadline = time.monotonic() + timeout
    while True:
        run = PopulateRun.objects.get(id=run_id)
        if run.status not in ("queued", "running"):
            return run
        log = worker["log"].read_text()[-4000:] if worker else ""
        assert time.monotonic() < deadline, (
            f"run not finished in {timeout} s: {run.__dict__}\n{log}"
        )
        time.sleep(0.3)


def test_a_run_fans_out_and_computes_every_key_once(demo, celery_worker, operator, settings):
    settings.LABBOOK_RUN_TASKS = 3
    reset_detection(demo)
    expected = expected_keys(demo)
    run = start(demo, operator)
    assert run.tasks == 3 and run.keys_todo == len(expected)
    done = wait_for_run(run.id, celery_worker)
    assert done.status == "done" and done.tasks_done == 3, (
        done.message,
        celery_worker["log"].read_text()[-3000:],
    )
    assert done.success == len(expected) and done.errors == 0
    assert {tuple(sorted(k.items())) for k in demo.Detection().keys()} == expected
    outcomes = list(done.key_outcomes.values_list("outcome", flat=True))
    assert outcomes.count("success") == len(expected)  # each key computed once, by one task
    assert done.started is not None and done.finished >= done.started
    client = Client()
    client.force_login(operator)
    body = client.get(f"/api/v1/runs/{run.id}/").json()
    assert body["status"] == "done" and len(body["keys"]) == len(done.key_outcomes.all())
    assert client.get("/api/v1/runs/").json()["runs"][0]["id"] == run.id
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert "computed" in page and run.full_name.split(".")[0].strip("`") in page


def test_restricted_and_limited_runs_compute_only_their_keys(demo, celery_worker, operator):
    reset_detection(demo)
    image = demo.Image().keys(order_by="KEY")[0]
    name = next(iter(image))
    restriction = {"attribute": name, "operator": "=", "value": image[name]}
    run = wait_for_run(start(demo, operator, restriction=restriction).id, celery_worker)
    keys = demo.Detection().keys()
    assert keys and all(k[name] == image[name] for k in keys)
    assert run.success == len(keys) == run.keys_todo
    limited = wait_for_run(start(demo, operator, limit=2, priority=3).id, celery_worker)
    assert limited.success == 2 and len(demo.Detection()) == len(keys) + 2
    assert limited.keys is not None and len(limited.keys) == 2


def test_api_start_validation_and_cancel(demo, operator, settings):
    settings.LABBOOK_CELERY_QUEUE = "nobody-reads-this"  # tasks wait: the run can be cancelled
    settings.CELERY_TASK_DEFAULT_QUEUE = "nobody-reads-this"
    reset_detection(demo)
    client = Client()
    client.force_login(operator)
    target = f"/api/v1/schemas/{demo.Detection.database}/tables/{demo.Detection.table_name}/"
    bad = client.post(
        target + "populate/",
        data='{"restriction": {"attribute": "nope", "operator": "=", "value": 1}}',
        content_type="application/json",
    )
    assert bad.status_code == 400 and "nope" in bad.content.decode()
    manual = f"/api/v1/schemas/{demo.Subject.database}/tables/{demo.Subject.table_name}/"
    assert (
        client.post(manual + "populate/", data="{}", content_type="application/json").status_code
        == 409
    )
    started = client.post(target + "populate/", data="{}", content_type="application/json")
    assert started.status_code == 202
    run_id = started.json()["run"]
    cancelled = client.post(f"/api/v1/runs/{run_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # a task delivered after the cancel computes nothing
    with acting_as(Actor.of_user(operator, "worker")):
        result = services.run_populate(run_id)
    assert result["cancelled"] and result["success_count"] == 0
    assert len(demo.Detection()) == 0


def test_broker_down_is_reported_at_once(demo, operator, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    reset_detection(demo)
    before = PopulateRun.objects.count()
    started = time.monotonic()
    with pytest.raises(services.BrokerUnavailable, match=r"127\.0\.0\.1:1"):
        start(demo, operator)
    assert time.monotonic() - started < 2.0
    assert PopulateRun.objects.count() == before
    client = Client()
    client.force_login(operator)
    target = f"/api/v1/schemas/{demo.Detection.database}/tables/{demo.Detection.table_name}/"
    response = client.post(target + "populate/", data="{}", content_type="application/json")
    assert response.status_code == 503 and "broker" in response.json()["detail"]


def test_command_line_starts_a_run(demo, operator, settings):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.CELERY_TASK_DEFAULT_QUEUE = "nobody-reads-this"
    reset_detection(demo)
    detection = demo.Detection
    out = io.StringIO()
    call_command(
        "pipeline",
        "populate",
        detection.database,
        detection.table_name,
        "--queue",
        "--limit",
        "2",
        "--priority",
        "4",
        stdout=out,
    )
    run = PopulateRun.objects.get(id=out.getvalue().split()[1].rstrip(":"))
    assert run.source == "cli" and run.limit == 2 and run.priority == 4 and run.tasks == 2
    with pytest.raises(CommandError, match="--queue"):
        call_command(
            "pipeline", "populate", detection.database, detection.table_name, "--limit", "2"
        )
