"""The jobs console's services and API (issue #13): filters and keyset pages, retry /
ignore / unignore / reprioritise with their dry-run counts and then their effect, roles
(entry and viewer refused, operator allowed) and the audit events written."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from pipeline_core import services
from pipeline_core.datamodel import audit as dm_audit
from pipeline_core.models import RoleGrant
from pipeline_core.principal import Actor, acting_as
from pipeline_core.schema_patterns import escape

pytestmark = pytest.mark.integration


def as_tester():
    return acting_as(Actor(name="tester", source="cli", trusted=True))


def reset_square(square) -> None:
    """Square as populate leaves it: 1, 2, 4 computed, an error job for 3, nothing else."""
    services.begin_request()
    square.jobs.declare()
    square.connection.query(f"DELETE FROM {square.jobs.full_table_name}")
    square().delete_quick()
    with as_tester():
        services.populate(square.full_table_name)


@pytest.fixture
def square(with_failing_pipeline):
    """Square with extra jobs: errors for 101..105 (two saying "disk full"), pending 201,
    202 (priority 5), reserved 301 on host ``w1``, ignored 401; emptied afterwards."""
    sq = with_failing_pipeline.Square
    reset_square(sq)
    jobs = sq.jobs.full_table_name
    rows = [
        (n, "error", "disk full" if n < 103 else "ValueError: bad", "w2") for n in range(101, 106)
    ]
    rows += [(201, "pending", "", ""), (202, "pending", "", ""), (301, "reserved", "", "w1")]
    rows += [(401, "ignore", "", "")]
    for n, status, message, host in rows:
        sq.connection.query(
            f"INSERT INTO {jobs} (n, status, priority, error_message, host) "
            "VALUES (%s, %s, 5, %s, %s)",
            [n, status, message, host],
        )
    yield sq
    services.begin_request()  # left as declared: no rows, no jobs (others populate it)
    sq.connection.query(f"DELETE FROM {jobs}")
    sq().delete_quick()


def api(schema_table, action=""):
    return reverse(f"api:jobs{'_' + action if action else ''}", args=schema_table)


def args(sq):
    return [sq.database, sq.table_name]


@pytest.fixture
def operator_client(client, django_user_model, pipeline_prefix):
    user = django_user_model.objects.create_user(username="op", password="x")
    group = Group.objects.create(name="ops")
    user.groups.add(group)
    RoleGrant.objects.create(
        group=group, schema_pattern=escape(pipeline_prefix) + "%", role="operator"
    )
    client.force_login(user)
    return client


def statuses(sq) -> dict:
    services.begin_request()
    rows = sq.connection.query(f"SELECT n, status, priority FROM {sq.jobs.full_table_name}")
    return {n: (status, priority) for n, status, priority in rows}


def test_list_filters_and_keyset_pages(staff_client, square):
    url = api(args(square))
    body = staff_client.get(url).json()
    counts = body["counts"]
    assert (counts["error"], counts["pending"], counts["reserved"], counts["ignore"]) == (
        6,
        2,
        1,
        1,
    )
    assert counts["keys"] == 4 and counts["done"] == 3
    assert [j["key"]["n"] for j in body["jobs"]][:3] == [3, 101, 102]
    errors = staff_client.get(url, {"status": "error"}).json()["jobs"]
    assert {j["key"]["n"] for j in errors} == {3, 101, 102, 103, 104, 105}
    both = staff_client.get(url, {"status": "pending,reserved"}).json()["jobs"]
    assert {j["key"]["n"] for j in both} == {201, 202, 301}
    assert [j["key"]["n"] for j in staff_client.get(url, {"host": "w1"}).json()["jobs"]] == [301]
    disk = staff_client.get(url, {"error": "DISK"}).json()["jobs"]
    assert [j["key"]["n"] for j in disk] == [101, 102]
    assert staff_client.get(url, {"error": "%"}).json()["jobs"] == []  # literal
    seen, after = [], None
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        page = staff_client.get(url, params).json()
        assert len(page["jobs"]) <= 3
        seen += [j["key"]["n"] for j in page["jobs"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [3, 101, 102, 103, 104, 105, 201, 202, 301, 401]
    assert staff_client.get(url, {"status": "bogus"}).status_code == 400
    assert staff_client.get(url, {"after": "!!"}).status_code == 400


def test_retry_dry_run_then_effect_and_audit(operator_client, square):
    url = api(args(square), "retry")
    post = lambda body: operator_client.post(url, body, content_type="application/json")  # noqa: E731
    assert post({"error_contains": "disk", "dry_run": True}).json() == {"count": 2, "dry_run": True}
    assert statuses(square)[101][0] == "error"  # nothing changed by the dry run
    assert post({"error_contains": "disk"}).json()["count"] == 2
    now = statuses(square)
    assert now[101][0] == now[102][0] == "pending" and now[103][0] == "error"
    assert post({"keys": [{"n": 103}], "dry_run": True}).json()["count"] == 1
    assert post({"keys": [{"n": 103}, {"n": 201}]}).json()["count"] == 1  # 201 is no error
    assert post({"all_errors": True, "dry_run": True}).json()["count"] == 3  # 3, 104, 105
    assert post({"all_errors": True}).json()["count"] == 3
    assert "error" not in {s for s, _ in statuses(square).values()}
    assert post({}).status_code == 400
    assert post({"all_errors": True, "keys": []}).status_code == 400
    events = services.history(table=square.ref, limit=50)["events"]
    retried = {e["key"]["n"] for e in events if e["action"] == "retry_jobs"}
    assert retried == {3, 101, 102, 103, 104, 105}
    # a retried key is computed by the next populate (3 fails again: an error once more)
    with as_tester():
        services.populate(square.full_table_name)
    assert statuses(square)[3][0] == "error"


def test_ignore_unignore_and_priority(operator_client, square):
    post = lambda action, body: operator_client.post(  # noqa: E731
        api(args(square), action), body, content_type="application/json"
    )
    keys = [{"n": 101}, {"n": 201}, {"n": 301}, {"n": 999}]  # error, pending, reserved, none
    assert post("ignore", {"keys": keys, "dry_run": True}).json()["count"] == 3
    assert post("ignore", {"keys": keys}).json()["count"] == 3
    now = statuses(square)
    assert now[101][0] == now[201][0] == now[999][0] == "ignore" and now[301][0] == "reserved"
    back = [{"n": 101}, {"n": 401}]
    assert post("ignore", {"keys": back, "unignore": True, "dry_run": True}).json()["count"] == 2
    assert post("ignore", {"keys": back, "unignore": True}).json()["count"] == 2
    assert 101 not in statuses(square) and 401 not in statuses(square)
    assert (
        post("priority", {"keys": [{"n": 202}], "priority": 1, "dry_run": True}).json()["count"]
        == 1
    )
    assert post("priority", {"keys": [{"n": 202}], "priority": 1}).json()["count"] == 1
    assert statuses(square)[202] == ("pending", 1)
    assert post("priority", {"priority": 500}).status_code == 400
    actions = {e["action"] for e in services.history(table=square.ref, limit=50)["events"]}
    assert {"ignore_jobs", "unignore_jobs", "reprioritize_jobs"} <= actions


@pytest.mark.parametrize("role", ["viewer", "entry"])
def test_viewer_and_entry_may_list_but_not_change(
    client, django_user_model, pipeline_prefix, square, role
):
    user = django_user_model.objects.create_user(username=role, password="x")
    RoleGrant.objects.create(user=user, schema_pattern=escape(pipeline_prefix) + "%", role=role)
    client.force_login(user)
    assert client.get(api(args(square))).status_code == 200
    for action, body in [
        ("retry", {"all_errors": True}),
        ("ignore", {"keys": [{"n": 101}]}),
        ("priority", {"priority": 1}),
    ]:
        response = client.post(api(args(square), action), body, content_type="application/json")
        assert response.status_code == 403, action
    assert statuses(square)[101] == ("error", 5)


def test_services_refuse_without_role(square, django_user_model, pipeline_prefix, db):
    from pipeline_core.roles import RoleRequired

    user = django_user_model.objects.create_user(username="v", password="x")
    RoleGrant.objects.create(user=user, schema_pattern=escape(pipeline_prefix) + "%", role="entry")
    with pytest.raises(RoleRequired):
        services.retry_jobs(square.database, square.table_name, user, all_errors=True)
    assert dm_audit.KEY_LIMIT > 0


def test_traceback_of_a_job(staff_client, square):
    text = services.job_traceback(square.database, square.table_name, {"n": 3})
    assert "3 is unlucky" in text


def test_jobs_page_filters_confirmation_and_link(operator_client, square):
    table_url = reverse("web:table", args=args(square))
    page_url = reverse("web:jobs", args=args(square))
    assert page_url in operator_client.get(table_url).content.decode()
    html = operator_client.get(page_url, {"status": "error", "error": "disk"}).content.decode()
    assert 'id="job-counts"' in html and 'hx-trigger="every 3s, jobs-changed from:body"' in html
    assert "disk full" in html and "ValueError: bad" not in html
    counts = operator_client.get(page_url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-counts")
    assert counts.content.decode().lstrip().startswith('<section id="job-counts"')
    action_url = reverse("web:jobs_action", args=args(square))
    form = {"action": "retry", "scope": "matching", "error_text": "disk"}
    preview = operator_client.post(
        action_url, form, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="jobs-actions"
    )
    text = preview.content.decode()
    assert "Retry 2 jobs" in text and 'name="confirm" value="1"' in text
    assert statuses(square)[101][0] == "error"
    done = operator_client.post(action_url, {**form, "confirm": "1"}, HTTP_HX_REQUEST="true")
    assert "Retry 2 jobs done" in done.content.decode()
    assert statuses(square)[101][0] == statuses(square)[102][0] == "pending"
    from pipeline_core.keys import encode_key

    ignore = {
        "action": "ignore",
        "scope": "selected",
        "key": [encode_key({"n": 103})],
        "confirm": "1",
    }
    assert operator_client.post(action_url, ignore).status_code == 200
    assert statuses(square)[103][0] == "ignore"
    bad = operator_client.post(action_url, {"action": "retry", "scope": "selected"})
    assert bad.status_code == 400


def test_jobs_page_for_viewers_has_no_actions(lab_client, square):
    html = lab_client.get(reverse("web:jobs", args=args(square))).content.decode()
    assert "jobs-actions" not in html and "3 is unlucky" in html


@pytest.mark.parametrize(
    "body",
    [
        {"keys": [{"n": None}]},
        {"keys": [{"n": 10**30}]},
        {"keys": [{"n": "abc"}]},
        {"keys": [{"n": [1]}]},
        {"keys": [{}]},
        {"keys": [{"n": ""}]},
    ],
)
def test_bad_job_keys_are_400(operator_client, square, body):
    for action in ("retry", "ignore", "priority"):
        data = {**body, **({"priority": 1} if action == "priority" else {})}
        response = operator_client.post(
            api(args(square), action), data, content_type="application/json"
        )
        assert response.status_code == 400, (action, body, response.content)
