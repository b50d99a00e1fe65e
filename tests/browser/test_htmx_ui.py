"""htmx behaviour in headless Chromium (Playwright) against pytest-django's live server and
the real MariaDB: a click that fails on the server shows why on the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def path(name: str, cls) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name])


def test_a_failed_populate_click_shows_the_error(
    page, live_server, admin_user, browser_login, with_failing_pipeline, settings, shot
):
    square = with_failing_pipeline.Square
    browser_login(page, admin_user)
    page.goto(live_server.url + path("table", square))
    button = page.locator("#populate button:has-text('Populate')")
    assert button.is_enabled()
    # the page goes stale: Square's make() is no longer registered on the server
    settings.LABBOOK_PIPELINES = "pipelines.demo:declare"
    page.evaluate("window.notReloaded = true")
    with page.expect_response(lambda r: r.url.endswith(path("populate", square))) as answer:
        button.click()
    assert answer.value.status == 409
    notice = page.locator("#htmx-errors .error-page")
    notice.wait_for()
    assert notice.locator("h2").inner_text() == "No make() registered"
    assert "no make() is registered" in notice.inner_text()
    assert square.full_table_name in notice.inner_text()
    assert notice.get_attribute("role") == "alert"
    # shown above the page, which stays as it was (panel and button kept, no reload)
    assert page.locator("#populate h2").inner_text() == "Populate" and button.is_visible()
    assert page.evaluate("window.notReloaded") is True
    assert page.title().startswith("Square")
    shot(page, "30-populate-error")


def test_an_error_page_django_renders_itself_is_shown_too(
    page, live_server, admin_user, browser_login, with_failing_pipeline, shot
):
    """A 403 from Django's own handler (its CSRF failure page: a full page, no HX-Retarget)
    reaches the error region through the htmx response handling configured in base.html;
    the page title is kept."""
    square = with_failing_pipeline.Square
    browser_login(page, admin_user)
    page.goto(live_server.url + path("table", square))
    title = page.title()
    # the page's CSRF tokens go bad while it is open (header and form fields)
    page.evaluate(
        """() => {
            const bad = "x".repeat(64);
            document.body.setAttribute("hx-headers", JSON.stringify({"X-CSRFToken": bad}));
            document.querySelectorAll("input[name=csrfmiddlewaretoken]")
                .forEach((input) => { input.value = bad; });
        }"""
    )
    with page.expect_response(lambda r: r.url.endswith(path("populate", square))) as answer:
        page.click("#populate button:has-text('Populate')")
    assert answer.value.status == 403
    notice = page.locator("#htmx-errors .error-page")
    notice.wait_for()
    assert notice.locator("h1").inner_text() == "Forbidden"
    assert "CSRF check failed" in notice.inner_text()
    assert page.locator("header.site-header").count() == 1  # no page inside the page
    assert page.title() == title and page.locator("#populate h2").inner_text() == "Populate"
    shot(page, "31-forbidden")


def test_a_user_demoted_while_the_page_is_open_is_told_why(
    page, live_server, admin_user, browser_login, with_failing_pipeline, shot
):
    """A role refusal of an htmx request is shown in the error region, naming the role."""
    square = with_failing_pipeline.Square
    browser_login(page, admin_user)
    page.goto(live_server.url + path("table", square))
    assert page.locator(".role-badge .role").inner_text() == "admin"
    title = page.title()
    admin_user.is_superuser = False  # now the default role: viewer
    admin_user.save()
    with page.expect_response(lambda r: r.url.endswith(path("populate", square))) as answer:
        page.click("#populate button:has-text('Populate')")
    assert answer.value.status == 403
    notice = page.locator("#htmx-errors .error-page")
    notice.wait_for()
    assert notice.locator("h2").inner_text() == "Not allowed"
    assert (
        f"Your role on schema `{square.database}` is viewer: populate needs operator"
        in notice.inner_text()
    )
    assert page.title() == title and page.locator("header.site-header").count() == 1
    page.reload()
    assert page.locator(".role-badge .role").inner_text() == "viewer"
    assert page.locator("#populate button:has-text('Populate')").count() == 0
    shot(page, "32-role-refused")
