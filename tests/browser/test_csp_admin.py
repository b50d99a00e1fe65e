"""Pages no other browser test opens, under the Content-Security-Policy: the admin (where
grants are edited), the login page, the health endpoint, the error pages. The ``page``
fixture fails the test on any CSP violation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


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
