"""The UI in headless Chromium (Playwright) against pytest-django's live server, the real
MariaDB and, for populate, the real Celery worker."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.web.conftest import reset_detection

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def path(name: str, cls) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name])


def next_id(table, attribute: str) -> int:
    return max(table.fetch(attribute), default=0) + 1


def test_browse_from_home_through_the_diagram(
    page, live_server, lab_user, browser_login, demo, shot
):
    browser_login(page, lab_user)
    page.goto(live_server.url + "/")
    shot(page, "01-home")
    page.click(f'a[href="{reverse("web:schema", args=[demo.Subject.database])}"]')
    page.wait_for_selector("svg.dag")
    shot(page, "02-schema")
    page.locator("svg.dag a").filter(has_text=re.compile(r"^\s*Subject\s*$")).click()
    page.wait_for_url(live_server.url + path("table", demo.Subject))
    assert page.locator("h1").inner_text().startswith("Subject")
    rows = page.locator("table.rows tbody tr")
    assert rows.count() == len(demo.Subject())
    shot(page, "03-subject")


def test_add_subject_then_session_with_trials(
    page, live_server, lab_user, browser_login, demo, shot
):
    browser_login(page, lab_user)
    subject_id = next_id(demo.Subject(), "subject_id")
    page.goto(live_server.url + path("table", demo.Subject))
    page.click("text=Add Subject")
    page.fill("#id_subject_id", str(subject_id))
    page.fill("#id_subject_name", "Browser Mouse")
    page.select_option("#id_species", "zebrafish")
    page.fill("#id_date_of_birth", "2026-06-01")
    shot(page, "04-subject-form")
    page.click("button[type=submit].primary")
    page.wait_for_url(live_server.url + path("table", demo.Subject))
    assert f"Inserted Subject subject_id={subject_id}" in page.locator(".messages").inner_text()
    assert (demo.Subject & {"subject_id": subject_id}).fetch1("species") == "zebrafish"

    page.goto(live_server.url + path("entry", demo.Session))
    page.fill("#id_fk_subject_id", str(subject_id))
    page.locator(".fk-options [role=option]", has_text=f"{subject_id} · Browser Mouse").click()
    page.fill("#id_session_id", "1")
    page.fill("#id_session_date", "2026-11-03")
    page.fill("#id_fk_experimenter", "chl")
    page.locator(".fk-options [role=option]", has_text="chloe").click()
    page.fill("#id_part0-0-trial_id", "1")
    page.fill("#id_part0-0-start_time", "0")
    page.fill("#id_part0-0-stop_time", "2.5")
    page.click("text=Add a Session.Trial row")
    page.click("text=Add a Session.Trial row")
    page.fill("#id_part0-1-trial_id", "2")
    page.fill("#id_part0-1-start_time", "3")
    page.fill("#id_part0-1-stop_time", "5")
    page.locator("tr.part-row").nth(2).locator(
        "[data-remove-row]"
    ).click()  # third row removed again
    assert page.locator("#id_part0-TOTAL_FORMS").input_value() == "2"
    shot(page, "05-session-form")
    page.click("button[type=submit].primary")
    page.wait_for_url(live_server.url + path("table", demo.Session))
    key = {"subject_id": subject_id, "session_id": 1}
    assert (demo.Session & key).fetch1("experimenter") == "chloe"
    trials = (demo.Session.Trial & key).to_dicts(order_by="KEY")
    assert [(t["trial_id"], t["stop_time"]) for t in trials] == [(1, 2.5), (2, 5.0)]
    assert "with 2 part rows" in page.locator(".messages").inner_text()


def test_bad_date_shows_the_error_beside_the_field(
    page, live_server, lab_user, browser_login, demo, shot
):
    browser_login(page, lab_user)
    before = len(demo.Subject())
    page.goto(live_server.url + path("entry", demo.Subject))
    page.fill("#id_subject_id", str(next_id(demo.Subject(), "subject_id")))
    page.fill("#id_subject_name", "Typo")
    page.fill("#id_date_of_birth", "20260-01-01")  # a five-digit year, as typed by mistake
    page.click("button[type=submit].primary")
    error = page.locator(".field.has-error .field-error")
    error.wait_for()
    assert error.get_attribute("data-field") == "date_of_birth"
    assert "20260-01-01" in error.inner_text()
    assert page.locator(".field.has-error label").inner_text().startswith("date_of_birth")
    assert page.input_value("#id_subject_name") == "Typo"
    shot(page, "06-bad-date")
    assert len(demo.Subject()) == before


def test_admin_populates_detection_and_sees_the_rows(
    page, live_server, admin_user, browser_login, demo, celery_worker, shot
):
    reset_detection(demo)
    expected = len(demo.Image()) * len(demo.BlobParamSet())
    browser_login(page, admin_user)
    page.goto(live_server.url + path("table", demo.Detection))
    assert page.locator("#populate dd.remaining").inner_text() == str(expected)
    assert page.locator("table.rows tbody tr td.hint").inner_text() == "No rows."
    page.evaluate("window.notReloaded = true")
    page.click("#populate button:has-text('Populate')")
    page.locator("#populate .state.complete").wait_for(timeout=90_000)
    assert page.locator("#populate dd.done").inner_text() == f"{expected} of {expected}"
    # the finished run was signalled (HX-Trigger: populate-done): the rows came in place
    expect(page.locator("table.rows tbody tr td:not(.hint)").first).to_be_visible()
    expect(page.locator("table.rows tbody tr")).to_have_count(min(expected, 100))
    assert page.evaluate("window.notReloaded") is True
    shot(page, "07-populated")
    page.click("#populate >> text=Show the rows")
    page.wait_for_selector("table.rows tbody tr")
    assert page.locator("table.rows tbody tr").count() == expected
    assert len(demo.Detection()) == expected
    page.goto(live_server.url + path("table", demo.Image))
    page.locator("table.rows img").first.wait_for()
    loaded = page.locator("table.rows img").first.evaluate(
        "img => (img.complete && img.naturalWidth > 0) || new Promise(done => {"
        " img.addEventListener('load', () => done(img.naturalWidth > 0));"
        " img.addEventListener('error', () => done(false)); })"
    )
    assert loaded  # the lazy thumbnail is a real PNG
    shot(page, "08-images")
    page.goto(live_server.url + path("table", demo.Detection.Blob))
    shot(page, "09-blob-page1")
    page.click("text=Next 100")
    page.wait_for_url(re.compile(r".*after=.*page=2"))
    assert page.locator("table.rows tbody tr").count() == min(100, len(demo.Detection.Blob()) - 100)
