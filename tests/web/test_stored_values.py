"""Stored values in the web UI, on a file store and on an S3 store (loopback moto server):
table pages show them from their metadata without reading the store, attachments and
stored files download with their names and lengths, stored blobs load on demand, and
attachments are entered by uploading files (nothing left in the store when refused)."""

from __future__ import annotations

import io
import re
from html import unescape

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage

from pipeline_core.datamodel.stores import Attachment
from pipeline_core.web.keys import encode_key
from pipeline_core.web.previews import format_size

pytestmark = pytest.mark.integration

SIGNAL = np.arange(2000.0).reshape(50, 40)
ARRAY = np.arange(6, dtype="int16").reshape(2, 3)


def url(name: str, cls, *args) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name, *args])


def objects(conn) -> dict[str, int]:
    """Every object in the store ``main``: path -> size."""
    return dict(conn.stores.backend("main").walk(""))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def recorded(stored_lab, tmp_path):
    """Recording 1 holds every kind of stored value; Recording 2 only NULLs."""
    source = tmp_path / "notes.txt"
    source.write_bytes(b"field notes\n")
    folder = tmp_path / "scan"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"\x01\x02")
    (folder / "sub" / "b.bin").write_bytes(b"\x03")
    stored_lab.conn.stores.backend("main").put("raw/session1.dat", b"recorded elsewhere")
    stored_lab.Recording.insert1(
        dict(
            rec_id=1,
            label="all",
            signal=SIGNAL,
            inline_file=str(source),
            stored_file=Attachment("report.pdf", b"%PDF-1.4 fake report"),
            raw=b"raw bytes",
            obj=("csv", b"t,v\n0,1\n"),
            folder=str(folder),
            arr=ARRAY,
            fp="raw/session1.dat",
        )
    )
    stored_lab.Recording.insert1(dict(rec_id=2, label="empty"))
    return stored_lab


def cells(html: str) -> list[str]:
    """The cells of the first row of the rows table, as HTML."""
    row = re.search(r'<table class="rows">.*?<tbody>\s*<tr>(.*?)</tr>', html, re.S).group(1)
    return re.findall(r"<td[^>]*>.*?</td>", row, re.S)


def text(fragment: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", fragment))


def check_metadata_cells(html: str, recording) -> dict[str, str]:
    """The first row shows every stored value from its metadata; returns name -> cell."""
    names = recording.heading.names
    row = dict(zip(names, cells(html), strict=True))
    raw = (recording & {"rec_id": 1}).to_dicts(decode=False)[0]
    import json

    signal_size = json.loads(raw["signal"])["size"]
    assert text(row["signal"]).startswith(f"stored blob · {format_size(signal_size)}")
    assert re.search(r'hx-get="[^"]*/value/signal/\?key=', row["signal"])
    assert text(row["raw"]).startswith("stored bytes · 9 B")
    assert "notes.txt" in text(row["inline_file"]) and "12 B" in text(row["inline_file"])
    assert re.search(
        r'<a class="download" href="[^"]*/download/inline_file/\?key=', row["inline_file"]
    )
    stored_size = json.loads(raw["stored_file"])["size"]  # name + NUL + contents
    assert text(row["stored_file"]) == f"attachment {format_size(stored_size)}"
    assert "/download/stored_file/?key=" in row["stored_file"]
    assert re.fullmatch(r"obj_[\w-]{8}\.csv 8 B", text(row["obj"]))
    assert "/download/obj/?key=" in row["obj"]
    assert text(row["folder"]) == "folder · 2 files · 3 B"
    assert text(row["arr"]) == "int16 2×3 · npy" and "<img" in row["arr"]
    assert text(row["fp"]) == "session1.dat 18 B"
    return row


def test_table_page_shows_stored_values_without_reading_the_store(lab_client, recorded):
    page = url("table", recorded.Recording)
    before = lab_client.get(page)
    assert before.status_code == 200
    check_metadata_cells(before.content.decode(), recorded.Recording)
    backend = recorded.conn.stores.backend("main")
    for path in list(objects(recorded.conn)):  # the store's objects are gone...
        backend.delete(path)
    assert not objects(recorded.conn)
    after = lab_client.get(page)  # ...the page still shows every value's metadata
    assert after.status_code == 200
    assert cells(after.content.decode()) == cells(before.content.decode())
    key = encode_key({"rec_id": 1})
    failed = lab_client.get(url("value", recorded.Recording, "signal") + f"?key={key}")
    assert failed.status_code == 503
    assert b"signal" in failed.content and b"missing object" in failed.content


def test_in_table_attachments_are_read_by_name_and_length_on_pages(recorded):
    """A page reads the first bytes (the file name) and the length of an in-table
    ``<attach>``; its contents are read only when asked for."""
    from pipeline_core import services
    from pipeline_core.services.browse import ATTACH_NAME_BYTES, preview_expression

    recording = recorded.Recording
    info = services.table_info(recording.database, recording.table_name)
    sql, _ = preview_expression(info).make_sql()
    assert f"SUBSTRING(`inline_file`, 1, {ATTACH_NAME_BYTES}) AS" in sql
    assert "`inline_file`" not in re.sub(
        r"SUBSTRING\(`inline_file`[^)]*\)|LENGTH\(`inline_file`\)", "", sql
    )
    rows, _ = services.rows_page(recording.database, recording.table_name)
    value = rows[0]["inline_file"]
    assert isinstance(value, Attachment) and not value.is_loaded
    assert (value.known_name, value.size) == ("notes.txt", len(b"field notes\n"))
    assert value.contents == b"field notes\n" and value.is_loaded
    assert rows[1]["inline_file"] is None


def test_a_cached_thumbnail_is_confirmed_without_reading_the_store(lab_client, recorded):
    """The thumbnail's ETag comes from the column value (MD5 by the server): a revalidation
    answers 304 even with the store gone; a changed value gets a new ETag."""
    thumb = url("thumbnail", recorded.Recording, "arr") + "?key=" + encode_key({"rec_id": 1})
    first = lab_client.get(thumb)
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    backend = recorded.conn.stores.backend("main")
    for path in list(objects(recorded.conn)):
        backend.delete(path)
    assert lab_client.get(thumb, headers={"If-None-Match": first["ETag"]}).status_code == 304
    assert lab_client.get(thumb).status_code == 503  # rendering it again needs the store
    recorded.Recording.update1(dict(rec_id=1, arr=ARRAY * 2))
    changed = lab_client.get(thumb, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_table_page_renders_when_the_store_is_not_configured(lab_client, recorded, settings):
    settings.LABBOOK_STORES = {}
    response = lab_client.get(url("table", recorded.Recording))
    assert response.status_code == 200
    check_metadata_cells(response.content.decode(), recorded.Recording)
    download = lab_client.get(
        url("download", recorded.Recording, "stored_file") + "?key=" + encode_key({"rec_id": 1})
    )
    assert download.status_code == 503
    html = download.content.decode()
    assert (
        "stored_file" in html and "not configured" in html and recorded.Recording.table_name in html
    )


def test_downloads_carry_the_bytes_name_and_length(lab_client, recorded):
    key = "?key=" + encode_key({"rec_id": 1})
    expected = {
        "stored_file": ("report.pdf", b"%PDF-1.4 fake report"),
        "inline_file": ("notes.txt", b"field notes\n"),
        "fp": ("session1.dat", b"recorded elsewhere"),
    }
    obj_name = (recorded.Recording & {"rec_id": 1}).fetch1("obj").path.rsplit("/", 1)[1]
    expected["obj"] = (obj_name, b"t,v\n0,1\n")
    for attribute, (name, contents) in expected.items():
        response = lab_client.get(url("download", recorded.Recording, attribute) + key)
        assert response.status_code == 200, attribute
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert response["Content-Length"] == str(len(contents))
        assert body(response) == contents
    assert (
        lab_client.get(url("download", recorded.Recording, "stored_file") + key)["Content-Type"]
        == "application/pdf"
    )
    inside = lab_client.get(url("download", recorded.Recording, "folder") + key + "&path=sub/b.bin")
    assert inside.status_code == 200 and body(inside) == b"\x03"
    assert inside["Content-Disposition"] == 'attachment; filename="b.bin"'


def test_download_refusals_are_clear(lab_client, recorded):
    one, two = "?key=" + encode_key({"rec_id": 1}), "?key=" + encode_key({"rec_id": 2})
    null = lab_client.get(url("download", recorded.Recording, "stored_file") + two)
    assert null.status_code == 404 and b"NULL" in null.content and b"stored_file" in null.content
    missing = lab_client.get(
        url("download", recorded.Recording, "stored_file") + "?key=" + encode_key({"rec_id": 99})
    )
    assert missing.status_code == 404 and b"no row" in missing.content
    for attribute in ("signal", "label", "arr"):
        refused = lab_client.get(url("download", recorded.Recording, attribute) + one)
        assert refused.status_code == 415 and b"cannot be downloaded" in refused.content
    folder = lab_client.get(url("download", recorded.Recording, "folder") + one)
    assert folder.status_code == 400 and b"folder" in folder.content
    escape = lab_client.get(url("download", recorded.Recording, "folder") + one + "&path=../../x")
    assert escape.status_code == 400
    absent = lab_client.get(url("download", recorded.Recording, "folder") + one + "&path=nope.bin")
    assert absent.status_code == 404
    unknown = lab_client.get(url("download", recorded.Recording, "nope") + one)
    assert unknown.status_code == 404 and b"no attribute" in unknown.content


def test_download_requires_login(client, recorded):
    response = client.get(
        url("download", recorded.Recording, "stored_file") + "?key=" + encode_key({"rec_id": 1})
    )
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_load_returns_the_decoded_cell(lab_client, recorded):
    key = encode_key({"rec_id": 1})
    load = url("value", recorded.Recording, "signal") + f"?key={key}"
    fragment = lab_client.get(load, headers={"HX-Request": "true", "HX-Target": "x"})
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.startswith('<td class="image">') and "<html" not in html
    assert "float64 50×40" in html
    src = unescape(re.search(r'<img[^>]* src="([^"]+)"', html).group(1))
    png = lab_client.get(src)
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert PILImage.open(io.BytesIO(png.content)).size[0] <= 192
    plain = lab_client.get(load)  # the real href: a page of its own, with the site's chrome
    page = plain.content.decode()
    assert "<html" in page and "float64 50×40" in page and "Recording.signal" in page
    assert "base.html" in [t.name for t in plain.templates]
    assert '<header class="site-header">' in page and 'id="htmx-errors"' in page
    assert '<nav class="breadcrumbs"' in page and "rec_id=1" in page
    assert 'class="user">lab' in page  # the logged-in user, from base.html
    assert '<td class="image">' in page and "hx-request" in plain["Vary"].lower()
    raw = lab_client.get(
        url("value", recorded.Recording, "raw") + f"?key={key}", headers={"HX-Request": "true"}
    ).content.decode()
    assert '<td class="blob">' in raw and "9 bytes" in raw


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_npy_thumbnail_reads_the_array(lab_client, recorded):
    html = lab_client.get(url("table", recorded.Recording)).content.decode()
    src = unescape(re.search(r'<img[^>]* src="([^"]*/thumbnail/arr/[^"]+)"', html).group(1))
    response = lab_client.get(src)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = PILImage.open(io.BytesIO(response.content))
    assert image.size[0] / image.size[1] == pytest.approx(3 / 2)


def entry_data(rec_id: int, **files) -> dict:
    return {
        "rec_id": str(rec_id),
        "label": "uploaded",
        "part0-TOTAL_FORMS": "0",
        "part0-INITIAL_FORMS": "0",
        **files,
    }


def test_entry_form_has_file_inputs_for_attachments(lab_client, stored_lab):
    html = lab_client.get(url("entry", stored_lab.Recording)).content.decode()
    assert 'enctype="multipart/form-data"' in html
    for name in ("inline_file", "stored_file", "part0-0-sheet"):
        assert re.search(rf'<input type="file" name="{name}"', html), name
    hint = text(re.search(r'<p class="hint not-entered">.*?</p>', html, re.S).group(0))
    for name in ("signal", "raw", "obj", "folder", "arr", "fp"):
        assert name in hint
    assert "inline_file" not in hint
    table = lab_client.get(url("table", stored_lab.Document)).content.decode()
    assert url("entry", stored_lab.Document) in table  # a required attachment is no blocker


def test_uploaded_attachments_are_inserted(lab_client, stored_lab):
    data = entry_data(
        5,
        inline_file=SimpleUploadedFile("inline.txt", b"inline \x00 bytes"),
        stored_file=SimpleUploadedFile("stored.bin", bytes(range(256))),
    )
    data.update(
        {
            "part0-TOTAL_FORMS": "1",
            "part0-0-sheet_id": "1",
            "part0-0-sheet": SimpleUploadedFile("sheet.csv", b"a,b\n1,2\n"),
        }
    )
    response = lab_client.post(url("entry", stored_lab.Recording), data)
    assert response.status_code == 302, response.content.decode()
    row = (stored_lab.Recording & {"rec_id": 5}).fetch1(lazy=True)  # Attachment values
    assert (row["inline_file"].name, row["inline_file"].contents) == (
        "inline.txt",
        b"inline \x00 bytes",
    )
    assert (row["stored_file"].name, row["stored_file"].contents) == (
        "stored.bin",
        bytes(range(256)),
    )
    assert row["signal"] is None and row["obj"] is None  # not enterable: left NULL
    sheet = (stored_lab.Recording.Sheet & {"rec_id": 5}).fetch1("sheet", lazy=True)
    assert (sheet.name, sheet.contents) == ("sheet.csv", b"a,b\n1,2\n")
    download = lab_client.get(
        url("download", stored_lab.Recording, "stored_file") + "?key=" + encode_key({"rec_id": 5})
    )
    assert body(download) == bytes(range(256))


def test_refused_entry_leaves_no_object_in_the_store(lab_client, stored_lab):
    first = entry_data(7, stored_file=SimpleUploadedFile("a.txt", b"first"))
    assert lab_client.post(url("entry", stored_lab.Recording), first).status_code == 302
    before = objects(stored_lab.conn)
    duplicate = entry_data(7, stored_file=SimpleUploadedFile("b.txt", b"second, never stored"))
    response = lab_client.post(url("entry", stored_lab.Recording), duplicate)
    assert response.status_code == 200
    html = response.content.decode()
    assert "already exists" in html and "choose them again" in html
    assert objects(stored_lab.conn) == before
    # a part row refused after the master's attachment was uploaded: nothing kept either
    data = entry_data(8, stored_file=SimpleUploadedFile("c.txt", b"third, never stored"))
    data.update(
        {
            "part0-TOTAL_FORMS": "2",
            "part0-0-sheet_id": "1",
            "part0-1-sheet_id": "1",
            "part0-0-sheet": SimpleUploadedFile("s1.csv", b"one"),
            "part0-1-sheet": SimpleUploadedFile("s2.csv", b"two"),
        }
    )
    response = lab_client.post(url("entry", stored_lab.Recording), data)
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert objects(stored_lab.conn) == before
    assert not stored_lab.Recording & {"rec_id": 8}
    assert (stored_lab.Recording & {"rec_id": 7}).fetch1(
        "stored_file", lazy=True
    ).contents == b"first"


def test_an_upload_over_the_limit_is_refused_beside_its_field(lab_client, stored_lab, settings):
    settings.LABBOOK_MAX_UPLOAD_MB = 0.00001  # 10 bytes
    before = objects(stored_lab.conn)
    data = entry_data(9, stored_file=SimpleUploadedFile("big.bin", b"eleven byte"))
    response = lab_client.post(url("entry", stored_lab.Recording), data)
    assert response.status_code == 200
    assert "big.bin is 11 B; files of at most 10 B can be uploaded here" in unescape(
        response.content.decode()
    )
    assert not stored_lab.Recording & {"rec_id": 9} and objects(stored_lab.conn) == before
    data = entry_data(9, stored_file=SimpleUploadedFile("ok.bin", b"ten bytes!"))
    assert lab_client.post(url("entry", stored_lab.Recording), data).status_code == 302


def test_required_attachment_is_reported_beside_its_field(lab_client, stored_lab):
    response = lab_client.post(url("entry", stored_lab.Document), {"doc_id": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-field="file">[^<]*required', html)
    assert not stored_lab.Document()
    ok = lab_client.post(
        url("entry", stored_lab.Document),
        {"doc_id": "1", "file": SimpleUploadedFile("empty.txt", b"")},
    )
    assert ok.status_code == 302
    assert (stored_lab.Document & {"doc_id": 1}).fetch1("file", lazy=True).contents == b""
