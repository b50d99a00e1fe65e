"""The audit trail through LabBook's front doors (issue #11): a form insert, a populate run
(queued on the web, computed by a worker or in-process), clearing errors and the command line
each record exactly their events as the acting user, from the right source, and nothing is
recorded for a write that does not happen."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from pipeline_core import services
from pipeline_core.datamodel import DataJointError, audit
from pipeline_core.principal import Actor, acting_as, os_user
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
    with acting_as(Actor.of_user(admin_user, "worker", run_id)):
        result = services.populate(detection.full_table_name, run_id=run_id)
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
    assert got[0]["source"] == "cli" and got[0]["actor"] == os_user()


def test_a_write_without_an_actor_is_refused(demo):
    conn = PipelineSession.current().connection()
    conn.audit = None
    with pytest.raises(DataJointError, match="needs an actor"):
        services.clear_errors(demo.Detection.database, demo.Detection.table_name)


def test_the_audit_database_is_not_a_schema(staff_client, demo):
    response = staff_client.get(reverse("web:schema", args=[settings.LABBOOK_AUDIT_DB]))
    assert response.status_code == 404
    assert settings.LABBOOK_AUDIT_DB not in staff_client.get(reverse("web:home")).content.decode()


def _insert_session(client, demo, trials=1) -> dict:
    subject_id = demo.Subject().keys(order_by="KEY")[0]["subject_id"]
    session_id = next_id(demo.Session & {"subject_id": subject_id}, "session_id")
    rows = [{"trial_id": str(t), "start_time": "0", "stop_time": "1"} for t in range(trials)]
    response = client.post(
        entry_url(demo.Session), _session_post(demo, subject_id, session_id, rows)
    )
    assert response.status_code == 302
    return {"subject_id": subject_id, "session_id": session_id}


def test_history_pages_of_a_table_a_row_and_a_user(lab_client, demo):
    from pipeline_core.web.keys import encode_key, key_label

    first_key = _insert_session(lab_client, demo)
    second_key = _insert_session(lab_client, demo)
    base = reverse("web:history", args=[demo.Session.database, demo.Session.table_name])
    table_page = lab_client.get(base).content.decode()
    assert key_label(first_key) in table_page and key_label(second_key) in table_page
    row_page = lab_client.get(f"{base}?key={encode_key(first_key)}").content.decode()
    assert key_label(first_key) in row_page and key_label(second_key) not in row_page
    assert row_page.count("<tr data-event=") == 1
    user_page = lab_client.get(reverse("web:actor_history", args=["lab"])).content.decode()
    assert key_label(second_key) in user_page and "session__trial" in user_page
    nobody = lab_client.get(reverse("web:actor_history", args=["nobody"])).content.decode()
    assert "No writes are recorded here yet" in nobody


def test_history_pages_go_back_page_by_page(lab_client, demo):
    _insert_session(lab_client, demo, trials=60)  # more events than one page (50)
    base = reverse("web:history", args=[demo.Session.Trial.database, demo.Session.Trial.table_name])
    first = lab_client.get(base).content.decode()
    older = re.search(r'href="([^"]*after=\d+)"', first).group(1).replace("&amp;", "&")
    second = lab_client.get(older).content.decode()
    ids = [int(i) for i in re.findall(r'data-event="(\d+)"', first + second)]
    assert len(ids) >= 60 and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


def test_the_api_serves_the_same_events(lab_client, demo):
    key = _insert_session(lab_client, demo)
    url = reverse("api:audit")
    params = {"schema": demo.Session.database, "table": demo.Session.table_name}
    page = lab_client.get(url, {**params, "key": json.dumps(key)}).json()
    assert [(e["action"], e["key"], e["actor"], e["source"]) for e in page["events"]] == [
        ("insert", key, "lab", "web")
    ]
    assert page["cursor"] is None
    one = lab_client.get(url, {**params, "limit": 1}).json()
    assert len(one["events"]) == 1 and one["cursor"] == one["events"][0]["event_id"]
    rest = lab_client.get(url, {**params, "after": one["cursor"]}).json()
    assert all(e["event_id"] < one["cursor"] for e in rest["events"])
    assert lab_client.get(url, {"table": "session"}).status_code == 400
    assert lab_client.get(url, {**params, "key": "[1]"}).status_code == 400
    assert lab_client.get(url, {"schema": "no_such_schema"}).status_code == 404
    mine = lab_client.get(url, {"actor": "lab"}).json()["events"]
    assert mine and {e["actor"] for e in mine} == {"lab"}


def test_no_actor_is_left_on_the_connection_after_a_request(lab_client, demo):
    """After a request, command or task the thread's connection records nothing: a later
    write without an actor is refused, not recorded as the previous user's."""
    assert lab_client.get(reverse("web:home")).status_code == 200
    assert PipelineSession.current().connection().audit is None
    with pytest.raises(DataJointError, match="needs an actor"):
        services.clear_errors(demo.Detection.database, demo.Detection.table_name)


def test_an_entry_form_never_lists_keys_of_a_schema_the_user_may_not_view(
    client, django_user_model, demo
):
    """Entering a Session (in demo_lab) needs its Subject's keys; a user who may enter into
    demo_imaging but not view demo_lab gets no Image form (Image refers to demo_lab's
    Session), and no Session key appears on the page."""
    from pipeline_core.models import RoleGrant
    from pipeline_core.schema_patterns import escape

    settings.LABBOOK_DEFAULT_ROLE = None
    try:
        user = django_user_model.objects.create_user(username="imager", password="x")
        RoleGrant.objects.create(
            user=user, schema_pattern=escape(demo.Image.database), role="entry"
        )
        client.force_login(user)
        page = client.get(entry_url(demo.Image)).content.decode()
        assert "needs at least the role viewer on schema" in page
        assert demo.Session.database in page
        for key in demo.Session().keys()[:3]:
            assert f"session_id={key['session_id']}" not in page
        assert client.post(entry_url(demo.Image), {}).status_code == 200
    finally:
        settings.LABBOOK_DEFAULT_ROLE = "viewer"
