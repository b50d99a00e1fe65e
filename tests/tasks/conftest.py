"""Fixtures of the task tests: the demo pipeline (shared with tests/web), and a quiet
session worker."""

import time

import pytest

from tests.web.conftest import demo  # noqa: F401  (fixture)


@pytest.fixture
def quiet_worker(celery_worker):
    """The session worker with nothing queued and no task running: tasks queued by earlier
    tests (web tests answer "populate" with 202 and do not wait for the run) would
    otherwise compute the demo's keys in the middle of this test's run. Discards the
    waiting tasks of the session queue and waits until the (solo) worker answers a ping,
    which it does only between tasks."""
    from labbook.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(celery_worker["queue"])
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[celery_worker["name"]], timeout=1.0):
        assert time.monotonic() < deadline, "the session worker stayed busy for a minute"
    return celery_worker
