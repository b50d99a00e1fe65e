"""Stored values stay inside their store, through the data model API (issue #11, item 5):
rows whose JSON was tampered with by SQL (``..``, absolute paths) and symbolic links
planted in a file store (a file in an object folder linked to a file elsewhere on the
server, a linked folder) are refused with StoreError (StorePathError where the reference
is read directly), and the outside file's contents never come back. On S3 (moto), a ``..``
or absolute path in the JSON names no key outside the store's location.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.stores import Attachment, ObjectRef, StoreError, StorePathError

pytestmark = pytest.mark.integration

SECRET = b"TOP-SECRET outside the store\n"


@pytest.fixture
def lab(stores_conn, new_db):
    schema = dm.Schema(new_db("paths"), connection=stores_conn)

    @schema
    class Recording(dm.Manual):
        definition = """
        rec_id: int32
        ---
        signal=null: <blob@main>
        stored_file=null: <attach@main>
        obj=null: <object@main>
        arr=null: <npy@main>
        fp=null: <filepath@main>
        """

    yield Recording
    Recording.delete_quick()  # tampered rows must not outlive the test (`pipeline gc`)


@pytest.fixture
def secret(tmp_path):
    """A file outside the store (next to the file store's location)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    return folder / "secret.txt"


def tamper(recording, column: str, metadata: dict, rec_id: int = 1) -> None:
    """Write a column's JSON directly with SQL, as a tampered row would hold it."""
    recording.connection.query(
        f"UPDATE {recording.full_table_name} SET `{column}` = %s WHERE rec_id = %s",
        [json.dumps(metadata), rec_id],
    )


@pytest.fixture
def stored(lab, tmp_path, stores_conn):
    """Recording 1 with a folder object, a file object, an array, a blob, an attachment and
    a filepath; returns ``(Recording, row)``."""
    folder = tmp_path / "scan"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"\x01\x02")
    (folder / "sub" / "b.bin").write_bytes(b"\x03")
    stores_conn.stores.backend("main").put("raw/session1.dat", b"recorded elsewhere")
    lab.insert1(
        dict(
            rec_id=1,
            signal=np.arange(4.0),
            stored_file=Attachment("report.txt", b"report"),
            obj=str(folder),
            arr=np.arange(3),
            fp="raw/session1.dat",
        )
    )
    return lab, (lab & {"rec_id": 1}).fetch1(lazy=True)


@pytest.mark.parametrize(
    "path",
    ["../outside/secret.txt", "raw/../../outside/secret.txt", "/etc/passwd", "\\etc\\passwd"],
)
def test_tampered_json_paths_are_refused(stored, store_spec, tmp_path, path):
    recording, _row = stored
    for column, metadata in (
        ("obj", {"path": path, "store": "main", "size": 5, "is_dir": False}),
        ("fp", {"path": path, "store": "main", "size": 5, "is_dir": False}),
        ("arr", {"path": path, "store": "main", "dtype": "int64", "shape": [3]}),
    ):
        tamper(recording, column, metadata)
        ref = (recording & {"rec_id": 1}).fetch1(column)  # a lazy reference: nothing read
        load = ref.load if column == "arr" else ref.read
        with pytest.raises(StorePathError, match="invalid path in a store") as caught:
            load()
        assert SECRET.decode() not in str(caught.value)
        if column != "arr":  # an array stays a reference even with download_path
            with pytest.raises(StoreError, match=f"`{column}`.*invalid path in a store"):
                (recording & {"rec_id": 1}).fetch1(column, download_path=tmp_path / "dl")
    for column, metadata in (
        ("signal", {"hash": "a" * 26, "path": path, "store": "main", "size": 5}),
        ("stored_file", {"hash": "a" * 26, "path": path, "store": "main", "size": 5}),
    ):
        tamper(recording, column, metadata)
        with pytest.raises(StoreError, match=f"`{column}`.*invalid path in a store"):
            (recording & {"rec_id": 1}).fetch1(column, download_path=tmp_path / "dl")
        lazy = (recording & {"rec_id": 1}).fetch1(column, lazy=True)
        with pytest.raises(StorePathError):
            lazy.load() if column == "signal" else lazy.name
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").rglob("*secret*"))


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_a_link_in_an_object_folder_is_never_followed_out(stored, store_spec, secret, tmp_path):
    recording, row = stored
    folder = row["obj"]
    on_disk = tmp_path / "store" / folder.path
    (on_disk / "leak.txt").symlink_to(secret)  # the new user's report: this was served
    (on_disk / "leakdir").symlink_to(secret.parent)
    (on_disk / "sub" / "deeper").symlink_to("../" * 40 + str(secret)[1:])
    for sub in ("leak.txt", "leakdir/secret.txt", "sub/deeper", "sub/../leak.txt"):
        with pytest.raises(StorePathError) as caught:
            folder.read(sub)
        with pytest.raises(StorePathError):
            folder.open(sub)
        assert SECRET.decode() not in str(caught.value)
    with pytest.raises(StorePathError):
        folder.listdir("leakdir")
    assert sorted(folder.walk()) == [("a.bin", 2), ("sub/b.bin", 1)]
    copied = folder.download(tmp_path / "copy")
    assert sorted(p.name for p in copied.rglob("*") if p.is_file()) == ["a.bin", "b.bin"]
    fetched = (recording & {"rec_id": 1}).fetch1("obj", download_path=tmp_path / "copy2")
    assert not [p for p in (tmp_path / "copy2").rglob("*") if p.is_file() and "leak" in p.name]
    assert fetched.endswith(folder.path.rsplit("/", 1)[1])


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_linked_files_and_folders_of_every_codec_are_refused(stored, store_spec, secret, tmp_path):
    recording, row = stored
    store = tmp_path / "store"
    # replace each stored file by a link to the outside file
    for path in (row["fp"].path, row["arr"].path):
        (store / path).unlink()
        (store / path).symlink_to(secret)
    blob_path = json.loads(
        recording.connection.query(
            f"SELECT `signal` FROM {recording.full_table_name} WHERE rec_id = 1"
        ).fetchone()[0]
    )["path"]
    (store / blob_path).unlink()
    (store / blob_path).symlink_to(secret)
    ref = (recording & {"rec_id": 1}).fetch1("fp")
    with pytest.raises(StorePathError, match="leads outside the store's location"):
        ref.read()
    with pytest.raises(StorePathError):
        ref.download(tmp_path / "dl")
    with pytest.raises(StorePathError):
        (recording & {"rec_id": 1}).fetch1("arr").load()
    with pytest.raises(StorePathError):
        (recording & {"rec_id": 1}).fetch1("arr").load(mmap_mode="r")
    with pytest.raises(StoreError, match=r"`signal`.*leads outside"):
        (recording & {"rec_id": 1}).fetch1("signal")
    with pytest.raises(StorePathError):
        (recording & {"rec_id": 1}).fetch1("signal", lazy=True).load()
    assert not (tmp_path / "dl").exists() or not list((tmp_path / "dl").rglob("*"))


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_filepath_inserts_and_object_writes_do_not_follow_links_out(
    lab, store_spec, secret, tmp_path, stores_conn
):
    store = tmp_path / "store"
    (store / "raw").mkdir()
    (store / "raw" / "link.dat").symlink_to(secret)
    (store / "raw" / "linked_dir").symlink_to(secret.parent)
    for path in ("raw/link.dat", "raw/linked_dir/secret.txt", "raw/linked_dir"):
        with pytest.raises(StoreError, match=r"`fp`.*leads outside the store's location"):
            lab.insert1(dict(rec_id=1, fp=path))
    # a section of the store linked elsewhere: objects are not written through it
    (store / "_schema").symlink_to(secret.parent)
    with pytest.raises(StoreError, match=r"`obj`.*leads outside"):
        lab.insert1(dict(rec_id=2, obj=b"payload"))
    assert sorted(p.name for p in secret.parent.iterdir()) == ["secret.txt"]
    assert len(lab) == 0
    (store / "raw" / "inside.dat").write_bytes(b"inside")
    (store / "raw" / "alias.dat").symlink_to("inside.dat")
    lab.insert1(dict(rec_id=3, fp="raw/alias.dat"))  # a link inside the store is fine
    assert (lab & {"rec_id": 3}).fetch1("fp").read() == b"inside"


@pytest.mark.parametrize("store_spec", ["s3"], indirect=True)
def test_s3_keys_outside_the_location_are_never_read(stored, store_spec, stores_conn):
    recording, _row = stored
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://{store_spec['endpoint']}",
        aws_access_key_id=store_spec["access_key"],
        aws_secret_access_key=store_spec["secret_key"],
        region_name="us-east-1",
    )
    client.put_object(Bucket=store_spec["bucket"], Key="lab/other/secret.txt", Body=SECRET)
    client.put_object(Bucket=store_spec["bucket"], Key="secret.txt", Body=SECRET)
    for path in ("../other/secret.txt", "../../secret.txt", "/secret.txt", "x/../../other/a"):
        tamper(recording, "fp", {"path": path, "store": "main", "size": 5, "is_dir": False})
        ref = (recording & {"rec_id": 1}).fetch1("fp")
        assert isinstance(ref, ObjectRef)
        for read in (ref.read, ref.open, ref.exists):
            with pytest.raises(StorePathError, match="store main: invalid path in a store"):
                read()
    backend = stores_conn.stores.backend("main")
    with pytest.raises(StorePathError, match="too long"):
        backend.get("x" * 2000)
    folder = ObjectRef({"path": "raw", "store": "main", "is_dir": True}, backend)
    for sub in ("../../other/secret.txt", "/secret.txt"):
        with pytest.raises(StorePathError):
            folder.read(sub)
    assert folder.read("session1.dat") == b"recorded elsewhere"
