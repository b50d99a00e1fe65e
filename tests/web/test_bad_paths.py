"""No 5xx on bad paths (issue #11, item 4): every URL of the web UI and of the JSON API,
asked with odd names (hidden tables, unknown schemas, schemas outside the prefix, Django's
and the audit database, backquotes, dots, spaces, very long, percent-encoded junk, unicode,
empty; names that exist are browsable however odd: tests/web/test_odd_names.py) or
malformed query parameters (``?key=``, ``?after=``), answers 404 (400 for a malformed
query parameter), never 500, and the page names the problem.

The grid is generated from the URL configuration: a new URL without an entry in
:data:`WEB_ROUTES` fails :func:`test_every_web_url_is_in_the_grid`. The client is an
administrator, so that roles never decide the status here.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from urllib.parse import quote

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit
from pipeline_core.web.keys import encode_key

pytestmark = pytest.mark.integration

#: URL name -> (HTTP method, query string the view needs to get past its parameters).
#: ``{key}`` is replaced by a well-formed key token of the ``Thing`` table.
WEB_ROUTES = {
    "home": ("GET", ""),
    "healthz": ("GET", ""),
    "schema": ("GET", ""),
    "schema_progress": ("GET", ""),
    "schema_diagram": ("GET", ""),
    "table": ("GET", ""),
    "entry": ("GET", ""),
    "grid": ("GET", ""),
    "row": ("GET", ""),  # the key token is a path segment (see segments_for)
    "thumbnail": ("GET", "?key={key}"),
    "value": ("GET", "?key={key}"),
    "download": ("GET", "?key={key}"),
    "populate": ("POST", ""),
    "progress": ("GET", ""),
    "clear_errors": ("POST", ""),
    "traceback": ("GET", "?key={key}"),
    "jobs": ("GET", ""),
    "jobs_action": ("POST", ""),
    "history": ("GET", ""),
    "export": ("GET", ""),  # the format segment: csv (see segments_for)
    "count": ("GET", ""),
    "actor_history": ("GET", ""),  # actor names are free text: an unknown one has no events
    "api_token": ("GET", ""),  # one's own account: no names in the path
    "runs": ("GET", ""),  # no names in the path
    "run": ("GET", ""),  # a run id: an odd one is an unknown run (404)
    "run_cancel": ("POST", ""),
    "workers": ("GET", ""),  # no names in the path
    # the query builder: names travel in the description (?q=, tests/web/test_query_page.py)
    "query": ("GET", ""),
    "query_context": ("GET", ""),
    "query_save": ("POST", ""),
    "saved_query": ("GET", ""),  # an integer id: anything else does not match (404)
}
#: Hidden tables: valid identifiers, never browsable (spec §1.4, §11).
HIDDEN_TABLES = ("~~thing", "~lineage", "~external_main", "~jobs", "~log")


def odd(text: str, readable: str | None = None) -> pytest.param:
    """A URL segment (already percent-encoded as it travels) and the text the page must
    show (escaped), or None when only "not found" can be expected (the name cannot be a
    single path segment, or is unreadable)."""
    return pytest.param(text, readable, id=re.sub(r"[^\w.%~-]", "?", text)[:30] or "empty")


#: Odd values of any name in a URL path.
ODD_NAMES = [
    odd("nope_zz", "nope_zz"),
    odd(quote("a`b", safe=""), "a`b"),
    odd("a.b", "a.b"),
    odd("..", None),
    odd(quote("a b", safe=""), "a b"),
    odd("x" * 300, "x" * 60),
    odd("x" * 65, "x" * 60),  # one more than the server allows
    odd(quote("trail ", safe=""), "trail"),  # the server refuses a name ending in a space
    odd(quote("tab\there", safe=""), None),
    odd("%00%FF%2e%2e%C3", None),
    odd("%00", None),
    odd(quote("ünïcødé_表", safe=""), "ünïcødé_表"),
    odd(quote("a'b\"c", safe=""), "a'b\"c"),
    odd(quote("x; DROP TABLE y", safe=""), "x; DROP TABLE y"),
    odd(quote("<script>", safe=""), "<script>"),
    odd("%25", "%"),
    odd("a%2Fb", None),
    odd("", None),
]


def web_routes() -> dict[str, str]:
    """URL name -> route of the web UI (``schemas/<name:schema>/...``)."""
    from pipeline_core.web.urls import urlpatterns

    return {p.name: str(p.pattern) for p in urlpatterns}


def fill(route: str, **segments: str) -> str:
    """The path of ``route`` with its ``<str:x>`` and ``<name:x>`` parts replaced (values used
    as given)."""
    return "/" + re.sub(r"<(?:str|name):(\w+)>", lambda m: segments[m.group(1)], route)


@pytest.fixture(scope="module")
def oddities(demo, pipeline_prefix):
    """``{prefix}badpaths``: a Manual table ``Thing`` (one row), the hidden tables of
    :data:`HIDDEN_TABLES` (made with SQL, as DataJoint 2.x and 0.14 leave them)."""
    conn = demo.Subject.connection
    schema = dm.Schema(pipeline_prefix + "badpaths", connection=conn)

    @schema
    class Thing(dm.Manual):
        definition = """
        thing_id: int32
        ---
        label: varchar(40)
        taken=null: datetime
        picture=null: <blob>
        doc=null: <attach>
        """

    Thing.insert1(dict(thing_id=1, label="one"), skip_duplicates=True)
    for name in HIDDEN_TABLES:
        if name != "~lineage":
            conn.query(
                f"CREATE TABLE IF NOT EXISTS `{schema.database}`.`{name}` "
                "(id int NOT NULL PRIMARY KEY, secret varchar(20))"
            )
            conn.query(
                f"INSERT IGNORE INTO `{schema.database}`.`{name}` VALUES (1, 'hidden-secret')"
            )
    return Thing


def segments_for(thing, **odd_part: str) -> dict[str, str]:
    base = {
        "schema": thing.database,
        "table": thing.table_name,
        "attribute": "label",
        "fmt": "csv",
        "key": encode_key({"thing_id": 1}),
    }
    return {k: quote(v, safe="") for k, v in base.items()} | odd_part


def ask(client, name: str, path: str, key: str | None = None):
    method, query = WEB_ROUTES[name]
    url = path + query.format(key=key if key is not None else encode_key({"thing_id": 1}))
    return client.post(url) if method == "POST" else client.get(url)


def assert_not_found(response, readable: str | None) -> None:
    assert response.status_code == 404, response.content[:500]
    text = response.content.decode()
    assert "not found" in text.lower() or "does not exist" in text
    if readable is not None:
        assert escape(readable) in text, text[-1500:]


def test_every_web_url_is_in_the_grid():
    assert set(web_routes()) == set(WEB_ROUTES)


def test_hidden_tables_exist_and_hold_rows(oddities):
    conn = oddities.connection
    for name in HIDDEN_TABLES:
        count = conn.query(f"SELECT COUNT(*) FROM `{oddities.database}`.`{name}`").fetchone()[0]
        assert count >= 0


@pytest.mark.parametrize("value, readable", ODD_NAMES)
@pytest.mark.parametrize("name", [n for n, r in web_routes().items() if "<name:schema>" in r])
def test_odd_schema_names_are_404(staff_client, oddities, name, value, readable):
    path = fill(web_routes()[name], **segments_for(oddities, schema=value))
    assert_not_found(ask(staff_client, name, path), readable)


@pytest.mark.parametrize("value, readable", ODD_NAMES)
@pytest.mark.parametrize("name", [n for n, r in web_routes().items() if "<name:table>" in r])
def test_odd_table_names_are_404(staff_client, oddities, name, value, readable):
    path = fill(web_routes()[name], **segments_for(oddities, table=value))
    assert_not_found(ask(staff_client, name, path), readable)


@pytest.mark.parametrize("hidden", HIDDEN_TABLES)
@pytest.mark.parametrize("name", [n for n, r in web_routes().items() if "<name:table>" in r])
def test_hidden_tables_are_refused_explicitly(staff_client, oddities, name, hidden):
    path = fill(web_routes()[name], **segments_for(oddities, table=quote(hidden, safe="")))
    response = ask(staff_client, name, path)
    assert_not_found(response, hidden)
    assert b"hidden" in response.content and b"hidden-secret" not in response.content


@pytest.mark.parametrize(
    "value, readable", [*ODD_NAMES, odd("_peek0", "_peek0"), odd("thing_id%00", None)]
)
@pytest.mark.parametrize("name", [n for n, r in web_routes().items() if "<name:attribute>" in r])
def test_odd_attribute_names_are_404(staff_client, oddities, name, value, readable):
    path = fill(web_routes()[name], **segments_for(oddities, attribute=value))
    assert_not_found(ask(staff_client, name, path), readable)


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param(lambda prefix: "mysql", id="server-own"),
        pytest.param(lambda prefix: "information_schema", id="information_schema"),
        pytest.param(lambda prefix: "__django__", id="django-db"),
        pytest.param(lambda prefix: prefix + "audit", id="audit-db"),
    ],
)
def test_databases_that_are_not_pipelines_are_404_even_without_a_prefix(
    staff_client, oddities, settings, pipeline_prefix, schema
):
    from django.db import connection

    settings.LABBOOK_AUDIT_DB = pipeline_prefix + "audit"
    context = audit.AuditContext("tester", "cli")  # the audit database, made as LabBook makes it
    audit.AuditTrail(settings.LABBOOK_AUDIT_DB, context).ensure(oddities.connection)
    name = schema(pipeline_prefix)
    name = connection.settings_dict["NAME"] if name == "__django__" else name
    settings.LABBOOK_SCHEMA_PREFIX = ""  # everything on the server is inside the prefix
    for route in ("schema", "table"):
        path = fill(web_routes()[route], schema=quote(name, safe=""), table="event")
        assert_not_found(ask(staff_client, route, path), name)
    body = staff_client.get("/api/v1/schemas/").json()
    assert isinstance(body, list), body  # (other sessions' databases come and go meanwhile)
    listed = {s["name"] for s in body}
    assert name not in listed and oddities.database in listed


def test_outside_the_prefix_is_404(staff_client, oddities):
    other = oddities.database.split("_", 2)[-1]  # the name without the session's prefix
    path = fill(web_routes()["table"], schema=other, table=oddities.table_name)
    assert_not_found(ask(staff_client, "table", path), other)


# --- query parameters --------------------------------------------------------------------------
def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


#: (token, expected statuses): malformed tokens are 400; well-formed keys that name no row
#: 404; a value that does not fit the key attribute either (refused, or no row has it).
KEY_TOKENS = [
    pytest.param("", 400, id="empty"),
    pytest.param("!!!", 400, id="not-base64"),
    pytest.param(token("not json"), 400, id="not-json"),
    pytest.param(token("[1, 2]"), 400, id="a-list"),
    pytest.param(token('{"thing_id": [1]}'), 400, id="nested"),
    pytest.param(token('{"thing_id": NaN}'), 400, id="nan"),
    pytest.param(token('{"thing_id": Infinity}'), 400, id="infinity"),
    pytest.param(token('{"thing_id": 1e999}'), 400, id="overflow"),
    pytest.param(token("{}"), 400, id="no-key-attribute"),
    pytest.param(token('{"thing_id": "abc"}'), (400, 404), id="wrong-type"),
    pytest.param(token('{"thing_id": 99999999999999999999999}'), (400, 404), id="out-of-range"),
    pytest.param(token('{"thing_id": 2}'), 404, id="no-such-row"),
    pytest.param(token('{"thing_id": "1\\u0000"}'), (400, 404), id="nul"),
    pytest.param("%FF%00", 400, id="percent-junk"),
    pytest.param("A" * 5000, 400, id="very-long"),
]


@pytest.mark.parametrize("key, status", KEY_TOKENS)
@pytest.mark.parametrize("name", [n for n, (_, q) in WEB_ROUTES.items() if "{key}" in q])
def test_malformed_key_tokens_are_400_and_unknown_rows_404(
    staff_client, oddities, name, key, status
):
    attribute = {"thumbnail": "picture", "value": "picture", "download": "doc"}.get(name, "label")
    path = fill(web_routes()[name], **segments_for(oddities, attribute=attribute))
    response = ask(staff_client, name, path, key=key)
    statuses = status if isinstance(status, tuple) else (status,)
    if name == "traceback":  # a Manual table has no jobs: 409 once the key is read
        assert response.status_code in (*statuses, 409), response.content[:300]
        return
    assert response.status_code in statuses, response.content[:500]
    text = response.content.decode().lower()
    if response.status_code == 400:
        assert "key" in text or "thing_id" in text or "invalid value" in text
    else:
        assert "no row" in text


@pytest.mark.parametrize("key, status", KEY_TOKENS)
def test_malformed_row_keys_are_400_and_unknown_rows_404(staff_client, oddities, key, status):
    """The row page takes its key token in the path: the same answers as ``?key=``."""
    statuses = status if isinstance(status, tuple) else (status,)
    if key == "":
        statuses = (404,)  # ``rows//``: no such URL
    path = fill(web_routes()["row"], **segments_for(oddities, key=key))
    response = staff_client.get(path)
    assert response.status_code in statuses, response.content[:500]
    text = response.content.decode().lower()
    if response.status_code == 400:
        assert "key" in text or "thing_id" in text or "invalid value" in text
    elif key:
        assert "no row" in text


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "%00",
        token("[]"),
        token("{}"),
        token('{"thing_id": "abc"}'),
        token('{"thing_id": NaN}'),
        token('{"thing_id": 1e999}'),
        token('{"other": 1}'),
    ],
)
def test_malformed_after_cursors_are_400(staff_client, oddities, after):
    path = fill(web_routes()["table"], **segments_for(oddities))
    for headers in ({}, {"HX-Request": "true", "HX-Target": "rows"}):
        response = staff_client.get(path + "?after=" + after, headers=headers)
        assert response.status_code == 400, response.content[:500]
        assert b"key" in response.content or b"thing_id" in response.content


def test_other_odd_parameters_are_ignored(staff_client, oddities):
    path = fill(web_routes()["table"], **segments_for(oddities))
    for query in ("?page=-1", "?page=x", "?page=" + "9" * 400, "?watch=%00", "?size=nan"):
        assert staff_client.get(path + query).status_code == 200, query


# --- the JSON API ------------------------------------------------------------------------------
def post(client, description):
    return client.post("/api/v1/query/", json.dumps(description), content_type="application/json")


def test_api_schema_list_shows_no_hidden_tables(staff_client, oddities):
    data = staff_client.get("/api/v1/schemas/").json()
    tables = {t["table_name"] for s in data if s["name"] == oddities.database for t in s["tables"]}
    assert tables == {oddities.table_name}


@pytest.mark.parametrize("value, readable", ODD_NAMES)
@pytest.mark.parametrize("where", ["from", "join"])
def test_api_query_with_odd_names(staff_client, oddities, value, readable, where):
    from urllib.parse import unquote

    name = unquote(value)
    good = {"schema": oddities.database, "table": oddities.table_name}
    for part in ("schema", "table"):
        source = good | {part: name}
        description = {"from": source} if where == "from" else {"from": good, "join": [source]}
        response = post(staff_client, description)
        assert response.status_code in (400, 404), (part, response.content[:500])
        body = response.json()
        if response.status_code == 400:
            assert body["path"].endswith(part) or body["path"] == ""
        if readable is not None and len(name) < 60 and not set("'\"`\\") & set(name):
            assert readable in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("value, readable", ODD_NAMES)
def test_odd_export_formats_are_404(staff_client, oddities, value, readable):
    path = fill(web_routes()["export"], **segments_for(oddities, fmt=value))
    if "/" in value or not value:
        assert staff_client.get(path).status_code == 404
        return
    assert_not_found(staff_client.get(path), readable)
    description = quote(json.dumps({"from": {"schema": oddities.database, "table": "thing"}}))
    response = staff_client.get(f"/api/v1/query/export.{value}?q={description}")
    assert response.status_code == 404, response.content[:300]


@pytest.mark.parametrize("value, readable", ODD_NAMES)
@pytest.mark.parametrize("where", ["from", "join"])
def test_api_export_with_odd_names(staff_client, oddities, value, readable, where):
    """The export reads its description as the query does: the same 400/404 answers."""
    from urllib.parse import unquote

    name = unquote(value)
    good = {"schema": oddities.database, "table": oddities.table_name}
    for part in ("schema", "table"):
        source = good | {part: name}
        description = {"from": source} if where == "from" else {"from": good, "join": [source]}
        exported = staff_client.get(
            "/api/v1/query/export.csv?q=" + quote(json.dumps(description), safe="")
        )
        queried = post(staff_client, description)
        assert exported.status_code == queried.status_code, (part, exported.content[:300])
        assert exported.status_code in (400, 404) and exported.json() == queried.json()


@pytest.mark.parametrize("hidden", HIDDEN_TABLES)
def test_api_query_refuses_hidden_tables(staff_client, oddities, hidden):
    response = post(staff_client, {"from": {"schema": oddities.database, "table": hidden}})
    assert response.status_code in (400, 404)
    assert "hidden-secret" not in response.content.decode()
    assert hidden in response.json().get("error", "") + str(response.json().get("detail", ""))


@pytest.mark.parametrize(
    "source",
    [
        {"schema": 12, "table": "Thing"},
        {"schema": None, "table": "Thing"},
        {"schema": ["a"], "table": "Thing"},
        {"schema": "{db}", "table": 3},
        {"schema": "{db}", "table": {"x": 1}},
    ],
)
def test_api_query_with_names_that_are_not_text(staff_client, oddities, source):
    source = {
        k: v.format(db=oddities.database) if isinstance(v, str) else v for k, v in source.items()
    }
    response = post(staff_client, {"from": source})
    assert response.status_code in (400, 404), response.content[:500]


@pytest.mark.parametrize(
    "after",
    [{"thing_id": "abc"}, {"thing_id": [1]}, {"other": 1}, {}, "x", 1e308],
)
def test_api_query_with_bad_cursors_is_400(staff_client, oddities, after):
    source = {"schema": oddities.database, "table": oddities.table_name}
    response = post(staff_client, {"from": source, "after": after})
    assert response.status_code == 400, response.content[:500]


def test_unknown_api_urls_are_404(staff_client, oddities):
    for path in (
        "/api/v1/schemas/x/",
        "/api/v1/nope/",
        "/api/v1/query/%00/",
        "/api/v1/schemas/%FF",
    ):
        assert staff_client.get(path).status_code == 404, path


@pytest.mark.parametrize("value, readable", ODD_NAMES)
@pytest.mark.parametrize(
    "path, method",
    [
        ("/runs/{}/", "GET"),
        ("/runs/{}/cancel/", "POST"),
        ("/api/v1/runs/{}/", "GET"),
        ("/api/v1/runs/{}/cancel/", "POST"),
    ],
)
def test_odd_run_ids_are_404(staff_client, value, readable, path, method):
    """A run id that no run has (any text a path segment can carry) is an unknown run."""
    if "/" in value or not value:
        pytest.skip("not a single path segment")
    response = staff_client.generic(method, path.format(value))
    assert response.status_code == 404, (value, response.content[:300])


def test_odd_parameters_of_the_workers_view_are_ignored(staff_client):
    """The workers page and API take no parameters: odd ones change nothing (no 5xx)."""
    for path in ("/workers/", "/api/v1/workers/"):
        for query in ("?fresh=%00", "?after=x", "?" + "a" * 3000, "?node=%FF"):
            response = staff_client.get(path + query)
            assert response.status_code == 200, (path, query, response.content[:300])
    headers = {"HX-Request": "true", "HX-Target": "nope"}  # another target: the whole page
    assert b"<html" in staff_client.get("/workers/", headers=headers).content
