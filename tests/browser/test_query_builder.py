"""The query builder in headless Chromium (Playwright) against the live server and the real
MariaDB (issue #14): from a table page, build a query with two restrictions, an OR group, a
join to a child and an aggregation; the rows shown are the data model's for the same
expression; reload and back/forward restore the query; the Python copied to the clipboard,
run here, gives the same rows; the CSV export link gives them all; errors appear beside the
widget of the part at fault."""

from __future__ import annotations

import csv
import json
import re

import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core.querystate import decode_description, encode_description
from pipeline_core.services.query import json_value
from tests.web.conftest import populated  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(autouse=True)
def no_script_errors(page):
    """Fail a test whose page logged a JavaScript error (uncaught or console.error)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error"
            and "favicon" not in m.text
            and "status of 4" not in m.text
            and "status of 5" not in m.text
            else None
        ),
    )
    yield errors
    assert not errors, "\n".join(errors)


def settled(page):
    """Wait until the builder has its headings and offers from the server."""
    page.wait_for_selector("#builder[data-ready]:not([data-busy])", state="attached")


def shown_rows(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "table.query-rows tbody tr",
        "rows => rows.map(r => Array.from(r.querySelectorAll('td')).map(td => td.textContent))",
    )


def as_text(value) -> str:
    if value is None:
        return "NULL"
    return str(value)


def expected_rows(demo):
    """Subjects (mice) joined with their sessions, restricted, with their trial count."""
    query = (demo.Subject * demo.Session) & dm.AndList(
        [
            dm.Comparison("species", "=", "mouse"),
            dm.Comparison("session_date", ">=", "2026-01-01"),
            [dm.Comparison("sex", "=", "F"), dm.Comparison("notes", "like", "%base%")],
        ]
    )
    return query.aggr(demo.Session.Trial, "session_date", n=dm.Aggregate("count", "trial_id"))


def option(cls) -> str:
    """The value of a table's option in the builder's selects."""
    return json.dumps([cls.database, cls.table_name], separators=(",", ":"))


def condition(page, index: int):
    return page.locator(".q-cmp").nth(index)


def set_condition(page, index: int, attribute: str, operator: str, value: str, kind: str):
    row = condition(page, index)
    row.locator("select.q-attribute").select_option(attribute)
    settled(page)
    row = condition(page, index)
    row.locator("select.q-operator").select_option(operator)
    settled(page)
    row = condition(page, index)
    field = row.locator(".q-value select, .q-value input").first
    if kind == "select":
        field.select_option(value)
    else:
        field.fill(value)
    settled(page)


def test_build_run_reload_navigate_copy_and_export(
    page, live_server, lab_user, browser_login, demo, shot
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    subject = demo.Subject
    browser_login(page, lab_user)
    page.goto(live_server.url + reverse("web:table", args=[subject.database, subject.table_name]))
    page.click("details.query-panel summary")
    page.click("details.query-panel a.button")
    page.wait_for_url(re.compile(r"/query/\?q="))
    start_url = page.url
    assert decode_description(start_url.split("q=")[1]) == {
        "from": {"schema": subject.database, "table": subject.table_name}
    }
    assert len(shown_rows(page)) == len(subject())
    settled(page)

    # a join to a child
    page.select_option("select.q-add-join", option(demo.Session))
    settled(page)
    # two restrictions and an OR group
    page.click(".q-top-group > .q-adds .q-add-condition")
    settled(page)
    set_condition(page, 0, "species", "=", "mouse", "select")
    page.click(".q-top-group > .q-adds .q-add-condition")
    settled(page)
    set_condition(page, 1, "session_date", ">=", "2026-01-01", "input")
    page.click(".q-top-group > .q-adds .q-add-group")
    settled(page)
    group = page.locator(".q-top-group .q-group").first
    assert group.locator("select.q-op").input_value() == "or"
    group.locator(".q-add-condition").click()
    settled(page)
    set_condition(page, 2, "sex", "=", "F", "select")
    page.locator(".q-top-group .q-group").first.locator(".q-add-condition").click()
    settled(page)
    set_condition(page, 3, "notes", "contains", "base", "input")
    # an aggregation over the trials, keeping the session date
    page.select_option("select.q-aggr-over", option(demo.Session.Trial))
    settled(page)
    assert page.locator("select.q-aggr-attribute").input_value() == "trial_id"
    page.locator('.q-keep input[data-key="aggr:keep:session_date"]').check()
    settled(page)
    shot(page, "70-query-builder")
    page.click("#run-query")
    page.wait_for_url(lambda url: url != start_url and "q=" in url)
    run_url = page.url
    description = decode_description(run_url.split("q=")[1])
    assert description["where"] == {
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
    }
    assert description["join"] == [{"schema": demo.Session.database, "table": "session"}]
    assert description["aggr"]["compute"] == {"n": {"function": "count", "attribute": "trial_id"}}

    expr = expected_rows(demo)
    heading = expr.heading
    expected = expr.to_dicts(order_by="KEY")
    assert expected
    wanted = [[as_text(json_value(heading[n], r[n])) for n in heading.names] for r in expected]
    assert shown_rows(page) == wanted
    shot(page, "71-query-results")

    def state():
        settled(page)
        return json.loads(page.input_value("#q-json"))

    built = state()
    assert built == description
    # reload, back and forward reproduce it
    page.reload()
    assert shown_rows(page) == wanted and state() == built
    page.go_back()
    page.wait_for_url(start_url)
    assert len(shown_rows(page)) == len(subject()) and state() == {"from": built["from"]}
    page.go_forward()
    page.wait_for_url(run_url)
    assert shown_rows(page) == wanted and state() == built
    assert page.locator(".q-cmp").count() == 4

    # Copy as Python: the copied text, run here, gives the same rows
    page.click("#python-panel summary")
    page.click("#copy-python")
    page.wait_for_selector("#copy-status:text('Copied.')")
    code = page.evaluate("navigator.clipboard.readText()")
    namespace: dict = {}
    exec(compile(code, "<clipboard>", "exec"), namespace)
    assert namespace["rows"] == expected

    # the CSV export link of the query: every row
    with page.expect_download() as info:
        page.click("a.export-link:text-is('CSV')")
    with open(info.value.path(), newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    assert records[0] == heading.names
    assert records[1:] == [
        [as_text(r[n]) if r[n] is not None else "" for n in heading.names] for r in expected
    ]


def test_errors_appear_beside_their_widget(page, live_server, lab_user, browser_login, demo):
    session = {"schema": demo.Session.database, "table": demo.Session.table_name}
    description = {
        "from": session,
        "where": {
            "and": [
                {"attribute": "notes", "operator": "=", "value": "x"},
                {"attribute": "session_id", "operator": ">", "value": "many"},
            ]
        },
    }
    browser_login(page, lab_user)
    page.goto(live_server.url + reverse("web:query") + "?q=" + encode_description(description))
    settled(page)
    error = page.locator(".field-error")
    assert error.count() == 1
    assert "session_id" in error.inner_text()
    # beside the value of the second condition
    placed = page.locator('.q-cmp[data-path="where.and[1]"] .field-error')
    assert placed.count() == 1
    # fixed in the builder: the server checks the description again, the error goes
    condition(page, 1).locator(".q-value input").fill("0")
    settled(page)
    assert page.locator(".field-error").count() == 0
    # a new mistake is placed beside its widget before anything runs
    condition(page, 1).locator(".q-value input").fill("")
    settled(page)
    assert page.locator('.q-cmp[data-path="where.and[1]"] .field-error').count() == 1
    assert "is null" in page.locator(".field-error").inner_text()


def test_antijoin_computed_attribute_and_union(
    page,
    live_server,
    lab_user,
    browser_login,
    populated,  # noqa: F811
    shot,
):
    """Sessions with no Detection (an antijoin along the graph, two schemas away), with a
    computed attribute, united with every session's key: the rows of the same expression."""
    demo = populated
    session = demo.Session
    extra = {
        "subject_id": 1,
        "session_id": 901,
        "session_date": "2026-11-29",
        "experimenter": "ben",
    }
    session.insert1(extra, skip_duplicates=True)
    try:
        browser_login(page, lab_user)
        start = {"from": {"schema": session.database, "table": session.table_name}}
        page.goto(live_server.url + reverse("web:query") + "?q=" + encode_description(start))
        settled(page)
        page.click(".q-top-group > .q-adds .q-add-match")
        settled(page)
        page.select_option("select.q-match-table", option(demo.Detection))
        settled(page)
        page.select_option("select.q-match-neg", "without")
        settled(page)
        page.check("input.q-proj-on")
        settled(page)
        page.click("button.q-add-computed")
        settled(page)
        row = page.locator(".q-computed .q-row").first
        row.locator('input[aria-label="computed attribute name"]').fill("shifted")
        row.locator('input[aria-label="computed attribute name"]').press("Tab")
        settled(page)
        row = page.locator(".q-computed .q-row").first
        row.locator('select[aria-label="function"]').select_option("+")
        settled(page)
        row = page.locator(".q-computed .q-row").first
        row.locator('select[aria-label="argument 1"]').select_option("subject_id")
        settled(page)
        row = page.locator(".q-computed .q-row").first
        number = row.locator('input[aria-label="number"]')
        number.fill("10")
        number.press("Tab")
        settled(page)
        page.click("button.q-add-union")
        settled(page)
        assert page.locator(".field-error").count() == 0, page.locator(
            ".field-error"
        ).all_inner_texts()
        shot(page, "72-query-union")
        page.click("#run-query")
        page.wait_for_url(
            lambda url: "q=" in url and url.split("q=")[1] != encode_description(start)
        )
        description = decode_description(page.url.split("q=")[1])
        assert description["where"] == {
            "not": {
                "matching": {"schema": demo.Detection.database, "table": demo.Detection.table_name}
            }
        }
        assert description["proj"] == {
            "compute": {
                "shifted": {"function": "+", "args": [{"attribute": "subject_id"}, {"value": 10}]}
            }
        }
        assert description["union"] == [{"from": start["from"], "proj": {}}]
        expr = (session - demo.Detection).proj(
            shifted=dm.Computation("+", ("subject_id", 10))
        ) + session.proj()
        expected = expr.to_dicts(order_by="KEY")
        # the sessions without a Detection (at least the one added here) carry `shifted`;
        # the others come from the union's second query only
        without = len(session - demo.Detection)
        assert without >= 1
        assert [r["shifted"] for r in expected].count(None) == len(session()) - without
        heading = expr.heading
        assert shown_rows(page) == [
            [as_text(json_value(heading[n], r[n])) for n in heading.names] for r in expected
        ]
    finally:
        (session & {"subject_id": 1, "session_id": 901}).delete_quick()


def test_every_operator_reads_back_and_runs(page, live_server, lab_user, browser_login, demo):
    """A description using ≠, <, ≤, between, in list, starts with, contains (with ``%`` and
    ``_`` in its text), is not null, NOT, order and limit: its widgets show it (patterns
    read back unescaped), a value changed in a widget is sent typed, and the rows are the
    data model's for the same expression."""
    session = demo.Session
    source = {"schema": session.database, "table": session.table_name}

    def described(high: str) -> dict:
        return {
            "from": source,
            "where": {
                "and": [
                    {"attribute": "session_id", "operator": "!=", "value": 99},
                    {"attribute": "session_id", "operator": "<", "value": 500},
                    {"attribute": "subject_id", "operator": "<=", "value": 2},
                    {
                        "attribute": "session_date",
                        "operator": "between",
                        "value": ["2026-01-01", high],
                    },
                    {"attribute": "experimenter", "operator": "in", "value": ["ana", "ben"]},
                    {"attribute": "notes", "operator": "like", "value": "base%"},
                    {"not": {"attribute": "notes", "operator": "like", "value": "%50\\%\\_x%"}},
                    {"attribute": "session_date", "operator": "is not null"},
                ]
            },
            "order": [{"attribute": "session_date", "descending": True}],
            "limit": 10,
        }

    browser_login(page, lab_user)
    page.goto(
        live_server.url + reverse("web:query") + "?q=" + encode_description(described("2026-12-31"))
    )
    settled(page)
    operators = page.eval_on_selector_all("select.q-operator", "s => s.map(e => e.value)")
    assert operators == [
        "!=", "<", "<=", "between", "in", "starts with", "contains", "is not null"
    ]  # fmt: skip
    values = [
        condition(page, i).locator(".q-value input").evaluate_all("es => es.map(e => e.value)")
        for i in range(8)
    ]
    assert values[3] == ["2026-01-01", "2026-12-31"]
    assert values[4] == ["ana, ben"]
    assert values[5] == ["base"] and values[6] == ["50%_x"]  # unescaped for people
    assert values[7] == []
    negated = [
        condition(page, i).locator('input[data-key$=":not"]').first.is_checked() for i in range(8)
    ]
    assert negated == [False] * 6 + [True, False]  # NOT of the "contains"
    assert page.locator(".q-limit").input_value() == "10"

    condition(page, 3).locator(".q-value input").nth(1).fill("2026-10-05")
    settled(page)
    page.click("#run-query")
    page.wait_for_url(
        lambda url: "q=" in url and "2026-10-05" in str(decode_description(url.split("q=")[1]))
    )
    sent = decode_description(page.url.split("q=")[1])
    wanted = described("2026-10-05")
    assert sent["where"] == wanted["where"] and sent["limit"] == 10
    assert sent["order"][0] == {"attribute": "session_date", "descending": True}

    expr = session & dm.AndList(
        [
            dm.Comparison("session_id", "!=", 99),
            dm.Comparison("session_id", "<", 500),
            dm.Comparison("subject_id", "<=", 2),
            dm.Comparison("session_date", "between", ["2026-01-01", "2026-10-05"]),
            dm.Comparison("experimenter", "in", ["ana", "ben"]),
            dm.Comparison("notes", "like", "base%"),
            dm.Not(dm.Comparison("notes", "like", "%50\\%\\_x%")),
            dm.Comparison("session_date", "is not null"),
        ]
    )
    rows = expr.to_dicts(order_by=["session_date DESC", "KEY"], limit=10)
    assert rows  # the demo's baseline session
    heading = expr.heading
    expected = [[as_text(json_value(heading[n], r[n])) for n in heading.names] for r in rows]
    assert shown_rows(page) == expected
