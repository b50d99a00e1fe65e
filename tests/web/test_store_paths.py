"""Downloads and stored values never leave their store, through the web (issue #11, item
5): a symbolic link inside an ``<object@>`` folder pointing at a file elsewhere on the
server (the new user's report: it was served), a linked folder, a linked ``<filepath@>``,
``..`` and absolute paths in a row's JSON (written with SQL, as a tampered row holds them)
and in ``?path=``: 404 "Not in the store" (400 for a malformed ``?path=``), and the outside
file's contents never appear in the response.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.urls import reverse

from pipeline_core.web.keys import encode_key

pytestmark = pytest.mark.integration

SECRET = b"TOP-SECRET outside the store\n"
KEY = "?key=" + encode_key({"rec_id": 1})


def url(name: str, cls, attribute: str) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name, attribute])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def secret(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    return folder / "secret.txt"


@pytest.fixture
def recorded(stored_lab, tmp_path):
    """Recording 1 with a folder (``a.bin``, ``sub/b.bin``), an object file, an array, a
    stored blob, a stored attachment and a filepath; the rows are removed afterwards (a
    tampered row must not outlive the test)."""
    folder = tmp_path / "scan"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"\x01\x02")
    (folder / "sub" / "b.bin").write_bytes(b"\x03")
    stored_lab.conn.stores.backend("main").put("raw/session1.dat", b"recorded elsewhere")
    stored_lab.Recording.insert1(
        dict(
            rec_id=1,
            signal=np.arange(2000.0).reshape(50, 40),
            stored_file=str(folder / "a.bin"),
            obj=("csv", b"t,v\n0,1\n"),
            folder=str(folder),
            arr=np.arange(6, dtype="int16").reshape(2, 3),
            fp="raw/session1.dat",
        )
    )
    yield stored_lab
    stored_lab.Recording.delete_quick()


def tamper(lab, column: str, metadata: dict) -> None:
    lab.conn.query(
        f"UPDATE {lab.Recording.full_table_name} SET `{column}` = %s WHERE rec_id = 1",
        [json.dumps(metadata)],
    )


def assert_refused(response, status: int = 404) -> None:
    content = body(response)
    assert response.status_code == status, content[:600]
    assert SECRET not in content and b"root:x:0:0" not in content
    if status == 404:
        assert b"Not in the store" in content or b"Not found" in content


def folder_on_disk(lab, tmp_path):
    return tmp_path / "store" / (lab.Recording & {"rec_id": 1}).fetch1("folder").path


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_a_link_in_an_object_folder_to_a_file_elsewhere_is_not_served(
    lab_client, recorded, secret, tmp_path
):
    on_disk = folder_on_disk(recorded, tmp_path)
    (on_disk / "leak.txt").symlink_to(secret)
    (on_disk / "passwd").symlink_to("/etc/passwd")
    (on_disk / "leakdir").symlink_to(secret.parent)
    (on_disk / "sub" / "up").symlink_to("../../../../../../../../../../../../../../../../etc")
    (on_disk / "loop").symlink_to("loop")
    download = url("download", recorded.Recording, "folder") + KEY
    for path in ("leak.txt", "passwd", "leakdir/secret.txt", "sub/up/passwd", "loop", "loop/x"):
        response = lab_client.get(download + "&path=" + path)
        assert_refused(response)
        assert b"folder" in body(response)  # names the table's attribute and the row
    inside = lab_client.get(download + "&path=sub/b.bin")  # the folder itself still works
    assert inside.status_code == 200 and body(inside) == b"\x03"


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_linked_stored_files_are_not_served(lab_client, recorded, secret, tmp_path):
    store = tmp_path / "store"
    row = (recorded.Recording & {"rec_id": 1}).fetch1(lazy=True)
    for path in (row["fp"].path, row["obj"].path, row["arr"].path):
        (store / path).unlink()
        (store / path).symlink_to(secret)
    raw = recorded.conn.query(
        f"SELECT `signal`, `stored_file` FROM {recorded.Recording.full_table_name}"
    ).fetchone()
    for column in raw:
        path = store / json.loads(column)["path"]
        path.unlink()
        path.symlink_to(secret)
    for attribute in ("fp", "obj", "stored_file"):
        assert_refused(lab_client.get(url("download", recorded.Recording, attribute) + KEY))
    for name, attribute in (("value", "signal"), ("thumbnail", "signal"), ("thumbnail", "arr")):
        assert_refused(lab_client.get(url(name, recorded.Recording, attribute) + KEY))


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_a_linked_folder_is_not_served(lab_client, recorded, secret, tmp_path):
    store = tmp_path / "store"
    on_disk = folder_on_disk(recorded, tmp_path)
    for item in on_disk.rglob("*"):
        if item.is_file():
            item.unlink()
    for item in sorted(on_disk.rglob("*"), reverse=True):
        item.rmdir()
    on_disk.rmdir()
    on_disk.symlink_to(secret.parent)  # the whole object folder now points elsewhere
    download = url("download", recorded.Recording, "folder") + KEY
    assert_refused(lab_client.get(download + "&path=secret.txt"))
    (store / "raw" / "elsewhere").symlink_to(secret.parent)
    tamper(recorded, "fp", {"path": "raw/elsewhere", "store": "main", "is_dir": True})
    fp = url("download", recorded.Recording, "fp") + KEY
    assert_refused(lab_client.get(fp + "&path=secret.txt"))


@pytest.mark.parametrize("store_spec", ["file", "s3"], indirect=True)
@pytest.mark.parametrize(
    "path",
    ["../outside/secret.txt", "raw/../../outside/secret.txt", "/etc/passwd", "\\etc\\passwd", ""],
)
def test_paths_out_of_the_store_in_a_rows_json_are_404(lab_client, recorded, secret, path):
    for column, metadata in (
        ("fp", {"path": path, "store": "main", "size": 5, "is_dir": False}),
        ("obj", {"path": path, "store": "main", "size": 5, "is_dir": False}),
        ("folder", {"path": path, "store": "main", "is_dir": True, "item_count": 1}),
        ("stored_file", {"hash": "a" * 26, "path": path, "store": "main", "size": 5}),
    ):
        tamper(recorded, column, metadata)
        extra = "&path=secret.txt" if column == "folder" else ""
        response = lab_client.get(url("download", recorded.Recording, column) + KEY + extra)
        assert_refused(response)
        assert b"invalid path in a store" in body(response)
    tamper(recorded, "signal", {"hash": "a" * 26, "path": path, "store": "main", "size": 5})
    tamper(recorded, "arr", {"path": path, "store": "main", "dtype": "int16", "shape": [2, 3]})
    for name, attribute in (("value", "signal"), ("thumbnail", "signal"), ("thumbnail", "arr")):
        assert_refused(lab_client.get(url(name, recorded.Recording, attribute) + KEY))
    page = lab_client.get(
        reverse("web:table", args=[recorded.Recording.database, recorded.Recording.table_name])
    )
    assert page.status_code == 200  # the table page shows metadata, reading nothing


@pytest.mark.parametrize("store_spec", ["file", "s3"], indirect=True)
@pytest.mark.parametrize(
    "path, status",
    [
        ("../../x", 400),
        ("sub/../../x", 400),
        ("sub/../a.bin", 400),  # '..' is refused, never normalised away
        ("..", 400),
        ("/etc/passwd", 400),
        ("\\..\\..\\x", 400),
        ("%2e%2e/%2e%2e/x", 400),
        ("a.bin%00.png", 400),
        ("x" * 5000, 400),
        ("/", 400),
        ("sub", 400),  # a folder inside the folder, not a file
        ("nope.bin", 404),
        ("sub/nope/deeper.bin", 404),
        ("ünï/表.bin", 404),
        ("a.bin/x", 404),
        ("x" * 300, 404),
    ],
)
def test_malformed_path_parameters(lab_client, recorded, path, status):
    from urllib.parse import quote

    query = path if "%" in path else quote(path, safe="/")
    download = url("download", recorded.Recording, "folder") + KEY + "&path=" + query
    response = lab_client.get(download)
    assert_refused(response, status)
    text = body(response).decode()
    assert ("folder" in text) if status == 400 else ("folder" in text or "store" in text)


@pytest.mark.parametrize("store_spec", ["file", "s3"], indirect=True)
def test_a_rows_path_to_another_object_inside_the_store_is_no_500(lab_client, recorded):
    """A tampered ``<npy@>`` or ``<blob@>`` path naming some other object of the store (no
    .npy file, no matching hash): 503 naming the problem, not a server error."""
    tamper(
        recorded,
        "arr",
        {"path": "raw/session1.dat", "store": "main", "dtype": "int16", "shape": [2, 3]},
    )
    tamper(
        recorded,
        "signal",
        {"hash": "a" * 26, "path": "raw/session1.dat", "store": "main", "size": 18},
    )
    for name, attribute in (("thumbnail", "arr"), ("value", "signal"), ("thumbnail", "signal")):
        response = lab_client.get(url(name, recorded.Recording, attribute) + KEY)
        assert response.status_code == 503, (attribute, response.content[:400])
        assert attribute.encode() in response.content


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
@pytest.mark.parametrize("path", [5, None, ["raw/session1.dat"], {"a": 1}, True])
def test_a_rows_path_that_is_not_text_is_no_500(lab_client, recorded, path):
    for column, metadata, extra in (
        ("fp", {"path": path, "store": "main", "size": 1, "is_dir": False}, ""),
        ("obj", {"path": path, "store": "main", "size": None, "is_dir": False}, ""),
        ("folder", {"path": path, "store": "main", "is_dir": True}, "&path=a.bin"),
        ("stored_file", {"hash": "a" * 26, "path": path, "store": "main", "size": 5}, ""),
    ):
        tamper(recorded, column, metadata)
        response = lab_client.get(url("download", recorded.Recording, column) + KEY + extra)
        assert response.status_code == 503, (column, response.content[:400])
        assert column.encode() in response.content and b"not store metadata" in response.content
    table = recorded.Recording
    # the JSON is not store metadata: the pages holding it say so (503), never a 500
    page = lab_client.get(reverse("web:table", args=[table.database, table.table_name]))
    assert page.status_code == 503 and b"not store metadata" in page.content
    query = {"from": {"schema": table.database, "table": table.table_name}}
    api = lab_client.post("/api/v1/query/", json.dumps(query), content_type="application/json")
    assert api.status_code == 503 and "not store metadata" in api.json()["detail"]


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
@pytest.mark.parametrize(
    "column, metadata",
    [
        ("obj", {"path": "raw/session1.dat", "size": "many"}),
        ("folder", {"path": "raw", "is_dir": True, "item_count": -1}),
        ("arr", {"path": "raw/a.npy", "dtype": "no-such-type", "shape": [2, 3]}),
        ("arr", {"path": "raw/a.npy", "dtype": "O", "shape": [2, 3]}),
        ("arr", {"path": "raw/a.npy", "dtype": "int16", "shape": "2x3"}),
        ("signal", {"hash": 5, "path": "raw/session1.dat"}),
    ],
)
def test_malformed_fields_of_a_rows_json_are_no_500(lab_client, recorded, column, metadata):
    tamper(recorded, column, {"store": "main", **metadata})
    table = recorded.Recording
    page = lab_client.get(reverse("web:table", args=[table.database, table.table_name]))
    assert page.status_code == 503 and b"not store metadata" in page.content
    assert column.encode() in page.content
