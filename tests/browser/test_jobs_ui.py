"""The jobs page in Chromium (issue #13): filter by error text (a deep link, pushed to the
URL by htmx), then retry the selected error job: a dry-run count and a confirmation, then
the list refreshed in place without a reload. The schema's progress diagram follows the
jobs live (a count changes without a reload) and its nodes lead to the jobs pages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from pipeline_core import services
from pipeline_core.web.diagram import node_id
from tests.web.test_jobs_console import square, statuses  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_filter_then_retry_with_confirmation(
    page,
    live_server,
    admin_user,
    browser_login,
    square,  # noqa: F811
    shot,
):
    browser_login(page, admin_user)
    url = reverse("web:jobs", args=[square.database, square.table_name])
    page.goto(live_server.url + url)
    assert page.locator("#job-counts dd.error-count").inner_text() == "6"
    page.evaluate("window.notReloaded = true")
    page.fill("input[name=error]", "disk")
    page.click(".jobs-filters button:has-text('Filter')")
    page.wait_for_url(re.compile(r"error=disk"))
    rows = page.locator("#jobs-panel tr.job")
    rows.first.wait_for()
    assert rows.count() == 2
    page.locator("#jobs-panel tr.job").nth(0).locator("input[type=checkbox]").check()
    page.select_option("select[name=action]", "retry")
    page.click("#jobs-actions button:has-text('Preview')")
    question = page.locator("#jobs-confirm .question")
    question.wait_for()
    assert question.inner_text().startswith("Retry 1 job:")
    assert statuses(square)[101][0] == "error"  # nothing done before the confirmation
    page.click("#jobs-confirm button:has-text('Confirm')")
    page.locator("#jobs-panel .state.complete").wait_for()
    assert "Retry 1 job done" in page.locator("#jobs-panel .state.complete").inner_text()
    assert statuses(square)[101][0] == "pending"
    assert page.evaluate("window.notReloaded") is True
    page.locator("#job-counts dd.error-count:has-text('5')").wait_for(timeout=8000)
    shot(page, "60-jobs-console")


def test_progress_diagram_follows_the_jobs_live(
    page,
    live_server,
    admin_user,
    browser_login,
    square,  # noqa: F811
    shot,
):
    browser_login(page, admin_user)
    page.goto(live_server.url + reverse("web:schema_progress", args=[square.database]))
    info = services.table_info(square.database, square.table_name)
    errors = services.job_counts(square.database, square.table_name)["error"]
    node = page.locator(f"#{node_id(info)}")
    assert f"{errors} errors" in node.text_content()
    assert page.locator(f"#row-{node_id(info)} .error-count").inner_text() == str(errors)
    page.evaluate("window.notReloaded = true")
    jobs = square.jobs.full_table_name  # an error job retried elsewhere (another process)
    square.connection.query(f"UPDATE {jobs} SET status = 'pending' WHERE n = 101")
    page.locator(f"#{node_id(info)}:has-text('{errors - 1} errors')").wait_for(timeout=15_000)
    assert page.locator(f"#row-{node_id(info)} .error-count").inner_text() == str(errors - 1)
    assert page.evaluate("window.notReloaded") is True
    shot(page, "61-schema-progress")
    page.locator(f"#{node_id(info)} a").click()
    jobs_url = reverse("web:jobs", args=[square.database, square.table_name])
    page.wait_for_url(re.compile(re.escape(jobs_url)))
