"""The query builder's page (``/query/?q=<token>``) and its JSON context, on the real server:
the rows shown are the data model's for the same expression (no second query engine), every
error is placed at the path of the part that caused it (time limits too), keyset "next"
links page through the rows, the table pages open the builder on their table, and the API's
export takes the same token."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core.querystate import decode_description, encode_description
from pipeline_core.services.query import json_value

pytestmark = pytest.mark.integration


def source(cls) -> dict:
    return {"schema": cls.database, "table": cls.table_name}


def url(description) -> str:
    return reverse("web:query") + "?q=" + encode_description(description)


def builder_data(response) -> dict:
    match = re.search(
        r'<script id="query-builder-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match.group(1))


def shown_rows(response) -> list[list[str]]:
    """The cells of the page's result table, as text."""
    html = response.content.decode()
    table = re.search(r'<table class="rows query-rows">(.*?)</table>', html, re.S).group(1)
    body = table.split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [[unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def as_text(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sessions_with_trials(demo) -> dict:
    """Sessions of mice joined with their subject, two restrictions and an OR group, and
    their trial count (a count of the child's attribute: 0 for a session without trials)."""
    return {
        "from": source(demo.Session),
        "join": [source(demo.Subject)],
        "where": {
            "and": [
                {"attribute": "species", "operator": "=", "value": "mouse"},
                {"attribute": "session_date", "operator": ">=", "value": "2026-01-01"},
                {
                    "or": [
                        {"attribute": "sex", "operator": "=", "value": "F"},
                        {"attribute": "notes", "operator": "like", "value": "%base%"},
                    ]
                },
            ]
        },
        "aggr": {
            "over": source(demo.Session.Trial),
            "keep": ["session_date", "subject_name"],
            "compute": {
                "trials": {"function": "count", "attribute": "trial_id"},
                "last_stop": {"function": "max", "attribute": "stop_time"},
            },
        },
        "order": [{"attribute": "session_date", "descending": True}],
    }


def same_expression(demo):
    """The expression of :func:`sessions_with_trials`, built in Python."""
    query = (demo.Session * demo.Subject) & dm.AndList(
        [
            dm.Comparison("species", "=", "mouse"),
            dm.Comparison("session_date", ">=", "2026-01-01"),
            [dm.Comparison("sex", "=", "F"), dm.Comparison("notes", "like", "%base%")],
        ]
    )
    return query.aggr(
        demo.Session.Trial,
        "session_date",
        "subject_name",
        trials=dm.Aggregate("count", "trial_id"),
        last_stop=dm.Aggregate("max", "stop_time"),
    )


def test_the_page_shows_the_rows_of_the_same_expression(lab_client, demo):
    description = sessions_with_trials(demo)
    response = lab_client.get(url(description))
    assert response.status_code == 200, response.content[:2000]
    expr = same_expression(demo)
    expected = expr.to_dicts(order_by=["session_date DESC", "KEY"])
    assert expected
    heading = expr.heading
    assert shown_rows(response) == [
        [as_text(json_value(heading[n], row[n])) for n in heading.names] for row in expected
    ]
    data = builder_data(response)
    assert data["description"] == description and data["errors"] == []
    stages = data["context"]["queries"][""]
    assert [a["name"] for a in stages["result"]] == heading.names
    assert "species" in [a["name"] for a in stages["input"]]
    html = response.content.decode()
    # Copy as Python, and the export of every row under the same token
    assert "dm.Aggregate(&#x27;count&#x27;, &#x27;trial_id&#x27;)" in html
    export = re.search(r'href="(/api/v1/query/export\.csv\?q=[^"]+)"', html).group(1)
    assert decode_description(export.split("q=")[1])["aggr"] == description["aggr"]


def test_copy_as_python_on_the_page_runs(lab_client, demo):
    response = lab_client.get(url(sessions_with_trials(demo)))
    html = response.content.decode()
    code = unescape(re.search(r'data-flavour="datamodel"[^>]*>(.*?)</textarea>', html, re.S)[1])
    namespace: dict = {}
    exec(compile(code, "<copied>", "exec"), namespace)
    expr = same_expression(demo)
    assert namespace["rows"] == expr.to_dicts(order_by=["session_date DESC", "KEY"])


def test_keyset_next_links_page_through_the_rows(lab_client, demo):
    description = {"from": source(demo.Session.Trial), "limit": 4}
    expected = demo.Session.Trial.to_dicts(order_by="KEY")
    seen, link = [], url(description)
    while link:
        response = lab_client.get(unescape(link))
        assert response.status_code == 200
        seen += shown_rows(response)
        found = re.search(r'<a href="([^"]+)" rel="next">', response.content.decode())
        link = found.group(1) if found else None
    names = demo.Session.Trial.heading.names
    heading = demo.Session.Trial.heading
    assert seen == [[as_text(json_value(heading[n], r[n])) for n in names] for r in expected]


@pytest.mark.parametrize(
    "change, path, words",
    [
        (
            {"where": {"attribute": "wieght", "operator": "=", "value": 1}},
            "where.attribute",
            ["wieght"],
        ),
        (
            {
                "where": {
                    "and": [
                        {"attribute": "notes", "operator": "=", "value": "x"},
                        {"attribute": "session_date", "operator": ">", "value": "soon"},
                    ]
                }
            },
            "where.and[1].value",
            ["session_date", "date"],
        ),
        ({"join": [{"schema": "{db}", "table": "nope"}]}, "join[0].table", ["nope"]),
        (
            {
                "join": [
                    {
                        "from": {"schema": "{db}", "table": "subject"},
                        "proj": {"rename": {"session_id": "subject_id"}},
                    }
                ]
            },
            "join[0]",
            ["cannot match on attribute `session_id`", "same origin"],
        ),
        (
            {
                "aggr": {
                    "over": {"schema": "{db}", "table": "#experimenter"},
                    "compute": {"n": {"function": "count"}},
                }
            },
            "aggr.over",
            ["primary key"],
        ),
        (
            {"proj": {}, "union": [{"schema": "{db}", "table": "subject"}]},
            "union[0]",
            ["same primary key"],
        ),
        (
            {
                "proj": {
                    "compute": {"x": {"function": "upper", "args": [{"attribute": "session_id"}]}}
                }
            },
            "proj.compute.x.args[0]",
            ["upper takes text"],
        ),
    ],
)
def test_errors_are_placed_at_their_part(lab_client, demo, change, path, words):
    description = json.loads(
        json.dumps({"from": source(demo.Session), **change}).replace("{db}", demo.Session.database)
    )
    response = lab_client.get(url(description))
    assert response.status_code == 400
    errors = builder_data(response)["errors"]
    assert [e["path"] for e in errors] == [path]
    for word in words:
        assert word in errors[0]["message"]
    html = unescape(response.content.decode())
    assert f'data-path="{path}"' in html and '<table class="rows query-rows">' not in html


def test_a_schema_the_user_may_not_view_is_an_unknown_one_at_its_place(
    client, django_user_model, demo, settings
):
    settings.LABBOOK_DEFAULT_ROLE = None
    client.force_login(django_user_model.objects.create_user("stranger", password="x"))
    hidden = client.get(url({"from": source(demo.Session)}))
    absent = client.get(
        url({"from": {"schema": demo.Session.database + "_none", "table": "session"}})
    )
    assert hidden.status_code == absent.status_code == 400
    [e1], [e2] = builder_data(hidden)["errors"], builder_data(absent)["errors"]
    assert e1["path"] == e2["path"] == "from.schema"
    assert e1["message"].replace(demo.Session.database, "X") == e2["message"].replace(
        demo.Session.database + "_none", "X"
    )
    assert builder_data(hidden)["tables"] == []


def test_a_bad_token_is_an_error_of_the_whole_query(lab_client, demo):
    response = lab_client.get(reverse("web:query") + "?q=not-a-token")
    assert response.status_code == 400
    assert builder_data(response)["errors"][0]["path"] == ""
    assert "valid query token" in unescape(response.content.decode())


def test_plain_json_works_without_javascript(lab_client, demo):
    text = json.dumps({"from": source(demo.Subject)})
    response = lab_client.get(reverse("web:query"), {"q": text})
    assert response.status_code == 200
    assert len(shown_rows(response)) == len(demo.Subject())


def test_the_time_limit_is_shown_as_such(lab_client, populated, settings):
    blob = populated.Detection.Blob
    renamed = {"from": source(blob), "proj": {"rename": {f"{k}_b": k for k in blob.primary_key}}}
    description = {
        "from": {"from": renamed, "join": [dict(source(blob), cross=True)]},
        "group": {"compute": {"pairs": {"function": "count"}}},
    }
    settings.LABBOOK_QUERY_TIMEOUT = 0.001
    response = lab_client.get(url(description))
    assert response.status_code == 504
    [error] = builder_data(response)["errors"]
    assert error["kind"] == "timeout" and error["path"] == ""
    assert "time limit" in error["message"]
    assert "Copy as Python" in response.content.decode()  # the query itself is valid


def test_the_context_offers_neighbours_along_foreign_keys(lab_client, demo):
    description = {"from": source(demo.Session)}
    response = lab_client.get(
        reverse("web:query_context") + "?q=" + encode_description(description)
    )
    assert response.status_code == 200
    context = response.json()
    offers = context["offers"][""]

    def names(kind):
        return {(o["class_name"], o["relation"]) for o in offers[kind]}

    assert {
        ("Subject", "parent"),
        ("Experimenter", "parent"),
        ("Session.Trial", "child"),
        ("Image", "child"),
    } <= names("join")
    assert ("Image", "child") in names("matching") and ("Subject", "parent") in names("matching")
    assert ("Session.Trial", "child") in names("aggr") and ("Image", "child") in names("aggr")
    assert ("Subject", "parent") not in names("aggr")  # a parent lacks the session's key
    trial = next(o for o in offers["aggr"] if o["class_name"] == "Session.Trial")
    assert trial["primary_key"] == ["subject_id", "session_id", "trial_id"]
    assert context["error"] is None
    bad = lab_client.get(reverse("web:query_context") + "?q=" + encode_description({"from": {}}))
    assert bad.json()["error"]["path"] == "from.schema"


def test_a_table_page_opens_the_builder_on_its_table(lab_client, demo):
    trial = demo.Session.Trial
    page = lab_client.get(reverse("web:table", args=[trial.database, trial.table_name]))
    link = re.search(r'<details class="query-panel".*?href="([^"]+)"', page.content.decode(), re.S)
    assert link is not None
    assert decode_description(unescape(link.group(1)).split("q=")[1]) == {"from": source(trial)}
    opened = lab_client.get(unescape(link.group(1)))
    assert opened.status_code == 200 and len(shown_rows(opened)) == len(trial())


def test_the_export_takes_the_token(lab_client, demo):
    description = {
        "from": source(demo.Session),
        "where": {"attribute": "notes", "operator": "like", "value": "%base%"},
    }
    response = lab_client.get(
        reverse("api:query_export", args=["csv"]) + "?q=" + encode_description(description)
    )
    assert response.status_code == 200
    records = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = (demo.Session & dm.Comparison("notes", "like", "%base%")).to_dicts(order_by="KEY")
    assert len(records) == len(expected) + 1 and len(expected) >= 1
    bad = lab_client.get(reverse("api:query_export", args=["csv"]) + "?q=AAAA")
    assert bad.status_code == 400 and "token" in bad.json()["error"]


def test_the_readme_aggregation_counts_an_attribute_of_the_child(lab_client, demo):
    """The README's example (sessions of mice with their number of trials) gives 0 for a
    session without trials: it counts the child's ``trial_id``, not rows."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = re.search(r"http://127\.0\.0\.1:8000/api/v1/query/ -d '(\{.*?\})'", readme, re.S)
    description = json.loads(
        example.group(1).replace('"demo_lab"', json.dumps(demo.Session.database))
    )
    assert description["aggr"]["compute"]["trials"].get("attribute") == "trial_id"
    subject = demo.Subject().keys(order_by="KEY")[0]["subject_id"]
    session = {
        "subject_id": subject,
        "session_id": 900,
        "session_date": "2026-11-30",
        "experimenter": "ana",
    }
    demo.Session.insert1(session, skip_duplicates=True)
    try:
        response = lab_client.post(
            reverse("api:query"), data=json.dumps(description), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        rows = {
            r["session_id"]: r["trials"]
            for r in response.json()["rows"]
            if r["subject_id"] == subject
        }
        assert rows[900] == 0
        assert rows[1] == len(demo.Session.Trial & {"subject_id": subject, "session_id": 1})
    finally:
        (demo.Session & {"subject_id": subject, "session_id": 900}).delete_quick()


@pytest.mark.parametrize(
    "q",
    [
        "",
        "%7B",
        "{",
        "[1, 2]",
        "null",
        "5",
        "A" * 5000,
        encode_description([1]),
        encode_description({"from": {"schema": "mysql", "table": "user"}}),
        encode_description({"from": {"schema": "a`b", "table": "<script>"}}),
        encode_description({"from": {"schema": "x" * 300, "table": "t"}}),
        encode_description({"from": {"from": {"from": {"from": {}}}}}),
        "%00%FF",
    ],
)
def test_junk_descriptions_are_errors_never_500(staff_client, demo, q):
    for name in ("web:query", "web:query_context"):
        response = staff_client.get(reverse(name) + "?q=" + q)
        assert response.status_code in (200, 400), (
            name,
            re.findall(r"reason\">(.*?)<", response.content.decode()),
        )
        if name == "web:query" and q:
            assert response.status_code == 400
            assert builder_data(response)["errors"], q
    assert staff_client.get(reverse("web:query") + "?q=AAAA&saved=x%00").status_code == 400
    assert staff_client.get("/query/saved/abc/").status_code == 404
    assert staff_client.get(reverse("web:saved_query", args=[987654])).status_code == 404
