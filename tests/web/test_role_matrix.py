"""The role matrix, generated from the URL configuration.

Every URL pattern of LabBook (the ``web:`` and ``api:`` namespaces of ``labbook.urls``) ×
method × principal has an expected answer written in :data:`EXPECTED`; a pattern with no
row there fails :func:`test_every_url_pattern_has_a_row`, so a new URL cannot arrive
without its role rule. The other entries of the root URLconf are listed in
:data:`NOT_LABBOOK` (Django's own login and admin, with their own rules).

Principals: ``anonymous`` (not logged in, ``LABBOOK_ANONYMOUS_ROLE=none``), ``public`` (not
logged in, ``LABBOOK_ANONYMOUS_ROLE=viewer``), ``nobody`` (logged in, no grant,
``LABBOOK_DEFAULT_ROLE=none``) and one user per role, each granted on every schema of the
test session (``viewer``, ``entry`` and ``admin`` directly, ``editor`` and ``operator``
through groups). Requests that write are checked in the databases: the row really inserted
(or not), the populate task really queued (or not), the error jobs really cleared (or not).
"""

from __future__ import annotations

import json
import secrets
from html import unescape
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.models import RoleGrant
from pipeline_core.principal import Actor, acting_as
from pipeline_core.schema_patterns import escape
from pipeline_core.web.keys import encode_key

pytestmark = pytest.mark.integration

PRINCIPALS = ("anonymous", "public", "nobody", "viewer", "entry", "editor", "operator", "admin")

# One row per (pattern, method); one answer per principal, in the order of PRINCIPALS:
#   200, 403, 404, 405, ...  that status
#   login                     302 to the login page (log in first)
#   302                       a redirect elsewhere (a write done; a page behind a partial)
# fmt: off
EXPECTED = {
    #                                  anonymous public nobody viewer entry editor operator admin
    ("web:home", "GET"):              "login     200    200    200    200   200    200      200",
    ("web:home", "POST"):             "405       405    405    405    405   405    405      405",
    ("web:healthz", "GET"):           "200       200    200    200    200   200    200      200",
    ("web:healthz", "POST"):          "405       405    405    405    405   405    405      405",
    ("web:schema", "GET"):            "login     200    404    200    200   200    200      200",
    ("web:schema", "POST"):           "405       405    405    405    405   405    405      405",
    ("web:schema_progress", "GET"):   "login     200    404    200    200   200    200      200",
    ("web:schema_progress", "POST"):  "405       405    405    405    405   405    405      405",
    ("web:table", "GET"):             "login     200    404    200    200   200    200      200",
    ("web:table", "POST"):            "405       405    405    405    405   405    405      405",
    ("web:entry", "GET"):             "login     login  404    403    200   200    200      200",
    ("web:entry", "POST"):            "login     login  404    403    302   302    302      302",
    ("web:grid", "GET"):              "login     login  404    403    200   200    200      200",
    ("web:grid", "POST"):             "405       405    405    405    405   405    405      405",
    ("web:row", "GET"):               "login     200    404    200    200   200    200      200",
    ("web:row", "POST"):              "405       405    405    405    405   405    405      405",
    ("web:thumbnail", "GET"):         "login     200    404    200    200   200    200      200",
    ("web:thumbnail", "POST"):        "405       405    405    405    405   405    405      405",
    ("web:value", "GET"):             "login     200    404    200    200   200    200      200",
    ("web:value", "POST"):            "405       405    405    405    405   405    405      405",
    ("web:download", "GET"):          "login     200    404    200    200   200    200      200",
    ("web:download", "POST"):         "405       405    405    405    405   405    405      405",
    ("web:populate", "GET"):          "405       405    405    405    405   405    405      405",
    ("web:populate", "POST"):         "login     login  404    403    403   403    302      302",
    ("web:progress", "GET"):          "login     302    404    302    302   302    302      302",
    ("web:progress", "POST"):         "405       405    405    405    405   405    405      405",
    ("web:clear_errors", "GET"):      "405       405    405    405    405   405    405      405",
    ("web:clear_errors", "POST"):     "login     login  404    403    403   403    302      302",
    ("web:traceback", "GET"):         "login     200    404    200    200   200    200      200",
    ("web:traceback", "POST"):        "405       405    405    405    405   405    405      405",
    ("web:jobs", "GET"):              "login     200    404    200    200   200    200      200",
    ("web:jobs", "POST"):             "405       405    405    405    405   405    405      405",
    ("web:jobs_action", "GET"):       "405       405    405    405    405   405    405      405",
    ("web:jobs_action", "POST"):      "login     login  404    403    403   403    200      200",
    ("web:export", "GET"):            "login     200    404    200    200   200    200      200",
    ("web:export", "POST"):           "405       405    405    405    405   405    405      405",
    ("web:history", "GET"):           "login     login  404    200    200   200    200      200",
    ("web:history", "POST"):          "405       405    405    405    405   405    405      405",
    ("web:actor_history", "GET"):     "login     login  200    200    200   200    200      200",
    ("web:actor_history", "POST"):    "405       405    405    405    405   405    405      405",
    ("api:audit", "GET"):             "401       401    404    200    200   200    200      200",
    ("api:audit", "POST"):            "401       405    405    405    405   405    405      405",
    ("api:schema", "GET"):            "401       401    200    200    200   200    200      200",
    ("api:schema", "POST"):           "401       401    405    405    405   405    405      405",
    ("api:docs", "GET"):              "login     login  200    200    200   200    200      200",
    ("api:docs", "POST"):             "login     login  405    405    405   405    405      405",
    ("web:api_token", "GET"):         "login     login  200    200    200   200    200      200",
    ("web:api_token", "POST"):        "login     login  200    200    200   200    200      200",
    ("api:schemas", "GET"):           "401       200    200    200    200   200    200      200",
    ("api:schemas", "POST"):          "401       405    405    405    405   405    405      405",
    ("api:query", "GET"):             "401       405    405    405    405   405    405      405",
    ("api:query", "POST"):            "401       200    404    200    200   200    200      200",
    ("api:query_export", "GET"):      "401       200    404    200    200   200    200      200",
    ("api:query_export", "POST"):     "401       405    405    405    405   405    405      405",
    ("api:rows", "GET"):              "401       200    404    200    200   200    200      200",
    ("api:rows", "POST"):             "401       401    404    403    201   201    201      201",
    ("api:rows", "PATCH"):            "401       401    404    403    403   200    200      200",
    ("api:rows_delete", "GET"):       "405       405    405    405    405   405    405      405",
    ("api:rows_delete", "POST"):      "401       401    404    403    403   200    200      200",
    ("api:batch_undo", "GET"):        "405       405    405    405    405   405    405      405",
    ("api:batch_undo", "POST"):       "401       403    404    403    200   200    200      200",
    ("api:populate", "GET"):          "405       405    405    405    405   405    405      405",
    ("api:populate", "POST"):         "401       401    404    403    403   403    202      202",
    ("api:runs", "GET"):              "401       200    200    200    200   200    200      200",
    ("api:runs", "POST"):             "401       405    405    405    405   405    405      405",
    ("api:run", "GET"):               "401       200    404    200    200   200    200      200",
    ("api:run", "POST"):              "401       405    405    405    405   405    405      405",
    ("api:run_cancel", "GET"):        "405       405    405    405    405   405    405      405",
    ("api:run_cancel", "POST"):       "401       403    404    403    403   403    200      200",
    ("web:runs", "GET"):              "login     200    200    200    200   200    200      200",
    ("web:runs", "POST"):             "405       405    405    405    405   405    405      405",
    ("web:run", "GET"):               "login     200    404    200    200   200    200      200",
    ("web:run", "POST"):              "405       405    405    405    405   405    405      405",
    ("web:run_cancel", "GET"):        "405       405    405    405    405   405    405      405",
    ("web:run_cancel", "POST"):       "login     login  404    403    403   403    302      302",
    ("web:workers", "GET"):           "login     login  200    200    200   200    200      200",
    ("web:workers", "POST"):          "405       405    405    405    405   405    405      405",
    ("api:workers", "GET"):           "401       401    200    200    200   200    200      200",
    ("api:workers", "POST"):          "401       405    405    405    405   405    405      405",
    ("api:fk_choices", "GET"):        "401       200    404    200    200   200    200      200",
    ("api:fk_choices", "POST"):       "401       405    404    405    405   405    405      405",
    ("api:jobs", "GET"):              "401       200    404    200    200   200    200      200",
    ("api:jobs", "POST"):             "401       405    404    405    405   405    405      405",
    ("api:jobs_retry", "GET"):        "405       405    405    405    405   405    405      405",
    ("api:jobs_retry", "POST"):       "401       401    404    403    403   403    200      200",
    ("api:jobs_ignore", "GET"):       "405       405    405    405    405   405    405      405",
    ("api:jobs_ignore", "POST"):      "401       401    404    403    403   403    200      200",
    ("api:jobs_priority", "GET"):     "405       405    405    405    405   405    405      405",
    ("api:jobs_priority", "POST"):    "401       401    404    403    403   403    200      200",
    ("api:jobs_recover", "GET"):      "405       405    405    405    405   405    405      405",
    ("api:jobs_recover", "POST"):     "401       401    404    403    403   403    200      200",
    ("web:schema_diagram", "GET"):    "login     200    404    200    200   200    200      200",
    ("web:schema_diagram", "POST"):   "405       405    405    405    405   405    405      405",
    ("web:query", "GET"):             "login     200    400    200    200   200    200      200",
    ("web:query", "POST"):            "405       405    405    405    405   405    405      405",
    ("web:query_context", "GET"):     "login     200    200    200    200   200    200      200",
    ("web:query_context", "POST"):    "405       405    405    405    405   405    405      405",
    ("web:query_save", "GET"):        "405       405    405    405    405   405    405      405",
    ("web:query_save", "POST"):       "login     login  400    302    302   302    302      302",
    ("web:saved_query", "GET"):       "login     login  404    302    302   302    302      302",
    ("web:saved_query", "POST"):      "login     login  404    403    403   403    403      302",
    ("web:count", "GET"):             "login     200    404    200    200   200    200      200",
    ("web:count", "POST"):            "405       405    405    405    405   405    405      405",
}
# fmt: on

#: Root URLconf entries that are not LabBook's pages: Django's own, with Django's rules.
NOT_LABBOOK = {
    "accounts/": "django.contrib.auth.urls: login, logout, password change and reset",
    "admin/": "Django admin: staff only, Django's model permissions (grants are edited there)",
}
#: The namespaces whose every pattern must have rows in EXPECTED.
LABBOOK_NAMESPACES = ("web", "api")
METHODS = ("GET", "POST")


def walk_urls() -> tuple[set[str], set[str]]:
    """``(LabBook pattern names "ns:name", other root entries)`` of ``labbook.urls``."""
    names: set[str] = set()
    others: set[str] = set()

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(n for n in (namespace, entry.namespace) if n) or None
                walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern):
                assert entry.name, f"unnamed LabBook URL pattern {entry.pattern}"
                names.add(f"{namespace}:{entry.name}")

    for entry in get_resolver("labbook.urls").url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace in LABBOOK_NAMESPACES:
            walk(entry.url_patterns, entry.namespace)
        else:
            others.add(str(entry.pattern))
    return names, others


def test_every_url_pattern_has_a_row():
    names, others = walk_urls()
    rows = {name for name, _ in EXPECTED}
    missing = sorted(f"{n} {m}" for n in names for m in METHODS if (n, m) not in EXPECTED)
    assert not missing, f"URL patterns without an expected answer per role: {missing}"
    assert rows <= names, f"rows for URL patterns that no longer exist: {sorted(rows - names)}"
    assert others == set(NOT_LABBOOK), (
        f"root URLconf entries neither LabBook's nor listed as Django's own: {others}"
    )
    for row in EXPECTED.values():
        assert len(row.split()) == len(PRINCIPALS)


def test_api_views_declare_no_other_methods():
    """The matrix covers GET and POST; an API view handling another method needs rows."""
    for entry in get_resolver("labbook.urls").url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "api":
            for pattern in entry.url_patterns:
                cls = pattern.callback.cls
                extra = {
                    m.upper()
                    for m in ("put", "patch", "delete")
                    if hasattr(cls, m) and m in cls.http_method_names
                }
                assert extra <= {m for (n, m) in EXPECTED if n == f"api:{pattern.name}"}


# --------------------------------------------------------------------------------------------
# the principals and the things the URLs point at
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def role_files(demo, pipeline_prefix, tmp_path_factory):
    """``{prefix}rolefiles.Doc``: one row with an in-table attachment (``notes.txt``)."""
    schema = dm.Schema(pipeline_prefix + "rolefiles", connection=demo.Subject.connection)

    @schema
    class Doc(dm.Manual):
        definition = """
        doc_id: int32
        ---
        file: <attach>
        """

    source = tmp_path_factory.mktemp("rolefiles") / "notes.txt"
    source.write_text("role matrix\n")
    if not Doc() & {"doc_id": 1}:
        Doc.insert1({"doc_id": 1, "file": str(source)})
    return Doc


@pytest.fixture
def principals(db, django_user_model, pipeline_prefix):
    """Username -> user (None for the two visitors); grants on every session schema."""
    everywhere = escape(pipeline_prefix) + "%"
    users = {"anonymous": None, "public": None}
    for name in PRINCIPALS[2:]:
        users[name] = django_user_model.objects.create_user(username=name, password="x")
    for role in ("viewer", "entry", "admin"):
        RoleGrant.objects.create(user=users[role], schema_pattern=everywhere, role=role)
    for role in ("editor", "operator"):
        group = Group.objects.create(name=f"{role}s")
        users[role].groups.add(group)
        RoleGrant.objects.create(group=group, schema_pattern=everywhere, role=role)
    return users


@pytest.fixture
def queue(settings, session_id):
    """A private Celery queue for this test (nothing consumes it): its name; the messages
    sent to it are read back from Redis, and the queue is deleted afterwards."""
    import redis

    from labbook.celery import app

    name = f"lbt_{session_id}_matrix_{secrets.token_hex(3)}"
    old = app.conf.task_default_queue
    app.conf.task_default_queue = name
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        yield SimpleNamespace(name=name, redis=client)
    finally:
        app.conf.task_default_queue = old
        client.delete(*(client.keys(name + "*") or [name]))
        client.close()


def queued(queue) -> list[dict]:
    """The task messages waiting in ``queue``, oldest first: ``{"task", "args", "kwargs"}``
    each (kombu pushes new messages at the head of the Redis list and pops at the tail)."""
    messages = [json.loads(raw) for raw in reversed(queue.redis.lrange(queue.name, 0, -1))]
    return [
        {
            "task": m["headers"]["task"],
            "args": m["headers"]["argsrepr"],
            "kwargs": m["headers"]["kwargsrepr"],
        }
        for m in messages
    ]


@pytest.fixture
def targets(demo, with_failing_pipeline, role_files, queue, principals):
    """What the URLs point at (tables and keys), and the private queue."""
    return SimpleNamespace(
        users=principals,
        demo=demo,
        square=with_failing_pipeline.Square,
        doc=role_files,
        image_key=encode_key(demo.Image().keys(order_by="KEY")[0]),
        queue=queue,
    )


def ensure_square_error(square) -> dict:
    """Make sure Square has its one error job (n=3 fails); returns its key."""
    status = services.populate_status(square.database, square.table_name)
    if status["error"] == 0:
        with acting_as(Actor.shell()):
            services.populate(square.full_table_name)
    return {"n": 3}


def square_errors(square) -> int:
    services.begin_request()
    return services.populate_status(square.database, square.table_name)["error"]


def args(cls, *more) -> list:
    return [cls.database, cls.table_name, *more]


# --------------------------------------------------------------------------------------------
# one request per cell, with its checks in the database
# --------------------------------------------------------------------------------------------


def request_for(t, name: str, method: str, principal: str):
    """``(url, kwargs for the client, check)``: ``check(outcome, response)`` returns a list
    of problems found in the databases (or the response) after the request, empty when all
    is as the outcome implies."""
    demo = t.demo
    subject, detection, square = demo.Subject, demo.Detection, t.square
    image = [demo.Image.database, demo.Image.table_name]
    kwargs: dict = {}

    def check(outcome, response):
        return []

    if name == "web:home":
        url = reverse("web:home")
        check = listing_check(subject.database, method, principal, html=True)
    elif name == "web:healthz":
        url = reverse("web:healthz")

        def check(outcome, response):
            if outcome != "200":
                return []
            checks = response.json()["checks"]
            detailed = all("reason" in c for c in checks.values())
            # reasons for logged-in users only
            return (
                []
                if detailed == (principal not in ("anonymous", "public"))
                else [f"reasons shown: {detailed}"]
            )

    elif name == "web:schema":
        url = reverse("web:schema", args=[subject.database])
    elif name == "web:schema_diagram":
        url = reverse("web:schema_diagram", args=[subject.database])

        def check(outcome, response):
            svg = response.get("Content-Type", "").startswith("image/svg+xml")
            return [] if svg == (outcome == "200") else ["the SVG file (not) sent"]
    elif name == "web:schema_progress":
        url = reverse("web:schema_progress", args=[detection.database])

        def check(outcome, response):
            shown = "dag-progress" in unescape(response.content.decode())  # "-" is "&#45;"
            return [] if shown == (outcome == "200") else ["no progress in the diagram"]

    elif name == "web:table":
        url = reverse("web:table", args=args(subject))
    elif name == "web:entry":
        url = reverse("web:entry", args=args(subject))
        if method == "POST":
            new_id = 90_000 + PRINCIPALS.index(principal) * 100 + secrets.randbelow(100)
            (subject & {"subject_id": new_id}).delete_quick()
            kwargs["data"] = {
                "subject_id": str(new_id),
                "subject_name": f"entered by {principal}",
                "species": "mouse",
                "sex": "U",
                "date_of_birth": "",
            }

            def check(outcome, response, new_id=new_id):
                there = len(subject & {"subject_id": new_id}) == 1
                return [] if there == (outcome == "302") else [f"row inserted: {there}"]

    elif name == "web:grid":
        url = reverse("web:grid", args=args(subject))

        def check(outcome, response):
            shown = outcome == "200" and b'id="grid-config"' in response.content
            return [] if shown == (outcome == "200") else ["no grid configuration on the page"]

    elif name == "web:row":
        url = reverse("web:row", args=[*args(subject), encode_key({"subject_id": 1})])

        def check(outcome, response):
            shown = 'class="child-link"' in response.content.decode()
            return [] if shown == (outcome == "200") else ["no child tables on the row page"]

    elif name == "web:thumbnail":
        url = reverse("web:thumbnail", args=[*image, "pixels"]) + f"?key={t.image_key}"
    elif name == "web:value":
        url = reverse("web:value", args=[*image, "pixels"]) + f"?key={t.image_key}"
    elif name == "web:download":
        key = encode_key({"doc_id": 1})
        url = reverse("web:download", args=args(t.doc, "file")) + f"?key={key}"
    elif name == "web:populate":
        url = reverse("web:populate", args=args(detection))
        check = run_check(t, detection, principal, "302")
    elif name == "web:progress":
        url = reverse("web:progress", args=args(detection))
    elif name == "web:clear_errors":
        url = reverse("web:clear_errors", args=args(square))
        if method == "POST":
            ensure_square_error(square)

            def check(outcome, response):
                left = square_errors(square)
                return [] if (left == 0) == (outcome == "302") else [f"{left} error jobs left"]

    elif name == "web:traceback":
        key = encode_key(ensure_square_error(square))
        url = reverse("web:traceback", args=args(square)) + f"?key={key}"
    elif name == "web:history":
        url = reverse("web:history", args=args(subject))
    elif name == "web:export":
        url = reverse("web:export", args=[*args(subject), "csv"])
        check = export_check(subject, method)
    elif name == "web:count":
        url = reverse("web:count", args=args(subject))

        def check(outcome, response):
            counted = f"{len(subject())} row" in response.content.decode()
            return [] if counted == (outcome == "200") else ["no exact count on the page"]

    elif name == "api:query_export":
        description = json.dumps({"from": {"schema": subject.database, "table": "Subject"}})
        url = reverse("api:query_export", args=["csv"]) + "?" + urlencode({"q": description})
        check = export_check(subject, method)
    elif name == "web:actor_history":
        url = reverse("web:actor_history", args=["lab"])
    elif name == "api:audit":
        url = (
            reverse("api:audit") + "?" + urlencode({"schema": subject.database, "table": "subject"})
        )

        def check(outcome, response):
            events = response.json().get("events") if outcome == "200" else []
            return [] if isinstance(events, list) else [f"no events: {response.json()}"]

    elif name == "api:schema":
        url = reverse("api:schema")
    elif name == "api:docs":
        url = reverse("api:docs")
    elif name == "web:api_token":
        url = reverse("web:api_token")
        if method == "POST":
            kwargs["data"] = {"action": "new"}
            user = t.users.get(principal)

            def check(outcome, response, user=user):
                from rest_framework.authtoken.models import Token

                made = user is not None and Token.objects.filter(user=user).exists()
                return [] if made == (outcome == "200") else [f"token made: {made}"]

    elif name == "api:schemas":
        url = reverse("api:schemas")
        check = listing_check(subject.database, method, principal, html=False)
    elif name == "api:query":
        url = reverse("api:query")
        kwargs = {
            "data": json.dumps({"from": {"schema": subject.database, "table": "Subject"}}),
            "content_type": "application/json",
        }

        def check(outcome, response):
            rows = response.json().get("rows") if outcome == "200" else None
            return [] if outcome != "200" or rows else [f"no rows: {response.json()}"]

    elif name == "api:fk_choices":
        url = reverse("api:fk_choices", args=args(demo.Session, "subject_id")) + "?q=1"

        def check(outcome, response):
            found = response.json().get("results") if outcome == "200" else None
            return [] if outcome != "200" or found else [f"no results: {response.json()}"]

    elif name == "api:populate":
        url = reverse("api:populate", args=args(detection))
        kwargs = {"data": json.dumps({"limit": 2}), "content_type": "application/json"}
        check = run_check(t, detection, principal, "202")
    elif name in ("api:runs", "web:runs"):
        url = reverse(name)
    elif name in ("api:workers", "web:workers"):
        url = reverse(name)

        def check(outcome, response, name=name):
            if outcome != "200":
                return []
            if name == "api:workers":
                body = response.json()
                return [] if set(body) == {"nodes", "processes", "broker"} else [f"{body}"]
            return [] if b'id="workers-panel"' in response.content else ["no workers panel"]

    elif name in ("api:run", "web:run", "api:run_cancel", "web:run_cancel"):
        run = started_run(t)
        url = reverse(name, args=[run.id])
        if method == "POST" and name.endswith("cancel"):

            def check(outcome, response, run=run):
                run.refresh_from_db()
                cancelled = run.status == "cancelled"
                return [] if cancelled == (outcome in ("200", "302")) else [f"{run.status}"]

    elif name.startswith(("api:jobs", "web:jobs")):
        url, kwargs, check = jobs_request(t, name, method)
    elif name.startswith(("api:rows", "api:batch_undo")):
        url, kwargs, check = rows_request(t, name, method, principal)
    elif name.startswith(("web:query", "web:saved_query")):
        url, kwargs, check = query_request(t, name, method, principal)
    else:
        raise AssertionError(f"no request built for {name}: add it to request_for()")
    return url, kwargs, check


def started_run(t):
    """A queued run of Detection by the admin (recorded only: no task is sent, so it stays
    cancellable whatever Detection holds)."""
    import uuid

    from pipeline_core.models import PopulateRun

    detection = t.demo.Detection
    return PopulateRun.objects.create(
        id=uuid.uuid4().hex,
        schema=detection.database,
        table=detection.table_name,
        full_name=detection.full_table_name,
        user=t.users["admin"],
        username="admin",
        status="queued",
    )


def run_check(t, table, principal: str, started: str):
    """A check that a populate run by ``principal`` was recorded and its tasks queued
    exactly when the answer is ``started`` (and nothing otherwise)."""
    from pipeline_core.models import PopulateRun

    before = len(queued(t.queue))
    known = set(PopulateRun.objects.values_list("id", flat=True))

    def check(outcome, response):
        runs = PopulateRun.objects.exclude(id__in=known)
        messages = queued(t.queue)[before:]
        if outcome != started:
            return [f"runs {list(runs)}, queued {messages}"] if runs or messages else []
        if len(runs) != 1 or runs[0].username != principal:
            return [f"runs {list(runs)}"]
        run = runs[0]
        wanted = [{"task": "populate_run", "args": repr([run.id]), "kwargs": "{}"}] * run.tasks
        return [] if messages == wanted else [f"queued {messages}, wanted {wanted}"]

    return check


def square_job(square) -> tuple | None:
    """``(status, priority)`` of Square's job for n=3, or None."""
    services.begin_request()
    square.jobs.declare()
    rows = square.connection.query(
        f"SELECT status, priority FROM {square.jobs.full_table_name} WHERE n = 3"
    ).fetchall()
    return tuple(rows[0]) if rows else None


def reset_square_job(square) -> None:
    """Square's job for n=3 as populate leaves it: ``error``, priority 5."""
    services.begin_request()
    if square_job(square) != ("error", 5):
        square.jobs.declare()
        square.connection.query(f"DELETE FROM {square.jobs.full_table_name} WHERE n = 3")
        with acting_as(Actor.shell()):
            services.populate(square.full_table_name)


def jobs_request(t, name: str, method: str):
    """Requests of the jobs console (issue #13), each checked in Square's jobs table."""
    square = t.square
    route = name.split(":")[1]
    url = reverse(name, args=args(square))
    kwargs: dict = {}

    def check(outcome, response):
        return []

    if method != "POST" or route == "jobs":
        if route == "jobs" and method == "GET":
            url += "?status=error"
        return url, kwargs, check
    if route == "jobs_recover":
        return url, *stale_square_job(square)
    reset_square_job(square)
    wanted = {
        "jobs_retry": ("pending", 5),
        "jobs_ignore": ("ignore", 5),
        "jobs_priority": ("error", 2),
        "jobs_action": ("pending", 5),
    }[route]
    if route == "jobs_action":
        kwargs["data"] = {
            "action": "retry",
            "scope": "selected",
            "key": [encode_key({"n": 3})],
            "confirm": "1",
        }
    else:
        body = {"keys": [{"n": 3}], **({"priority": 2} if route == "jobs_priority" else {})}
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}

    def check(outcome, response):
        now = square_job(square)
        changed = now == wanted
        return [] if changed == (outcome == "200") else [f"job of n=3 is {now}"]

    return url, kwargs, check


def stale_square_job(square):
    """A stale reservation of Square (a key of its own, connection id 0: never alive):
    ``(kwargs, check)`` of a reset request, checked in the jobs table."""
    services.begin_request()
    square.jobs.declare()
    n = 7000 + secrets.randbelow(1000)
    jobs = square.jobs.full_table_name
    square.connection.query(f"DELETE FROM {jobs} WHERE n = %s", [n])
    square.connection.query(
        f"INSERT INTO {jobs} (n, status, priority, connection_id) VALUES (%s, 'reserved', 5, 0)",
        [n],
    )

    def check(outcome, response):
        services.begin_request()
        rows = square.connection.query(f"SELECT status FROM {jobs} WHERE n = %s", [n]).fetchall()
        square.connection.query(f"DELETE FROM {jobs} WHERE n = %s", [n])
        reset = rows[0][0] != "reserved"
        return [] if reset == (outcome == "200") else [f"job of n={n} is {rows[0][0]}"]

    kwargs = {"data": json.dumps({"dry_run": False}), "content_type": "application/json"}
    return kwargs, check


def _new_subject(subject, principal: str) -> int:
    """A subject id free for this principal's request (any leftover removed)."""
    new_id = 80_000 + PRINCIPALS.index(principal) * 100 + secrets.randbelow(100)
    (subject & {"subject_id": new_id}).delete_quick()
    return new_id


def rows_request(t, name: str, method: str, principal: str):
    """Requests of the rows API (issue #12), each checked in the database."""
    subject = t.demo.Subject
    schema, table = subject.database, subject.table_name
    body = None

    def check(outcome, response):
        return []

    if name == "api:rows":
        url = reverse("api:rows", args=[schema, table])
        if method in ("POST", "PATCH"):
            new_id = _new_subject(subject, principal)
            if method == "POST":
                body = {"rows": [{"subject_id": new_id, "subject_name": f"by {principal}"}]}
            else:
                subject.insert1({"subject_id": new_id, "subject_name": "before"})
                body = {"key": {"subject_id": new_id}, "set": {"subject_name": "after"}}

            def check(outcome, response, new_id=new_id):
                rows = (subject & {"subject_id": new_id}).to_dicts()
                written = bool(rows) and rows[0]["subject_name"] != "before"
                return [] if written == (outcome in ("200", "201")) else [f"written: {written}"]

    elif name == "api:rows_delete":
        url = reverse("api:rows_delete", args=[schema, table])
        if method == "POST":
            new_id = _new_subject(subject, principal)
            subject.insert1({"subject_id": new_id, "subject_name": "to delete"})
            body = {"keys": [{"subject_id": new_id}], "dry_run": False}

            def check(outcome, response, new_id=new_id):
                gone = len(subject & {"subject_id": new_id}) == 0
                return [] if gone == (outcome == "200") else [f"deleted: {gone}"]

    else:
        batch = "0" * 32
        if method == "POST":
            new_id = _new_subject(subject, principal)
            owner = t.users.get(principal) or t.users["admin"]
            with acting_as(Actor.of_user(owner, "api")):  # the principal's own batch
                services.begin_request()
                saved = services.save_rows(
                    schema,
                    table,
                    t.users["admin"],
                    [{"subject_id": new_id, "subject_name": "to undo"}],
                )
            batch = saved["batch"]

            def check(outcome, response, new_id=new_id):
                gone = len(subject & {"subject_id": new_id}) == 0
                return [] if gone == (outcome == "200") else [f"undone: {gone}"]

        url = reverse("api:batch_undo", args=[batch])
    kwargs = {} if body is None else {"data": json.dumps(body), "content_type": "application/json"}
    return url, kwargs, check


def query_request(t, name: str, method: str, principal: str):
    """Requests of the query builder (issue #14): its page and context show the rows and
    offers of Subject to those who may view it; saved queries are made, seen and renamed
    exactly as the answer says (checked in Django's database)."""
    from pipeline_core.models import SavedQuery
    from pipeline_core.querystate import encode_description

    subject = t.demo.Subject
    description = {"from": {"schema": subject.database, "table": subject.table_name}}
    token = encode_description(description)
    kwargs: dict = {}

    def check(outcome, response):
        return []

    if name in ("web:query", "web:query_context"):
        url = reverse(name) + "?q=" + token

        def check(outcome, response, name=name):
            if method != "GET" or outcome not in ("200", "400"):
                return []
            if name == "web:query":
                shown = b'<table class="rows query-rows">' in response.content
                return [] if shown == (outcome == "200") else [f"rows shown: {shown}"]
            offers = response.json()["offers"].get("", {}).get("join", [])
            viewer = principal not in ("anonymous", "nobody")
            return [] if bool(offers) == viewer else [f"offers: {offers}"]

    elif name == "web:query_save":
        url = reverse(name)
        if method == "POST":
            named = f"matrix {principal} {secrets.token_hex(3)}"
            kwargs["data"] = {"q": token, "name": named}

            def check(outcome, response, named=named):
                made = SavedQuery.objects.filter(name=named).exists()
                return [] if made == (outcome == "302") else [f"saved: {made}"]

    else:
        owned = SavedQuery.objects.create(
            name=f"matrix shared {secrets.token_hex(3)}",
            owner=t.users["admin"],
            description=description,
            shared=True,
        )
        url = reverse(name, args=[owned.pk])
        if method == "POST":
            kwargs["data"] = {"action": "rename", "name": f"renamed by {principal}"}

            def check(outcome, response, owned=owned):
                owned.refresh_from_db()
                renamed = owned.name.startswith("renamed")
                return [] if renamed == (outcome == "302") else [f"renamed: {renamed}"]

    return url, kwargs, check


def export_check(table, method: str):
    """A check that an export answered 200 is the table's rows as CSV (header included)."""

    def check(outcome, response):
        if method != "GET" or outcome != "200":
            return []
        lines = b"".join(response.streaming_content).decode().splitlines()
        return [] if len(lines) == len(table) + 1 else [f"{len(lines)} lines exported"]

    return check


def listing_check(schema: str, method: str, principal: str, html: bool):
    """A check that a list of schemas (home page or API) shows ``schema`` exactly to those
    who may view it."""
    may_view = principal not in ("anonymous", "nobody")

    def check(outcome, response):
        if method != "GET" or outcome != "200":
            return []
        if html:
            shown = reverse("web:schema", args=[schema]) in response.content.decode()
        else:
            shown = schema in {s["name"] for s in response.json()}
        return [] if shown == may_view else [f"{schema} listed: {shown}"]

    return check


def outcome_of(response) -> str:
    """The answer as written in EXPECTED."""
    if response.status_code == 302:
        return "login" if urlsplit(response["Location"]).path == reverse("login") else "302"
    return str(response.status_code)


@pytest.mark.parametrize("name", sorted({name for name, _ in EXPECTED}))
def test_role_matrix(name, principals, targets, settings):
    settings.LABBOOK_DEFAULT_ROLE = None
    problems = []
    for method in [m for m in (*METHODS, "PATCH") if (name, m) in EXPECTED]:
        expected = dict(zip(PRINCIPALS, EXPECTED[(name, method)].split()))
        for principal in PRINCIPALS:
            settings.LABBOOK_ANONYMOUS_ROLE = "viewer" if principal == "public" else None
            client = Client()
            if principals[principal] is not None:
                client.force_login(principals[principal])
            url, kwargs, check = request_for(targets, name, method, principal)
            response = client.generic(method, url, **_generic(kwargs))
            got, want = outcome_of(response), expected[principal]
            where = f"{method} {url} as {principal}"
            if got != want:
                problems.append(f"{where}: {got}, expected {want}")
            problems += [f"{where}: {p}" for p in check(got, response)]
    assert not problems, "\n".join(problems)


def _generic(kwargs: dict) -> dict:
    """Client.generic arguments: a form-encoded body for ``data`` dicts, raw otherwise."""
    data = kwargs.get("data")
    if isinstance(data, dict):
        return {"data": urlencode(data), "content_type": "application/x-www-form-urlencoded"}
    if data is None:
        return {}
    return {"data": data, "content_type": kwargs["content_type"]}
