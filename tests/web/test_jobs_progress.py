"""Throughput and ETA, the live progress diagram and "reset stale reservations" of the jobs
console (issue #13): the rate is computed from audit ``populate`` events and kept
``success`` jobs with known times (expectations derived from those inputs), the diagram's
nodes carry each table's counts (errors marked, linked to the jobs page), and the reset
action counts first, then returns a stale reservation to ``pending``; roles are enforced."""

from __future__ import annotations

import re
import types
from html import unescape

import pytest
from django.conf import settings
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel import audit as dm_audit
from pipeline_core.datamodel import jobs_stats
from pipeline_core.datamodel.sql.introspection import table_exists
from pipeline_core.models import RoleGrant
from pipeline_core.schema_patterns import escape
from pipeline_core.web.diagram import node_id
from pipeline_core.web.progress import duration_text
from tests.web import test_jobs_console as console
from tests.web.test_jobs_console import args, statuses

pytestmark = pytest.mark.integration

#: Fixtures of the jobs console's tests: Square with jobs in every status, an operator.
square = console.square
operator_client = console.operator_client

#: Items of the rate table's key_source.
ITEMS = 10
#: Seconds ago of the audit events of the rate table: (action, table, age).
EVENTS = [
    ("populate", "__done", 1000),
    ("populate", "__done", 400),
    ("populate", "__done", 250),
    ("insert", "__done", 200),  # not a computed key
    ("populate", "__other", 180),  # another table
    ("populate", "__done", 150),
    ("populate", "__done", 20),
]
#: Seconds ago of the kept ``success`` jobs of the rate table, by item.
SUCCESS = {1: 400, 2: 100, 3: 10}
#: Other jobs of the rate table: item -> status.
OTHER_JOBS = {4: "pending", 5: "pending", 6: "reserved", 7: "error", 8: "ignore"}


@pytest.fixture(scope="module")
def rate_table(demo, pipeline_prefix):
    """``{prefix}webrate``: Item (1..10) and Done (Computed), the items of :data:`SUCCESS`
    computed without an audit trail, and the jobs of :data:`OTHER_JOBS`."""
    schema = dm.Schema(pipeline_prefix + "webrate", connection=demo.Subject.connection)

    @schema
    class Item(dm.Lookup):
        definition = """
        item: int16
        """
        contents = [(i,) for i in range(1, ITEMS + 1)]

    @schema
    class Done(dm.Computed):
        definition = """
        -> Item
        ---
        twice: int32
        """

        def make(self, key):
            self.insert1(dict(key, twice=2 * key["item"]))

    Done.populate([{"item": item} for item in SUCCESS])
    Done.jobs.declare()
    conn, jobs = Done.connection, Done.jobs.full_table_name
    conn.query(f"DELETE FROM {jobs}")  # pytest may set a module fixture up again
    for item, status in OTHER_JOBS.items():
        conn.query(
            f"INSERT INTO {jobs} (item, status, priority) VALUES (%s, %s, 5)", [item, status]
        )
    return types.SimpleNamespace(Item=Item, Done=Done, schema=schema.database)


def add_history(done) -> None:
    """The kept success jobs and the audit events, oldest event first (as written)."""
    conn = done.connection
    audit_db = settings.LABBOOK_AUDIT_DB
    dm_audit.AuditTrail(audit_db, dm_audit.AuditContext("tester", "cli")).ensure(conn)
    for item, age in SUCCESS.items():
        conn.query(
            f"INSERT INTO {done.jobs.full_table_name} (item, status, priority, completed_time) "
            "VALUES (%s, 'success', 5, NOW(3) - INTERVAL %s SECOND)",
            [item, age],
        )
    for action, table, age in sorted(EVENTS, key=lambda e: -e[2]):
        conn.query(
            f"INSERT INTO `{audit_db}`.`event` (time, actor, source, action, schema_name, "
            "table_name, primary_key) VALUES (UTC_TIMESTAMP(6) - INTERVAL %s SECOND, "
            "'tester', 'worker', %s, %s, %s, '{}')",
            [age, action, done.database, table],
        )


def test_rate_and_eta_from_audit_events_and_kept_success_jobs(staff_client, rate_table):
    done = rate_table.Done
    url = reverse("api:jobs", args=[done.database, done.table_name])
    counts_url = reverse("web:jobs", args=[done.database, done.table_name])
    hx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "job-counts"}

    body = staff_client.get(url).json()
    counts, rate = body["counts"], body["rate"]
    remaining = counts["pending"] + counts["reserved"] + counts["not_queued"]
    assert (counts["pending"], counts["reserved"]) == (2, 1)
    assert counts["not_queued"] == ITEMS - len(SUCCESS) - len(OTHER_JOBS)
    assert rate == {
        "keys_per_minute": 0.0,
        "window_seconds": jobs_stats.RATE_WINDOW,
        "eta_seconds": None,
        "completed": 0,
        "remaining": remaining,
    }
    html = staff_client.get(counts_url, **hx).content.decode()
    assert re.search(r'<dd class="eta"[^>]*>—</dd>', html)

    add_history(done)
    window = jobs_stats.RATE_WINDOW
    from_audit = sum(a == "populate" and t == "__done" and age < window for a, t, age in EVENTS)
    from_jobs = sum(age < window for age in SUCCESS.values())
    completed = from_audit + from_jobs
    assert from_audit and from_jobs  # both sources count
    per_minute = completed * 60 / window
    eta = remaining / (per_minute / 60)
    rate = staff_client.get(url).json()["rate"]
    assert rate["completed"] == completed
    assert rate["keys_per_minute"] == pytest.approx(per_minute, abs=1e-3)
    assert rate["eta_seconds"] == pytest.approx(eta, abs=0.1)
    assert rate["remaining"] == remaining
    found = jobs_stats.throughput(done.connection, done.jobs, settings.LABBOOK_AUDIT_DB)
    assert (found.from_audit, found.from_jobs) == (from_audit, from_jobs)

    html = staff_client.get(counts_url, **hx).content.decode()
    assert f"{per_minute:.1f} keys/min over the last 5 min" in html
    assert f">{duration_text(eta)}</dd>" in html
    page = staff_client.get(counts_url).content.decode()  # the whole page shows it too
    assert f"{per_minute:.1f} keys/min" in page and "keep_completed" in page


def test_throughput_window_must_be_positive(rate_table):
    with pytest.raises(ValueError, match="positive number of seconds"):
        jobs_stats.throughput(rate_table.Done.connection, rate_table.Done.jobs, None, window=0)


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, "—"),
        (0, "0 s"),
        (59.4, "59 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (3600 * 2 + 300, "2 h 5 min"),
        (86400 * 3 + 3600 * 4, "3 d 4 h"),
        (86400, "1 d"),
    ],
)
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


# --------------------------------------------------------------------------------------------
# the live progress diagram
# --------------------------------------------------------------------------------------------


def node_of(svg: str, info) -> str:
    """The SVG group of one table's node (``<g id="dag-..."`` up to its closing tags),
    entities decoded (Graphviz writes ``-`` as ``&#45;``)."""
    svg = unescape(svg)
    match = re.search(rf'<g id="{node_id(info)}" class="([^"]*)">(.*?)</g>\s*</g>', svg, re.S)
    assert match, f"no node {node_id(info)} in the figure"
    return match.group(0)


def test_progress_figure_shows_counts_errors_and_links(operator_client, square, extra_tables):
    schema = square.database
    url = reverse("web:schema_progress", args=[schema])
    html = operator_client.get(url).content.decode()
    assert 'id="schema-progress"' in html and 'hx-trigger="every 5s"' in html
    assert url in operator_client.get(reverse("web:schema", args=[schema])).content.decode()
    jobs_page = operator_client.get(reverse("web:jobs", args=args(square))).content.decode()
    assert url in jobs_page
    figure = operator_client.get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="schema-progress"
    ).content.decode()
    assert figure.lstrip().startswith('<section id="schema-progress"')
    for table, errors in ((square, True), (extra_tables.Orphan, False)):
        info = services.table_info(schema, table.table_name)
        counts = services.job_counts(schema, table.table_name)
        assert bool(counts["error"]) == errors
        node = node_of(figure, info)
        assert "dag-progress" in node and ("dag-error" in node) == errors
        assert f"{counts['done']}/{counts['keys']}" in node
        assert reverse("web:jobs", args=[schema, table.table_name]) in node
        if errors:
            assert f"{counts['error']} errors" in node and "#c62828" in node.lower()
            assert f"{counts['reserved']} reserved" in node
        row = re.search(rf'<tr id="row-{node_id(info)}".*?</tr>', figure, re.S).group(0)
        assert f'<td class="num done">{counts["done"]}</td>' in row
    number = services.table_info(schema, extra_tables.Number.table_name)  # a Lookup
    assert "dag-progress" not in node_of(figure, number)
    assert reverse("web:table", args=[schema, extra_tables.Number.table_name]) in figure


def test_progress_figure_follows_the_jobs(staff_client, square):
    url = reverse("web:schema_progress", args=[square.database])
    info = services.table_info(square.database, square.table_name)
    before = services.job_counts(square.database, square.table_name)["error"]
    assert f"{before} errors" in node_of(staff_client.get(url).content.decode(), info)
    square.connection.query(f"DELETE FROM {square.jobs.full_table_name} WHERE n = 101")
    after = node_of(staff_client.get(url).content.decode(), info)
    assert f"{before - 1} errors" in after


# --------------------------------------------------------------------------------------------
# reset stale reservations
# --------------------------------------------------------------------------------------------


@pytest.fixture
def stale(square):
    """Square's reserved job 301 (connection id 0: never a live connection) is stale; the
    recovery counts of Square's keys start from nothing."""
    conn, audit_db = square.connection, settings.LABBOOK_AUDIT_DB
    if table_exists(conn, audit_db, "recovery_attempt"):
        conn.query(
            f"DELETE FROM `{audit_db}`.`recovery_attempt` WHERE table_name = %s",
            [square.jobs.table_name],
        )
    assert statuses(square)[301] == ("reserved", 5)
    return square


def test_reset_stale_reservations_api(operator_client, stale):
    url = reverse("api:jobs_recover", args=args(stale))
    post = lambda body: operator_client.post(url, body, content_type="application/json")  # noqa: E731
    assert post({"dry_run": True}).json() == {"count": 1, "dry_run": True}
    assert statuses(stale)[301] == ("reserved", 5)  # nothing changed by the dry run
    assert post({}).json() == {"count": 1, "dry_run": False}
    assert statuses(stale)[301] == ("pending", 5)
    assert post({"dry_run": True}).json()["count"] == 0
    events = services.history(table=stale.ref, limit=50)["events"]
    recovered = [e for e in events if e["action"] == "recover"]
    assert recovered[0]["key"] == {"n": 301} and recovered[0]["actor"] == "op"
    assert recovered[0]["changes"]["status"] == ["reserved", "pending"]
    assert post({"dry_run": "maybe"}).status_code == 400
    orphan = reverse("api:jobs_recover", args=[stale.database, "#number"])
    assert post_to(operator_client, orphan).status_code == 409  # a Lookup has no jobs


def post_to(client, url):
    return client.post(url, {"dry_run": True}, content_type="application/json")


def test_reset_stale_reservations_page(operator_client, stale):
    page = operator_client.get(reverse("web:jobs", args=args(stale))).content.decode()
    assert 'id="jobs-recover"' in page
    url = reverse("web:jobs_action", args=args(stale))
    preview = operator_client.post(
        url, {"action": "recover"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="jobs-recover"
    ).content.decode()
    assert "Reset 1 stale reservation:" in preview and 'name="confirm" value="1"' in preview
    assert statuses(stale)[301][0] == "reserved"
    done = operator_client.post(
        url, {"action": "recover", "scope": "stale", "confirm": "1"}, HTTP_HX_REQUEST="true"
    )
    assert "Reset 1 stale reservation done" in done.content.decode()
    assert "jobs-changed" in done.headers["HX-Trigger"]  # the counts refresh at once
    assert statuses(stale)[301][0] == "pending"


@pytest.mark.parametrize("role", ["viewer", "entry", "editor"])
def test_reset_stale_reservations_needs_operator(
    client, django_user_model, pipeline_prefix, stale, role
):
    user = django_user_model.objects.create_user(username=role, password="x")
    RoleGrant.objects.create(user=user, schema_pattern=escape(pipeline_prefix) + "%", role=role)
    client.force_login(user)
    assert post_to(client, reverse("api:jobs_recover", args=args(stale))).status_code == 403
    web = client.post(reverse("web:jobs_action", args=args(stale)), {"action": "recover"})
    assert web.status_code == 403
    page = client.get(reverse("web:jobs", args=args(stale))).content.decode()
    assert 'id="jobs-recover"' not in page
    assert statuses(stale)[301][0] == "reserved"
