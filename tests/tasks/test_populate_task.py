"""The Celery task ``populate`` on a REAL worker subprocess: progress is read from the
database (never from Celery state), every key is computed exactly once."""

from __future__ import annotations

import time

import pytest

from pipeline_core import services
from pipeline_core.principal import Actor, acting_as
from pipeline_core.tasks import populate
from tests.web.conftest import reset_detection

pytestmark = [pytest.mark.worker, pytest.mark.integration, pytest.mark.usefixtures("quiet_worker")]


def expected_keys(demo) -> set[tuple]:
    """Every Image x BlobParamSet key, computed from the data."""
    return {
        tuple(sorted({**image, **params}.items()))
        for image in demo.Image().keys()
        for params in demo.BlobParamSet().keys()
    }


def wait_for_database(demo, timeout: float = 90.0) -> dict:
    """Poll progress and the jobs table (as the web page does) until all is done."""
    deadline = time.monotonic() + timeout
    while True:
        services.begin_request()
        status = services.populate_status(demo.Detection.database, demo.Detection.table_name)
        if status["total"] and status["remaining"] == 0 and status["reserved"] == 0:
            return status
        assert time.monotonic() < deadline, f"populate did not finish within {timeout} s: {status}"
        time.sleep(0.5)


def test_populate_task_computes_every_key_and_nothing_twice(demo, celery_worker):
    reset_detection(demo)
    detection = demo.Detection
    expected = expected_keys(demo)
    assert services.populate_status(detection.database, detection.table_name)["remaining"] == len(
        expected
    )

    first = populate.delay(detection.full_table_name)
    status = wait_for_database(demo)
    assert status["done"] == status["total"] == len(expected) and status["error"] == 0

    assert {tuple(sorted(k.items())) for k in detection().keys()} == expected
    blobs = len(detection.Blob())
    assert blobs > 0 and sum(detection().fetch("blob_count")) == blobs
    assert first.get(timeout=60) == {
        "table": detection.full_table_name,
        "success_count": len(expected),
        "error_count": 0,
        "errors": [],
    }

    second = populate.delay(detection.full_table_name).get(timeout=60)
    assert second["success_count"] == 0 and second["error_count"] == 0
    assert (len(detection()), len(detection.Blob())) == (len(expected), blobs)


def test_worker_and_a_second_process_share_the_work(demo, celery_worker):
    reset_detection(demo)
    detection = demo.Detection
    expected = expected_keys(demo)
    remote = populate.delay(detection.full_table_name)
    with acting_as(Actor(name="second", source="cli", trusted=True)):  # same time, here
        local = services.populate(detection.full_table_name)
    remote_result = remote.get(timeout=90)
    assert local["error_count"] == remote_result["error_count"] == 0
    assert local["success_count"] + remote_result["success_count"] == len(expected)
    assert len(detection()) == len(expected)
    assert detection.jobs.progress()["total"] == 0  # finished jobs leave no rows behind


def test_unknown_table_fails_clearly(demo, celery_worker):
    with pytest.raises(Exception, match="does not exist"):
        populate.delay(f"`{demo.Detection.database}`.`__nope`").get(timeout=60)
