"""Swagger UI (/api/v1/docs/) and the API token page in headless Chromium against the live
server: the docs load only LabBook's own files (drf-spectacular-sidecar, no CDN), list the
operations, and "Try it out" works with the session (Swagger UI sends the CSRF token)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_swagger_ui_runs_a_query_with_the_session(
    page, live_server, lab_user, browser_login, demo, shot
):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    browser_login(page, lab_user)
    page.goto(live_server.url + "/api/v1/docs/")
    operation = page.locator("#operations-query-query_run")
    operation.wait_for()
    assert page.locator("#operations-schemas-schemas_list").is_visible()
    assert all(url.startswith(live_server.url) for url in requested), requested

    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    description = {"from": {"schema": demo.Subject.database, "table": "Subject"}, "limit": 2}
    operation.locator("textarea.body-param__text").fill(json.dumps(description))
    with page.expect_response(lambda r: r.url.endswith("/api/v1/query/")) as answer:
        operation.locator("button.execute").click()
    assert answer.value.status == 200, answer.value.text()[:300]
    assert len(answer.value.json()["rows"]) == 2
    shot(page, "40-swagger-ui")


def test_a_user_makes_a_token_on_the_page_and_uses_it(
    page, live_server, lab_user, browser_login, shot
):
    browser_login(page, lab_user)
    page.goto(live_server.url + "/")
    page.click("header >> text=API token")
    page.click("button:has-text('Make a token')")
    key = page.locator("#token-key").inner_text().strip()
    assert len(key) == 40
    shot(page, "41-api-token")
    answer = page.request.get(
        live_server.url + "/api/v1/schemas/", headers={"Authorization": f"Token {key}"}
    )
    assert answer.status == 200
    page.goto(live_server.url + "/account/token/")  # the key is not shown again
    assert key not in page.content() and key[:6] in page.content()
    page.click("button:has-text('Revoke token')")
    assert "Your API token was revoked." in page.content()
