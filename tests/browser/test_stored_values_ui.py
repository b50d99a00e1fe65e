"""Stored values in headless Chromium (Playwright) against pytest-django's live server, the
real MariaDB and a file store: an attachment uploaded through the entry form, downloaded
from the table page, and a stored blob loaded into its cell."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def path(name: str, cls) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name])


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_upload_an_attachment_then_download_it(
    page, live_server, lab_user, browser_login, stored_lab, shot
):
    contents = bytes(range(256)) * 4
    browser_login(page, lab_user)
    page.goto(live_server.url + path("table", stored_lab.Recording))
    page.click("text=Add Recording")
    page.fill("#id_rec_id", "3")
    page.fill("#id_label", "from the browser")
    page.set_input_files(
        "#id_stored_file",
        files=[{"name": "scan.bin", "mimeType": "application/octet-stream", "buffer": contents}],
    )
    page.set_input_files(
        "#id_inline_file",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"inline notes"}],
    )
    shot(page, "20-attachment-form")
    page.click("button[type=submit].primary")
    page.wait_for_url(live_server.url + path("table", stored_lab.Recording))
    assert "Inserted Recording rec_id=3" in page.locator(".messages").inner_text()
    stored = (stored_lab.Recording & {"rec_id": 3}).fetch1("stored_file", lazy=True)
    assert (stored.name, stored.contents) == ("scan.bin", contents)

    row = page.locator("table.rows tbody tr").first
    assert row.locator("td.file a.download").first.inner_text() == "notes.txt"
    with page.expect_download() as info:
        row.locator("a.download", has_text="attachment").click()
    download = info.value
    assert download.suggested_filename == "scan.bin"
    with open(download.path(), "rb") as file:
        assert file.read() == contents
    shot(page, "21-attachment-row")


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_load_a_stored_blob_into_its_cell(
    page, live_server, lab_user, browser_login, stored_lab, shot, tmp_path
):
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan" / "a.bin").write_bytes(b"12345")
    stored_lab.Recording.insert1(
        dict(
            rec_id=1,
            signal=np.arange(600.0).reshape(20, 30),
            raw=b"raw",
            obj=("csv", b"t,v\n"),
            folder=str(tmp_path / "scan"),
            arr=np.arange(64, dtype="uint8").reshape(8, 8) * 4,
        )
    )
    browser_login(page, lab_user)
    page.goto(live_server.url + path("table", stored_lab.Recording))
    cell = page.locator("table.rows tbody tr").first.locator("td").nth(2)
    assert cell.inner_text().startswith("stored blob · ")
    shot(page, "22-stored-values")
    cell.locator("a.load").click()
    image = cell.locator("img")  # the cell (located anew) was swapped for the loaded one
    image.wait_for()
    assert "float64 20×30" in cell.inner_text() and "image" in cell.get_attribute("class")
    assert image.evaluate(
        "img => (img.complete && img.naturalWidth > 0) || new Promise(done => {"
        " img.addEventListener('load', () => done(img.naturalWidth > 0));"
        " img.addEventListener('error', () => done(false)); })"
    )
    shot(page, "23-blob-loaded")


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_loading_a_deleted_row_shows_the_error(
    page, live_server, lab_user, browser_login, stored_lab, shot
):
    stored_lab.Recording.insert1(dict(rec_id=7, signal=np.ones((4, 5))))
    browser_login(page, lab_user)
    page.goto(live_server.url + path("table", stored_lab.Recording))
    cell = page.locator("table.rows tbody tr").first.locator("td").nth(2)
    assert cell.inner_text().startswith("stored blob · ")
    (stored_lab.Recording & {"rec_id": 7}).delete_quick()  # the page is stale now
    with page.expect_response(lambda r: "/value/signal/" in r.url) as answer:
        cell.locator("a.load").click()
    assert answer.value.status == 404
    notice = page.locator("#htmx-errors .error-page")
    notice.wait_for()
    assert notice.locator("h2").inner_text() == "Not found"
    assert "no row with key" in notice.inner_text()
    assert cell.inner_text().startswith("stored blob · ")  # the cell is left as it was
    shot(page, "24-load-error")
