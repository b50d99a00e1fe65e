"""The ``populate`` task checks the role of the user who queued it when it runs, on a REAL
worker: a user demoted (or deleted, or deactivated) after queueing is refused, and the
refusal is the task's result; the web queues the task with the user's name."""

from __future__ import annotations

import pytest

from pipeline_core.models import RoleGrant
from pipeline_core.schema_patterns import escape
from pipeline_core.tasks import populate
from tests.tasks.test_populate_task import wait_for_database
from tests.web.conftest import reset_detection

pytestmark = [pytest.mark.worker, pytest.mark.integration]


@pytest.fixture
def operator(transactional_db, django_user_model, demo):
    """``olga``, operator on the imaging schema (committed: the worker reads it)."""
    user = django_user_model.objects.create_user(username="olga", password="x")
    grant = RoleGrant.objects.create(
        user=user, schema_pattern=escape(demo.Detection.database), role="operator"
    )
    user.grant = grant
    return user


def refusal(detection, user: str, reason: str) -> dict:
    return {
        "table": detection.full_table_name,
        "user": user,
        "refused": reason,
        "success_count": 0,
        "error_count": 0,
        "errors": [],
    }


def test_a_user_demoted_after_queueing_is_refused(demo, celery_worker, operator):
    reset_detection(demo)
    detection = demo.Detection
    # queued by an operator, held 3 s by the broker; demoted meanwhile
    queued = populate.apply_async([detection.full_table_name], {"user": "olga"}, countdown=3)
    operator.grant.role = "viewer"
    operator.grant.save()
    result = queued.get(timeout=60)
    assert result == refusal(
        detection,
        "olga",
        f"Your role on schema `{detection.database}` is viewer: populate needs operator or "
        "higher. Ask an administrator for a grant.",
    )
    assert len(detection()) == 0  # nothing computed, no job reserved
    assert not detection.jobs.exists() or detection.jobs.progress()["total"] == 0
    assert queued.state == "SUCCESS"  # a result, not a failure to retry

    # promoted again: the same task runs
    operator.grant.role = "operator"
    operator.grant.save()
    done = populate.delay(detection.full_table_name, user="olga").get(timeout=90)
    assert done["success_count"] > 0 and "refused" not in done
    assert wait_for_database(demo)["remaining"] == 0


def test_deleted_and_inactive_users_are_refused(demo, celery_worker, operator):
    reset_detection(demo)
    detection = demo.Detection
    operator.is_active = False
    operator.save()
    result = populate.delay(detection.full_table_name, user="olga").get(timeout=60)
    assert result == refusal(detection, "olga", "user 'olga' does not exist or is inactive")
    result = populate.delay(detection.full_table_name, user="ghost").get(timeout=60)
    assert result == refusal(detection, "ghost", "user 'ghost' does not exist or is inactive")
    assert len(detection()) == 0


def test_the_web_queues_populate_as_the_user(demo, celery_worker, operator, client):
    reset_detection(demo)
    detection = demo.Detection
    client.force_login(operator)
    url = f"/schemas/{detection.database}/tables/{detection.table_name}/populate/"
    assert client.post(url).status_code == 302
    status = wait_for_database(demo)
    assert status["done"] == status["total"] > 0
