"""The workers page in Chromium (issue #13): a worker process is shown online with its
current key linking to its table's jobs page; its connection is KILLed on the server and
the row turns offline by itself (htmx polling, no reload), in words and in colour."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.test_workers import beats, kill  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_list_refreshes_and_shows_a_killed_process_offline(
    page,
    live_server,
    admin_user,
    browser_login,
    demo,
    dm_conn,
    beats,  # noqa: F811
    shot,
):
    detection = demo.Detection
    pid, other = beats(table=detection.full_table_name, key={"image_id": 4, "param_id": 1})
    browser_login(page, admin_user)
    page.click("header nav >> text=Workers")  # the header's link
    page.wait_for_url(live_server.url + reverse("web:workers"))
    row = page.locator(f'#workers-panel tr.process[data-pid="{pid}"]')
    status = row.locator(".worker-status")
    assert status.inner_text().strip().endswith("online")
    link = row.locator("a.current-key")
    assert link.get_attribute("href") == reverse(
        "web:jobs", args=[detection.database, detection.table_name]
    )
    assert "image_id=4" in link.inner_text()
    online_colour = status.evaluate("e => getComputedStyle(e).color")
    page.evaluate("window.notReloaded = true")
    kill(dm_conn, other)
    page.locator(f'#workers-panel tr.process.offline[data-pid="{pid}"]').wait_for(timeout=15_000)
    status = page.locator(f'#workers-panel tr.process[data-pid="{pid}"] .worker-status')
    assert status.inner_text().strip().endswith("offline")
    assert "connection gone" in page.locator(f'tr.process[data-pid="{pid}"]').inner_text()
    assert status.evaluate("e => getComputedStyle(e).color") != online_colour
    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx
    shot(page, "70-workers")
