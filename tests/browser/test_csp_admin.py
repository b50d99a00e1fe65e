"""Pages no other browser test opens, under the Content-Security-Policy: the admin (where
grants are edited), the login page, the health endpoint, the error pages. The ``page``
fixture fails the test on any CSP violation."""

from __future__ import annotations

import pytest

from tests.conftest import watch_csp

pytestmark = pytest.mark.browser


def test_the_watch_catches_inline_script_and_style(browser, live_server):
    """What every browser test relies on: an inline script and a style attribute on a
    LabBook page are reported as violations (and neither takes effect)."""
    context = browser.new_context()
    try:
        violations = watch_csp(context)
        page = context.new_page()
        page.goto(live_server.url + "/accounts/login/")
        assert violations == []
        page.evaluate(
            """() => {
              const script = document.createElement("script");
              script.textContent = "window.ran = true";
              document.body.appendChild(script);
              document.body.insertAdjacentHTML("beforeend", '<p id="red" style="color: red">x</p>');
            }"""
        )
        for _ in range(50):  # console messages arrive while Playwright waits (at most 5 s)
            if len(violations) >= 2:
                break
            page.wait_for_timeout(100)
        assert page.evaluate("window.ran") is None
        assert page.evaluate("getComputedStyle(document.getElementById('red')).color") != (
            "rgb(255, 0, 0)"
        )
        text = "\n".join(violations)
        assert "script-src" in text and "style-src" in text, violations
    finally:
        context.close()


def test_admin_grant_pages_keep_the_policy(page, live_server, browser_login, admin_user):
    browser_login(page, admin_user)
    for path in (
        "/admin/",
        "/admin/pipeline_core/rolegrant/",
        "/admin/pipeline_core/rolegrant/add/",
        "/admin/auth/user/",
        "/accounts/password_change/",
        "/healthz",
        "/no-such-page/",
    ):
        response = page.goto(live_server.url + path)
        assert response.status in (200, 404), path
        page.wait_for_load_state("networkidle")
