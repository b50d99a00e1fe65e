"""The row page in headless Chromium: from a table page's primary-key cell to the row's
page, then to a parent row's page and to a child table's page restricted to this row."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pipeline_core.querystate import decode_description
from pipeline_core.web.keys import encode_key

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def row_path(cls, key: dict) -> str:
    return reverse("web:row", args=[cls.database, cls.table_name, encode_key(key)])


def test_open_a_row_page_and_follow_a_parent_and_a_child_link(
    page, live_server, lab_user, browser_login, demo, shot
):
    key = {"subject_id": 1, "session_id": 1}
    browser_login(page, lab_user)
    page.goto(live_server.url + reverse("web:table", args=[demo.Session.database, "session"]))
    page.locator(f'table.rows a.row-link[href="{row_path(demo.Session, key)}"]').first.click()
    page.wait_for_url(live_server.url + row_path(demo.Session, key))
    expect(page.locator("h1")).to_contain_text("Session")
    expect(page.locator(".row-key")).to_have_text("subject_id=1 · session_id=1")
    expect(page.locator("table.values")).to_contain_text("baseline")
    trials = len(demo.Session.Trial & key)
    expect(page.locator(".part-rows table.rows tbody tr")).to_have_count(trials)
    shot(page, "row-01-session")

    page.locator("a.parent-link", has_text="Subject").click()
    page.wait_for_url(live_server.url + row_path(demo.Subject, {"subject_id": 1}))
    expect(page.locator(".row-key")).to_have_text("subject_id=1")
    expect(page.locator("table.values")).to_contain_text("Mickey")
    shot(page, "row-02-subject")

    page.go_back()
    page.wait_for_url(live_server.url + row_path(demo.Session, key))
    child = page.locator("li.child", has_text="Image")
    expect(child.locator(".count")).to_have_text(str(len(demo.Image & key)))
    child.locator("a.child-link").click()
    page.wait_for_url(lambda url: "where=" in url)
    address = urlsplit(page.url)
    assert address.path == reverse("web:table", args=[demo.Image.database, "image"])
    condition = decode_description(parse_qs(address.query)["where"][0])
    assert condition == {
        "and": [
            {"attribute": "subject_id", "operator": "=", "value": 1},
            {"attribute": "session_id", "operator": "=", "value": 1},
        ]
    }
    expect(page.locator("h1")).to_contain_text("Image")
    shot(page, "row-03-images")
