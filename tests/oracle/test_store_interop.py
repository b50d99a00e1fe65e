"""Stored values both ways with ``datajoint==2.3.5`` on a file store and an S3 store
(loopback moto server): each side reads what the other wrote, with the same paths, hashes
and JSON metadata (spec §5).

On MariaDB, datajoint 2.3.5 cannot insert JSON-backed codecs (spec §12.3: it decides
"is JSON" from the column type ``longtext``); to let it write, these tests set the JSON
flag of those attributes in datajoint's heading, as the spec's observations were made.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.stores import Attachment, NpyRef, ObjectRef

pytestmark = pytest.mark.oracle

DEFINITION = """
rec_id : int32
---
signal=null : <blob@main>
stored_file=null : <attach@main>
inline_file=null : <attach>
raw=null : <hash@main>
obj=null : <object@main>
arr=null : <npy@main>
fp=null : <filepath@main>
"""


@pytest.fixture
def dj_stores(dj, store_spec, tmp_path):
    """datajoint configured with the same store ``main`` as LabBook's ``stores_conn``."""
    saved = (dict(dj.config.stores), dj.config.download_path)
    dj.config["stores"] = {"default": "main", "main": dict(store_spec)}
    dj.config.download_path = str(tmp_path / "dj_downloads")
    yield dj
    dj.config["stores"] = saved[0]
    dj.config.download_path = saved[1]


def _json_flag_for_stored_codecs(table) -> None:
    """Let datajoint 2.3.5 serialise codec metadata on MariaDB (spec §12.3)."""
    heading = table.heading
    _ = heading.attributes  # loads the heading from the database
    attributes = heading._attributes
    for name, attr in list(attributes.items()):
        if attr.store is not None and not attr.json:
            attributes[name] = attr._replace(json=True)


@pytest.fixture
def tables(dj_stores, dj_conn, stores_conn, new_db):
    """The same table seen by datajoint (declared by it) and by LabBook."""
    database = new_db("djstore")
    schema = dj_stores.Schema(database, connection=dj_conn)

    @schema
    class Recording(dj_stores.Manual):
        definition = DEFINITION

    dj_table = Recording()
    _json_flag_for_stored_codecs(dj_table)
    ours = dm.FreeTable(stores_conn, f"`{database}`.`recording`")
    yield dj_table, ours, database
    schema.drop()


@pytest.fixture
def files(tmp_path, stores_conn):
    source = tmp_path / "src" / "notes.csv"
    source.parent.mkdir()
    source.write_bytes(b"t,v\n0,1\n")
    folder = tmp_path / "src" / "scan"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"\x01\x02")
    (folder / "sub" / "b.bin").write_bytes(b"\x03")
    stores_conn.stores.backend("main").put("raw/f1.txt", b"hello world")
    return source, folder


def _row(rec_id, source, folder):
    return dict(
        rec_id=rec_id,
        signal={"trace": np.arange(12.0).reshape(3, 4), "label": "s1"},
        stored_file=str(source),
        inline_file=str(source),
        raw=b"raw bytes",
        obj=str(folder),
        arr=np.arange(6, dtype="int32").reshape(2, 3),
        fp="raw/f1.txt",
    )


def _check_labbook_value(row, source):
    """``row`` as a plain fetch returns it, run in an empty working directory."""
    assert np.array_equal(row["signal"]["trace"], np.arange(12.0).reshape(3, 4))
    assert row["signal"]["label"] == "s1"
    for name in ("stored_file", "inline_file"):
        assert row[name] == "notes.csv"  # saved into ".", the same file for both
        assert Path(row[name]).read_bytes() == source.read_bytes()
    assert os.listdir() == ["notes.csv"]
    assert row["raw"] == b"raw bytes"
    assert isinstance(row["obj"], ObjectRef) and row["obj"].is_dir
    assert sorted(row["obj"].walk()) == [("a.bin", 2), ("sub/b.bin", 1)]
    assert isinstance(row["arr"], NpyRef) and np.array_equal(
        row["arr"].load(), np.arange(6).reshape(2, 3)
    )
    assert row["fp"].read() == b"hello world"


def test_labbook_reads_what_datajoint_wrote(tables, files, tmp_path, monkeypatch):
    dj_table, ours, _database = tables
    source, folder = files
    dj_table.insert1(_row(1, source, folder))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    _check_labbook_value(ours.fetch1(), source)
    lazy = ours.fetch1("stored_file", "inline_file", lazy=True)  # the web's reads
    assert lazy == (Attachment("notes.csv", source.read_bytes()),) * 2


def test_datajoint_reads_what_labbook_wrote(tables, files, dj_stores):
    dj_table, ours, _database = tables
    source, folder = files
    ours.insert1(_row(2, source, folder))
    row = dj_table.fetch1()
    assert np.array_equal(row["signal"]["trace"], np.arange(12.0).reshape(3, 4))
    for name in ("stored_file", "inline_file"):
        assert Path(row[name]).read_bytes() == source.read_bytes()
    assert row["raw"] == b"raw bytes"
    assert sorted(f for _, _, fs in row["obj"].walk() for f in fs) == ["a.bin", "b.bin"]
    assert row["obj"].open("sub/b.bin").read() == b"\x03"
    assert np.array_equal(row["arr"].load(), np.arange(6).reshape(2, 3))
    assert row["fp"].read() == b"hello world"


def test_same_paths_hashes_and_json(tables, files):
    """Hash-addressed values written by both sides are the same object with the same JSON;
    schema-addressed ones follow the same path rule and keys (spec §5.2, §5.3)."""
    dj_table, ours, database = tables
    source, _folder = files
    dj_table.insert1(
        dict(
            rec_id=1,
            signal=np.arange(20000.0),
            stored_file=str(source),
            raw=b"raw",
            arr=np.ones(3),
            obj=("dat", b"abc"),
            fp="raw/f1.txt",
        )
    )
    ours.insert1(
        dict(
            rec_id=2,
            signal=np.arange(20000.0),
            stored_file=str(source),
            raw=b"raw",
            arr=np.ones(3),
            obj=("dat", b"abc"),
            fp="raw/f1.txt",
        )
    )
    theirs, mine = ours.to_dicts(order_by="KEY", decode=False)
    for name in ("signal", "stored_file", "raw"):
        assert json.loads(mine[name]) == json.loads(theirs[name]), name
        assert mine[name] == theirs[name], name  # same text: key order and separators
    for name, ext in (("arr", ".npy"), ("obj", ".dat")):
        a, b = json.loads(theirs[name]), json.loads(mine[name])
        assert list(a) == list(b), name
        for meta, rec in ((a, 1), (b, 2)):
            assert re.fullmatch(
                rf"_schema/{database}/recording/rec_id={rec}/{name}_[A-Za-z0-9_-]{{8}}"
                rf"{re.escape(ext)}",
                meta["path"],
            ), meta["path"]
    assert {k: v for k, v in json.loads(mine["arr"]).items() if k != "path"} == {
        k: v for k, v in json.loads(theirs["arr"]).items() if k != "path"
    }
    keep = ("store", "size", "ext", "is_dir", "item_count")
    assert [json.loads(mine["obj"])[k] for k in keep] == [
        json.loads(theirs["obj"])[k] for k in keep
    ]
    assert [json.loads(mine["fp"])[k] for k in ("path", "store", "size", "is_dir")] == [
        json.loads(theirs["fp"])[k] for k in ("path", "store", "size", "is_dir")
    ]


def test_datajoint_gc_sees_labbook_objects_as_referenced(tables, files, dj_stores, dj_conn):
    """datajoint's garbage collector finds nothing to collect after LabBook's writes."""
    _dj_table, ours, database = tables
    source, folder = files
    ours.insert1(_row(3, source, folder))
    schema = dj_stores.Schema(database, connection=dj_conn)
    report = dj_stores.gc.GarbageCollector(schema, store="main").collect(dry_run=True)
    assert report["hash_paths_orphaned"] == 0 and report["schema_paths_orphaned"] == 0
    assert report["hash_paths_stored"] == 3  # signal, stored_file, raw


# --- fetched attachments: the saved file's path, as datajoint returns it (spec §5.5) --------
def _attachment_fetches(table, **options) -> list:
    """Every attachment value returned by one fixed sequence of fetches of ``table`` (rows
    1 and 2), in order; ``options`` go to each LabBook fetch (nothing for datajoint, whose
    folder is ``config["download_path"]``). Arrays become lists."""
    names = ("stored_file", "inline_file")
    values = []
    row = (table & {"rec_id": 1}).fetch1(**options)
    values += [row[n] for n in names]
    values += list((table & {"rec_id": 2}).fetch1(*names, **options))
    for row in table.to_dicts(order_by="KEY", **options):
        values += [row[n] for n in names]
    with warnings.catch_warnings():  # datajoint 2.x: "fetch() is deprecated"
        warnings.simplefilter("ignore", DeprecationWarning)
        column = table.fetch("inline_file", order_by="KEY", **options)  # datajoint: an array
        values += [v.item() if isinstance(v, np.generic) else v for v in column]
        for row in table.fetch(as_dict=True, order_by="KEY", **options):
            values += [row[n] for n in names]
    return values


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture
def two_attachments(tables, tmp_path):
    """Row 1 written by datajoint, row 2 by LabBook: both ``notes.csv``, other contents."""
    dj_table, ours, _database = tables
    source = tmp_path / "src" / "notes.csv"
    source.parent.mkdir()
    source.write_bytes(b"written by datajoint")
    dj_table.insert1(dict(rec_id=1, stored_file=str(source), inline_file=str(source)))
    source.write_bytes(b"written by LabBook")
    ours.insert1(dict(rec_id=2, stored_file=str(source), inline_file=str(source)))
    return dj_table, ours


def _folders(tmp_path) -> tuple[Path, Path]:
    """Two download folders, each already holding another ``notes.csv`` (a collision)."""
    folders = tmp_path / "theirs", tmp_path / "ours"
    for folder in folders:
        folder.mkdir()
        (folder / "notes.csv").write_bytes(b"someone else's notes")
    return folders


def test_fetched_attachments_are_saved_where_and_as_datajoint_saves_them(
    two_attachments, dj_stores, tmp_path
):
    """With a download folder (datajoint: ``config["download_path"]``; LabBook: the
    ``download_path`` argument) every fetch returns ``str(Path(folder) / name)``, with the
    same collision names (``notes_1.csv``...) and the same files left in the folder."""
    dj_table, ours = two_attachments
    theirs_folder, ours_folder = _folders(tmp_path)
    with dj_stores.config.override(download_path=f"{theirs_folder}/"):
        theirs = _attachment_fetches(dj_table)
    mine = _attachment_fetches(ours, download_path=f"{ours_folder}/")
    assert all(type(v) is str for v in theirs + mine), (theirs, mine)
    assert [Path(v).parent for v in theirs] == [theirs_folder] * len(theirs)
    assert mine == [str(ours_folder / Path(v).name) for v in theirs]
    assert (
        _listing(ours_folder)
        == _listing(theirs_folder)
        == {
            "notes.csv": b"someone else's notes",
            "notes_1.csv": b"written by datajoint",
            "notes_2.csv": b"written by LabBook",
        }
    )


def test_the_configured_download_path_is_used_as_in_datajoint(
    two_attachments, dj_stores, tmp_path, monkeypatch
):
    """``config["download_path"]`` (``config.override(download_path=...)``, as DataJoint's
    docs write it) is the folder of a fetch that names none, read when the fetch runs."""
    dj_table, ours = two_attachments
    theirs_folder, ours_folder = _folders(tmp_path)
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory
    with dj_stores.config.override(download_path=str(theirs_folder)):
        theirs = _attachment_fetches(dj_table)
    with dm.config.override(download_path=str(ours_folder)):
        mine = _attachment_fetches(ours)
    assert mine == [str(ours_folder / Path(v).name) for v in theirs]
    assert _listing(ours_folder) == _listing(theirs_folder)
    assert not list(tmp_path.glob("notes*"))
    assert dm.config["download_path"] == "."  # the override ended


def test_default_download_path_is_the_working_directory_as_in_datajoint(
    two_attachments, dj_stores, tmp_path, monkeypatch
):
    """Without a folder both save into ``"."`` (datajoint's default ``download_path``) and
    return the same relative paths; lazy fetches (LabBook's web) save nothing."""
    dj_table, ours = two_attachments
    theirs_folder, ours_folder = _folders(tmp_path)
    assert dj_stores.settings.Config.model_fields["download_path"].default == "."
    monkeypatch.chdir(theirs_folder)
    with dj_stores.config.override(download_path="."):
        theirs = _attachment_fetches(dj_table)
    monkeypatch.chdir(ours_folder)
    lazy = ours.fetch("stored_file", "inline_file", lazy=True, order_by="KEY")
    assert lazy[0][0] == lazy[1][0] == Attachment("notes.csv", b"written by datajoint")
    assert _listing(ours_folder) == {"notes.csv": b"someone else's notes"}
    mine = _attachment_fetches(ours)
    assert theirs[:4] == ["notes_1.csv", "notes_1.csv", "notes_2.csv", "notes_2.csv"]
    assert mine == theirs
    assert _listing(ours_folder) == _listing(theirs_folder)


def test_other_stored_values_are_not_saved_as_in_datajoint(
    tables, files, dj_stores, tmp_path, monkeypatch
):
    """``<hash@>`` -> bytes, ``<blob@>`` -> the value, ``<object@>``/``<filepath@>`` ->
    ``ObjectRef``, ``<npy@>`` -> ``NpyRef``: nothing is written locally by either side."""
    dj_table, ours, _database = tables
    source, folder = files
    dj_table.insert1(_row(1, source, folder))
    names = ("signal", "raw", "obj", "arr", "fp")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "ours").mkdir()
    monkeypatch.chdir(tmp_path / "theirs")
    with dj_stores.config.override(download_path="."):
        theirs = dj_table.proj(*names).fetch1()
    monkeypatch.chdir(tmp_path / "ours")
    mine = ours.proj(*names).fetch1()
    assert (
        {n: type(mine[n]).__name__ for n in names}
        == {n: type(theirs[n]).__name__ for n in names}
        == {
            "signal": "dict",
            "raw": "bytes",
            "obj": "ObjectRef",
            "arr": "NpyRef",
            "fp": "ObjectRef",
        }
    )
    assert mine["raw"] == theirs["raw"] == b"raw bytes"
    assert (mine["obj"].path, mine["fp"].path) == (theirs["obj"].path, theirs["fp"].path)
    assert np.array_equal(mine["arr"].load(), theirs["arr"].load())
    assert os.listdir(tmp_path / "theirs") == os.listdir(tmp_path / "ours") == []
