"""Export from a table page in headless Chromium (Playwright) against pytest-django's live
server and the real MariaDB: open the Export menu, click CSV, and the downloaded file holds
the table's rows (compared with the data model's ``to_dicts()``)."""

from __future__ import annotations

import csv
import json

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def text(value) -> str:
    """A value as the CSV writes it (dates ISO 8601, floats as repr)."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def download(page, link: str, shot=None):
    """Open the Export menu, click ``link``; the Playwright download."""
    page.click("details.export-menu summary")
    if shot is not None:
        shot(page, "30-export-menu")
    with page.expect_download() as info:
        page.click(f"details.export-menu a:text-is('{link}')")
    return info.value


def test_export_csv_from_a_table_page(page, live_server, lab_user, browser_login, demo, shot):
    session = demo.Session
    browser_login(page, lab_user)
    page.goto(live_server.url + reverse("web:table", args=[session.database, session.table_name]))
    file = download(page, "CSV", shot)
    assert file.suggested_filename == f"{session.database}.Session.csv"
    with open(file.path(), newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    expected = session.to_dicts(order_by="KEY")
    assert len(expected) > 1
    assert records[0] == session.heading.names
    assert records[1:] == [[text(row[n]) for n in session.heading.names] for row in expected]


def test_export_json_lines_of_a_part_table(page, live_server, lab_user, browser_login, demo):
    trial = demo.Session.Trial
    browser_login(page, lab_user)
    page.goto(live_server.url + reverse("web:table", args=[trial.database, trial.table_name]))
    file = download(page, "JSON Lines")
    assert file.suggested_filename == f"{trial.database}.Session.Trial.jsonl"
    with open(file.path(), encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    assert rows == trial.to_dicts(order_by="KEY")
