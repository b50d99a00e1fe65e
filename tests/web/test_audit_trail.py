"""The audit trail through LabBook's front doors (issue #11): a form insert, a populate run
(queued on the web, computed by a worker or in-process), clearing errors and the command line
each record exactly their events as the acting user, from the right source, and nothing is
recorded for a write that does not happen."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from pipeline_core import services
from pipeline_core.datamodel import DataJointError, audit
from pipeline_core.services.state import PipelineSession

from .test_entry import _session_post, entry_url, next_id

pytestmark = pytest.mark.integration


def all_events(**filters) -> list[dict]:
    conn = PipelineSession.current().connection()
    got = audit.read_events(conn, settings.LABBOOK_AUDIT_DB, limit=100_000, **filters)
    return list(reversed(got))


def newest_id() -> int:
    events = all_events()
    return events[-1]["event_id"] if events else 0


def since(first: int, **filters) -> list[dict]:
    return [e for e in all_events(**filters) if e["event_id"] > first]


def test_a_form_insert_records_master_and_parts_as_the_user(lab_client, demo):
    subject_id = demo.Subject().keys(order_by="KEY")[0]["subject_id"]
    session_id = next_id(demo.Session & {"subject_id": subject_id}, "session_id")
    trials = [{"trial_id": str(t), "start_time": "0", "stop_time": "1"} for t in (1, 2)]
    first = newest_id()
    response = lab_client.post(
        entry_url(demo.Session),
        _session_post(demo, subject_id, session_id, trials),
        headers={"X-Request-ID": "req-form-1"},
    )
    assert response.status_code == 302
    got = since(first)
    assert [(e["action"], e["table"]) for e in got] == [
        ("insert", "session"),
        ("insert", "session__trial"),
        ("insert", "session__trial"),
    ]
    assert {(e["actor"], e["source"], e["request_id"]) for e in got} == {
        ("lab", "web", "req-form-1")
    }
    assert got[0]["key"] == {"subject_id": subject_id, "session_id": session_id}
    assert got[0]["changes"]["notes"] == [None, "from the web"]
    assert got[2]["key"] == {"subject_id": subject_id, "session_id": session_id, "trial_id": 2}


def test_a_refused_insert_records_nothing(lab_client, demo):
    subject_id = demo.Subject().keys(order_by="KEY")[0]["subject_id"]
    session_id = next_id(demo.Session & {"subject_id": subject_id}, "session_id")
    trials = [{"trial_id": "7", "start_time": "0", "stop_time": "1"}] * 2  # duplicate key
    first = newest_id()
    response = lab_client.post(
        entry_url(demo.Session), _session_post(demo, subject_id, session_id, trials)
    )
    assert response.status_code == 200  # refused: the form again, with the reason
    assert since(first) == []  # the session's and first trial's events rolled back too


def test_a_populate_run_records_its_start_and_each_key(staff_client, populated, admin_user):
    """Queued on the web (``populate_start``), computed in-process here as the worker would
    (the keys, as the user who started it, source ``worker``, batch id = the run id)."""
    detection = populated.Detection
    keys = detection().keys()
    (detection & keys[:2]).delete()  # two keys to compute again
    first = newest_id()
    populate_url = reverse("web:populate", args=[detection.database, detection.table_name])
    assert staff_client.post(populate_url).status_code == 302
    started = since(first)
    assert [(e["action"], e["actor"], e["source"]) for e in started] == [
        ("populate_start", admin_user.username, "web")
    ]
    assert started[0]["table"] == "__detection" and started[0]["key"] is None
    run_id = started[0]["batch_id"]
    result = services.populate(detection.full_table_name, actor=admin_user.username, run_id=run_id)
    assert result["success_count"] == 2
    computed = since(started[-1]["event_id"], batch_id=run_id)
    assert [e["action"] for e in computed] == ["populate", "populate"]
    assert {(e["actor"], e["source"]) for e in computed} == {(admin_user.username, "worker")}
    expected = sorted(tuple(sorted(k.items())) for k in keys[:2])
    assert sorted(tuple(sorted(e["key"].items())) for e in computed) == expected
    assert all(e["table"] == "__detection" for e in computed)  # no event per part row


def test_the_command_line_records_as_the_os_user(populated):
    detection = populated.Detection
    (detection & detection().keys()[:1]).delete()
    first = newest_id()
    call_command("pipeline", "populate", detection.database, "Detection", stdout=io.StringIO())
    got = since(first)
    assert [e["action"] for e in got] == ["populate"]
    assert got[0]["source"] == "cli" and got[0]["actor"] == services.cli_actor()


def test_a_write_without_an_actor_is_refused(demo):
    conn = PipelineSession.current().connection()
    conn.audit = None
    with pytest.raises(DataJointError, match="needs an actor"):
        services.clear_errors(demo.Detection.database, demo.Detection.table_name)


def test_the_audit_database_is_not_a_schema(staff_client, demo):
    response = staff_client.get(reverse("web:schema", args=[settings.LABBOOK_AUDIT_DB]))
    assert response.status_code == 404
    assert settings.LABBOOK_AUDIT_DB not in staff_client.get(reverse("web:home")).content.decode()
