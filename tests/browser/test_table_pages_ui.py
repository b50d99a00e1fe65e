"""A table page in headless Chromium (Playwright): sorted by a column header, filtered by a
column's filter control, then paged Next, Previous, Last and First (htmx swaps of the rows,
the URL pushed); the rows are the data model's rows of the same restriction and order, and
after each page the top of the rows is in view."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.web.test_table_pages import expected, readings  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def shown_ids(page) -> list[int]:
    return [
        int(t) for t in page.locator("#rows table.rows tbody tr td:first-child").all_inner_texts()
    ]


def rows_top(page) -> float:
    """Where the top of the rows section is, relative to the viewport (CSS pixels)."""
    return page.evaluate("document.querySelector('#rows').getBoundingClientRect().top")


def test_sort_filter_and_page_through_a_table(
    page,
    live_server,
    lab_user,
    browser_login,
    readings,  # noqa: F811  (the fixture imported above)
    shot,
):
    browser_login(page, lab_user)
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(live_server.url + reverse("web:table", args=[readings.database, readings.table_name]))
    page.evaluate("window.notReloaded = true")
    grade = page.locator("#rows th[data-name=grade]")
    # sort: ascending, then descending (the header says which)
    grade.locator("a.sort").click()
    expect(grade).to_have_attribute("aria-sort", "ascending")
    page.wait_for_url(re.compile(r"order=grade"))
    grade.locator("a.sort").click()
    expect(grade).to_have_attribute("aria-sort", "descending")
    page.wait_for_url(re.compile(r"order=-grade"))
    # filter: label ≠ r00, from the label column's control
    column = page.locator("#rows th[data-name=label]")
    column.locator("summary").click()
    column.locator("select[name=op]").select_option("!=")
    column.locator("input[name=value]").fill("r00")
    shot(page, "39-table-filter-open")
    column.locator("button:has-text('Filter')").click()
    chip = page.locator("#rows .filter-chips .chip")
    expect(chip).to_have_text(re.compile(r'label ≠ "r00"'))
    page.wait_for_url(re.compile(r"where=.*order=-grade|order=-grade.*where="))
    condition = {"and": [{"attribute": "label", "operator": "!=", "value": "r00"}]}
    truth = expected(readings, condition, ["grade DESC"])
    assert 200 < len(truth) < 300
    assert shown_ids(page) == truth[:100]
    label = page.locator("#rows .page-label")
    expect(label).to_have_text("Rows 1–100")
    shot(page, "40-table-sorted-filtered")

    def go(name: str, ids: list[int], text: str) -> None:
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        assert rows_top(page) < 0  # scrolled past the top of the rows
        page.locator(f"#rows nav.pager a:has-text('{name}')").click()
        expect(label).to_have_text(text)
        assert shown_ids(page) == ids
        page.wait_for_function(
            "() => { const t = document.querySelector('#rows').getBoundingClientRect().top;"
            " return t >= -1 && t < window.innerHeight / 4; }"
        )
        expect(chip).to_have_text(re.compile(r'label ≠ "r00"'))  # the filter survives paging
        expect(grade).to_have_attribute("aria-sort", "descending")  # and so does the order

    go("Next", truth[100:200], "Rows 101–200")
    assert re.search(r"after=.*page=2\.", page.url)
    go("Previous", truth[:100], "Rows 1–100")
    go("Last", truth[-100:], "The last 100 rows")
    assert "last=1" in page.url
    go("Previous", truth[-200:-100], "100 rows")
    go("First", truth[:100], "Rows 1–100")
    assert page.evaluate("window.notReloaded") is True  # htmx swaps, no page loads
    # the browser's Back goes to the page before (the URLs were pushed)
    page.go_back()
    expect(label).to_have_text("100 rows")
    assert shown_ids(page) == truth[-200:-100]
    shot(page, "41-table-paged")
    # the filter's Remove button takes the filter away (the order stays)
    column.locator("summary").click()
    column.locator("button:has-text('Remove')").click()
    expect(chip).to_have_count(0)
    expect(label).to_have_text("Rows 1–100")
    assert shown_ids(page) == expected(readings, None, ["grade DESC"])[:100]
    assert "where=" not in page.url and "order=-grade" in page.url
