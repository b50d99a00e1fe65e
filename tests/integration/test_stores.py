"""Stored values on a file store and on an S3 store (loopback moto server): every codec
written and read back, the column JSON and object paths of spec §5, lazy references and
downloads, no objects left by failed writes, and garbage collection."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.codecs import blob
from pipeline_core.datamodel.stores import (
    Attachment,
    BlobRef,
    NpyRef,
    ObjectRef,
    StoreError,
)
from pipeline_core.datamodel.stores.addressing import content_hash
from pipeline_core.datamodel.stores.gc import collect

pytestmark = pytest.mark.integration


def objects(conn, store="main") -> dict[str, int]:
    """Every object in the store: path -> size."""
    return dict(conn.stores.backend(store).walk(""))


@pytest.fixture
def lab(stores_conn, new_db):
    schema = dm.Schema(new_db("store"), connection=stores_conn)

    @schema
    class Recording(dm.Manual):
        definition = """
        rec_id: int32
        ---
        signal=null: <blob@main>
        default_store=null: <blob@>
        inline_file=null: <attach>
        stored_file=null: <attach@main>
        raw=null: <hash@main>
        obj=null: <object@main>
        arr=null: <npy@main>
        fp=null: <filepath@main>
        """

    @schema
    class Note(dm.Manual):
        definition = """
        -> Recording
        note_id: int16
        ---
        data: <blob@main>
        """

    return schema, Recording, Note


def test_every_codec_round_trips(lab, stores_conn, tmp_path, monkeypatch):
    _schema, recording, _ = lab
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # attachments are saved into "." (spec §5.5)
    source = tmp_path / "notes.txt"
    source.write_bytes(b"field notes\n")
    folder = tmp_path / "scan"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"\x01\x02")
    (folder / "sub" / "b.bin").write_bytes(b"\x03")
    backend = stores_conn.stores.backend("main")
    backend.put("raw/session1.dat", b"recorded elsewhere")
    signal = np.random.default_rng(1).standard_normal((50, 40))
    recording.insert1(
        dict(
            rec_id=1,
            signal=signal,
            default_store={"a": [1, 2]},
            inline_file=str(source),
            stored_file=str(source),
            raw=b"raw bytes",
            obj=str(folder),
            arr=np.arange(6, dtype="int16").reshape(2, 3),
            fp="raw/session1.dat",
        )
    )
    recording.insert1(dict(rec_id=2, obj=("csv", b"t,v\n0,1\n")))
    row = (recording & {"rec_id": 1}).fetch1()
    assert np.array_equal(row["signal"], signal)
    assert row["default_store"] == {"a": [1, 2]}
    assert row["inline_file"] == row["stored_file"] == "notes.txt"  # same file: reused
    assert sorted(os.listdir()) == ["notes.txt"]
    assert Path("notes.txt").read_bytes() == b"field notes\n"
    assert row["raw"] == b"raw bytes"
    assert isinstance(row["obj"], ObjectRef) and row["obj"].is_dir and row["obj"].item_count == 2
    assert sorted(row["obj"].walk()) == [("a.bin", 2), ("sub/b.bin", 1)]
    assert row["obj"].read("sub/b.bin") == b"\x03" and row["obj"].verify()
    assert (
        isinstance(row["arr"], NpyRef)
        and row["arr"].shape == (2, 3)
        and row["arr"].dtype == "int16"
    )
    assert np.array_equal(np.asarray(row["arr"]), np.arange(6).reshape(2, 3))
    assert isinstance(row["fp"], ObjectRef) and row["fp"].read() == b"recorded elsewhere"
    other = (recording & {"rec_id": 2}).fetch1("obj")
    assert other.read() == b"t,v\n0,1\n" and other.ext == "csv" and other.size == 8
    assert (recording & {"rec_id": 2}).fetch1("signal") is None


def test_column_json_follows_datajoint(lab, stores_conn, store_spec):
    """Hash-addressed: ``{hash, path, schema, store, size}`` with ``_hash/{db}/{hash}``;
    schema-addressed: ``_schema/{db}/{table}/{k=v}/{attr}_{token}{ext}`` (spec §5.2, §5.3)."""
    schema, recording, _ = lab
    db = schema.database
    recording.insert1(
        dict(rec_id=7, signal=np.arange(3.0), raw=b"raw bytes", arr=np.zeros(4), obj=b"1234")
    )
    raw = (recording & {"rec_id": 7}).to_dicts(decode=False)[0]
    packed = blob.pack(np.arange(3.0))
    assert raw["signal"] == json.dumps(
        {
            "hash": content_hash(packed),
            "path": f"_hash/{db}/{content_hash(packed)}",
            "schema": db,
            "store": "main",
            "size": len(packed),
        }
    )
    assert json.loads(raw["raw"])["hash"] == "unwli6dqh5hkrs4def2rgayp5m"  # spec §5.2 vector
    npy = json.loads(raw["arr"])
    assert re.fullmatch(
        rf"_schema/{db}/recording/rec_id=7/arr_[A-Za-z0-9_-]{{8}}\.npy", npy["path"]
    )
    assert (npy["dtype"], npy["shape"], npy["store"]) == ("float64", [4], "main")
    obj = json.loads(raw["obj"])
    assert list(obj) == ["path", "store", "size", "ext", "is_dir", "item_count", "timestamp"]
    assert re.fullmatch(rf"_schema/{db}/recording/rec_id=7/obj_[A-Za-z0-9_-]{{8}}", obj["path"])
    stored = objects(stores_conn)
    assert stored[f"_hash/{db}/{content_hash(packed)}"] == len(packed)
    assert stored[npy["path"]] > 0 and stored[obj["path"]] == 4
    if store_spec["protocol"] == "file":
        from pathlib import Path

        assert (Path(store_spec["location"]) / obj["path"]).read_bytes() == b"1234"


def test_identical_values_are_stored_once(lab, stores_conn):
    _schema, recording, note = lab
    recording.insert([dict(rec_id=i, signal=np.ones(300)) for i in range(3)])
    note.insert([dict(rec_id=0, note_id=i, data=np.ones(300)) for i in range(3)])
    assert len([p for p in objects(stores_conn) if p.startswith("_hash/")]) == 1


def test_lazy_fetch_reads_nothing_until_load(lab, stores_conn, tmp_path):
    _schema, recording, _ = lab
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * 5000)
    recording.insert1(dict(rec_id=1, signal=np.arange(1000.0), stored_file=str(source)))
    row = (recording & {"rec_id": 1}).fetch1(lazy=True)
    assert isinstance(row["signal"], BlobRef) and row["signal"].size > 0
    assert not row["stored_file"].is_loaded
    for path in list(objects(stores_conn)):  # the store goes away: refs still made, loads fail
        stores_conn.stores.backend("main").delete(path)
    row = (recording & {"rec_id": 1}).fetch1(lazy=True)
    with pytest.raises(StoreError, match="missing object"):
        row["signal"].load()
    with pytest.raises(StoreError, match=r"recording`: attribute `signal`.*missing object"):
        (recording & {"rec_id": 1}).fetch1()


def test_download_path_saves_attachments_and_objects(lab, tmp_path):
    _schema, recording, _ = lab
    source = tmp_path / "in" / "notes.txt"
    source.parent.mkdir()
    source.write_bytes(b"v1")
    recording.insert1(
        dict(
            rec_id=1, inline_file=str(source), stored_file=str(source), obj=("dat", b"object bytes")
        )
    )
    source.write_bytes(b"v2")
    recording.insert1(dict(rec_id=2, stored_file=str(source)))
    out = tmp_path / "out"
    first = (recording & {"rec_id": 1}).fetch1(download_path=out)
    second = (recording & {"rec_id": 2}).fetch1("stored_file", download_path=out)
    assert first["inline_file"] == first["stored_file"] == str(out / "notes.txt")
    assert second == str(out / "notes_1.txt")  # same name, other contents (spec §5.5)
    assert (out / "notes_1.txt").read_bytes() == b"v2"
    assert Path(first["obj"]).read_bytes() == b"object bytes"


def test_plain_fetch_saves_attachments_into_the_working_directory(lab, tmp_path, monkeypatch):
    """Without ``download_path`` a fetched attachment is saved into ``"."`` and its relative
    path returned (DataJoint's default, spec §5.5); ``lazy=True`` (the web's internal
    reads) keeps ``Attachment`` values and writes nothing; objects stay ``ObjectRef``."""
    _schema, recording, _ = lab
    source = tmp_path / "in" / "notes.txt"
    source.parent.mkdir()
    source.write_bytes(b"v1")
    recording.insert1(dict(rec_id=1, inline_file=str(source), obj=b"object bytes"))
    source.write_bytes(b"v2")
    recording.insert1(dict(rec_id=2, stored_file=str(source)))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    lazy = recording.fetch(lazy=True, order_by="KEY")
    assert lazy[0]["inline_file"] == Attachment("notes.txt", b"v1")
    assert not lazy[1]["stored_file"].is_loaded
    assert lazy[1]["stored_file"] == Attachment("notes.txt", b"v2")
    assert os.listdir() == []
    first = (recording & {"rec_id": 1}).fetch1()
    assert first["inline_file"] == "notes.txt" and type(first["inline_file"]) is str
    assert isinstance(first["obj"], ObjectRef)  # not downloaded without download_path
    assert (recording & {"rec_id": 2}).fetch1("stored_file") == "notes_1.txt"
    assert [row["inline_file"] for row in recording.to_dicts(order_by="KEY")] == ["notes.txt", None]
    assert {row["rec_id"]: row["stored_file"] for row in recording} == {1: None, 2: "notes_1.txt"}
    assert list(recording.to_arrays("stored_file", order_by="KEY")) == [None, "notes_1.txt"]
    assert sorted(os.listdir()) == ["notes.txt", "notes_1.txt"]
    assert (Path("notes.txt").read_bytes(), Path("notes_1.txt").read_bytes()) == (b"v1", b"v2")


def test_failed_insert_leaves_no_objects(lab, stores_conn, tmp_path):
    _schema, recording, note = lab
    recording.insert1(dict(rec_id=1, signal=np.arange(5.0)))
    before = objects(stores_conn)
    with pytest.raises(dm.IntegrityError):  # the second row has no parent
        note.insert(
            [
                dict(rec_id=1, note_id=1, data=np.arange(5.0)),  # already stored: kept
                dict(rec_id=1, note_id=2, data=np.arange(7.0)),
                dict(rec_id=99, note_id=3, data=np.arange(9.0)),
            ]
        )
    with pytest.raises(dm.DuplicateError):
        recording.insert1(dict(rec_id=1, arr=np.ones(3), obj=b"x", raw=b"new"))
    with pytest.raises(dm.InvalidValueError, match="`arr`"):  # fails after uploading `raw`
        recording.insert1(dict(rec_id=2, raw=b"uploaded first", arr="not an array"))
    assert objects(stores_conn) == before
    assert np.array_equal((recording & {"rec_id": 1}).fetch1("signal"), np.arange(5.0))


def test_rolled_back_transaction_leaves_no_objects(lab, stores_conn):
    _schema, recording, note = lab
    recording.insert1(dict(rec_id=1))
    before = objects(stores_conn)

    def insert_then_fail():
        with stores_conn.transaction():
            note.insert1(dict(rec_id=1, note_id=1, data=np.arange(11.0)))
            recording.insert1(dict(rec_id=2, obj=b"abc", arr=np.ones(2)))
            assert len(objects(stores_conn)) == len(before) + 3
            raise RuntimeError("make failed")

    with pytest.raises(RuntimeError, match="make failed"):
        insert_then_fail()
    assert objects(stores_conn) == before
    with stores_conn.transaction():
        note.insert1(dict(rec_id=1, note_id=1, data=np.arange(11.0)))
    assert len(objects(stores_conn)) == len(before) + 1


def test_a_rolled_back_upload_that_another_writer_committed_is_kept(
    lab, stores_conn, dj_params, store_spec
):
    """Writer A uploads an object in a transaction; writer B stores the same bytes (finds
    the object, uploads nothing) and commits; A rolls back: the object stays, B's row
    reads it."""
    _schema, recording, note = lab
    recording.insert1(dict(rec_id=1))
    other = dm.connect(
        dj_params["host"],
        dj_params["user"],
        dj_params["password"],
        port=int(dj_params["port"]),
        stores={"default": "main", "main": store_spec},
    )
    try:
        other_note = dm.FreeTable(other, note.full_table_name)
        stores_conn.start_transaction()
        note.insert1(dict(rec_id=1, note_id=1, data=np.arange(13.0)))
        created = objects(stores_conn)
        other_note.insert1(dict(rec_id=1, note_id=2, data=np.arange(13.0)))  # same bytes, committed
        stores_conn.rollback()
        assert objects(stores_conn) == created
        assert np.array_equal((note & {"note_id": 2}).fetch1("data"), np.arange(13.0))
        assert len(note) == 1
    finally:
        other.close()


def test_skip_duplicates_uploads_nothing_for_existing_rows(lab, stores_conn):
    _schema, recording, _ = lab
    recording.insert1(dict(rec_id=1, obj=b"first"))
    before = objects(stores_conn)
    recording.insert([dict(rec_id=1, obj=b"second")], skip_duplicates=True)
    assert objects(stores_conn) == before
    assert (recording & {"rec_id": 1}).fetch1("obj").read() == b"first"


def test_update1_writes_the_new_object(lab, stores_conn):
    _schema, recording, _ = lab
    recording.insert1(dict(rec_id=1, signal=np.arange(3.0)))
    recording.update1(dict(rec_id=1, signal=np.arange(4.0)))
    assert np.array_equal((recording & {"rec_id": 1}).fetch1("signal"), np.arange(4.0))


def test_gc_lists_and_removes_unreferenced_objects(lab, stores_conn):
    schema, recording, note = lab
    recording.insert(
        [
            dict(rec_id=1, signal=np.arange(3.0), obj=b"keep", arr=np.ones(3)),
            dict(rec_id=2, signal=np.arange(4.0), obj=b"drop", arr=np.ones(4)),
        ]
    )
    note.insert1(dict(rec_id=1, note_id=1, data=np.arange(3.0)))  # shares rec 1's blob
    dropped = json.loads((recording & {"rec_id": 2}).to_dicts(decode=False)[0]["obj"])["path"]
    (recording & {"rec_id": 2}).delete_quick()
    report = collect(stores_conn, "main", [schema.database], dry_run=True, min_age=0)
    orphans = {path for path, _ in report.orphans}
    assert dropped in orphans and len(orphans) == 3  # blob, object, npy of row 2
    assert report.deleted == 0 and len(objects(stores_conn)) == 6
    report = collect(stores_conn, "main", [schema.database], dry_run=False, min_age=0)
    assert report.deleted == 3 and len(objects(stores_conn)) == 3
    row = (recording & {"rec_id": 1}).fetch1()
    assert row["obj"].read() == b"keep" and np.array_equal(row["arr"].load(), np.ones(3))
    assert collect(stores_conn, "main", [schema.database], min_age=0).orphans == []


def test_gc_keeps_recent_objects_and_reads_the_store_from_the_json(lab, stores_conn):
    """Objects younger than min_age are kept (a transaction may still be running); a value
    whose JSON names the store counts for it whichever store its column resolves to now."""
    schema, recording, _ = lab
    recording.insert1(dict(rec_id=1, obj=b"young"))
    (recording & {"rec_id": 1}).delete_quick()
    report = collect(stores_conn, "main", [schema.database], dry_run=False)
    assert report.recent == 1 and report.orphans == [] and report.deleted == 0
    recording.insert1(dict(rec_id=2, obj=b"kept"))
    stored = json.loads(recording.to_dicts(decode=False)[0]["obj"])
    assert stored["store"] == "main"
    stores_conn.stores.default = "other"  # the default moves to another store
    try:
        report = collect(stores_conn, "main", [schema.database], dry_run=True, min_age=0)
    finally:
        stores_conn.stores.default = "main"
    assert stored["path"] not in {path for path, _ in report.orphans}
    assert len(report.orphans) == 1 and report.recent == 0


def test_gc_leaves_other_databases_alone(lab, stores_conn):
    schema, _recording, _ = lab
    stores_conn.stores.backend("main").put("_hash/another_db/aaaaaaaaaaaaaaaaaaaaaaaaaa", b"x")
    report = collect(stores_conn, "main", [schema.database], dry_run=False, min_age=0)
    assert report.outside == 1 and report.deleted == 0
    assert "_hash/another_db/aaaaaaaaaaaaaaaaaaaaaaaaaa" in objects(stores_conn)


def test_corrupt_object_is_reported(lab, stores_conn):
    _schema, recording, _ = lab
    recording.insert1(dict(rec_id=1, signal=np.arange(3.0)))
    path = json.loads(recording.to_dicts(decode=False)[0]["signal"])["path"]
    stores_conn.stores.backend("main").put(path, b"tampered")
    with pytest.raises(StoreError, match="Hash mismatch"):
        recording.fetch1("signal")


def test_a_commit_with_unknown_outcome_keeps_the_objects(lab, stores_conn, dj_params):
    """The connection breaks during COMMIT: the rows may be committed, so a later rollback
    must not delete their objects (gc collects them if the rows are not there)."""
    from tests.conftest import connect_pipeline_server

    _schema, recording, _ = lab
    stores_conn.start_transaction()
    recording.insert1(dict(rec_id=1, obj=b"maybe committed", signal=np.arange(5.0)))
    uploaded = objects(stores_conn)
    assert len(uploaded) == 2
    own_id = stores_conn.query("SELECT CONNECTION_ID()").fetchone()[0]
    killer = connect_pipeline_server(dj_params)
    try:
        killer.cursor().execute("KILL CONNECTION %s", [own_id])
    finally:
        killer.close()
    with pytest.raises(dm.LostConnectionError):
        stores_conn.commit()
    stores_conn.rollback()  # what a caller's error handling does next
    assert objects(stores_conn) == uploaded
    assert len(recording) == 0  # the server rolled the killed transaction back


def test_foreign_json_is_a_store_error_naming_the_attribute(lab, stores_conn):
    _schema, recording, _ = lab
    recording.insert1(dict(rec_id=1, signal=np.arange(3.0), obj=b"x"))
    try:
        for column, value in (
            ("signal", '{"store": "main", "path": "_hash/x"}'),
            ("obj", '{"store": "main"}'),
            ("obj", '["main"]'),
        ):
            stores_conn.query(f"UPDATE {recording.full_table_name} SET `{column}` = %s", [value])
            with pytest.raises(StoreError, match=f"attribute `{column}` .*not store metadata"):
                recording.fetch1(column)
    finally:  # `pipeline gc` over every schema would refuse to run past such values
        recording.delete_quick()


def test_errors_name_table_attribute_and_reason(lab, stores_conn, dj_params, tmp_path):
    _schema, recording, _ = lab
    for sneaky in ("_hash/x", "./_hash/x", "_hash//x", "_schema\\db\\x"):
        with pytest.raises(StoreError, match=r"`fp` .*reserved section '_(hash|schema)'"):
            recording.insert1(dict(rec_id=1, fp=sneaky))
    for outside in ("raw/../_hash/x", "/_hash/x", "/etc/passwd", "\\raw\\x", "raw/\0x"):
        with pytest.raises(StoreError, match=r"`fp` .*invalid path in a store"):
            recording.insert1(dict(rec_id=1, fp=outside))
    with pytest.raises(StoreError, match=r"`fp` .*file not found in store 'main': raw/none"):
        recording.insert1(dict(rec_id=1, fp="raw/none"))
    with pytest.raises(
        dm.InvalidValueError, match=r"recording`: invalid value for attribute `raw`.*bytes"
    ):
        recording.insert1(dict(rec_id=1, raw="text"))
    with pytest.raises(StoreError, match=r"`stored_file` .*attachment file not found"):
        recording.insert1(dict(rec_id=1, stored_file=str(tmp_path / "none")))
    assert len(recording) == 0
    bare = dm.connect(
        dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
    )
    try:
        table = dm.FreeTable(bare, recording.full_table_name)
        with pytest.raises(
            StoreError, match=r"`signal` .*Storage 'main' is requested but not configured"
        ):
            table.insert1(dict(rec_id=1, signal=np.ones(2)))
        recording.insert1(dict(rec_id=1, signal=np.ones(2)))
        with pytest.raises(StoreError, match=r"recording`: attribute `signal`.*not configured"):
            table.fetch1()
    finally:
        bare.close()


# --- generated values -----------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

file_names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\0"),
    min_size=1,
    max_size=40,
).filter(lambda n: n not in (".", ".."))
npy_arrays = hnp.arrays(
    st.sampled_from(
        [
            "bool",
            "int8",
            "uint16",
            "int64",
            "float32",
            "float64",
            "complex128",
            "<U3",
            "S2",
            "M8[s]",
        ]
    ),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)
blob_values = st.recursive(
    st.one_of(
        st.none(),
        st.integers(-(2**60), 2**60),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.binary(max_size=8),
        hnp.arrays("float64", hnp.array_shapes(max_dims=2, max_side=30)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=True)
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return a == b


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_generated_values_round_trip(lab, data):
    """Random blobs, attachments (any file name), raw bytes and npy arrays come back equal."""
    _schema, recording, _ = lab
    value = data.draw(blob_values)
    name, contents = data.draw(file_names), data.draw(st.binary(max_size=300))
    raw, array = data.draw(st.binary(max_size=300)), data.draw(npy_arrays)
    recording.insert1(
        dict(
            rec_id=1,
            signal=value,
            stored_file=Attachment(name, contents),
            inline_file=Attachment(name, contents),
            raw=raw,
            arr=array,
        )
    )
    try:
        row = recording.proj("signal", "raw", "arr").fetch1()
        assert _same(row["signal"], value) or (value is None and row["signal"] is None)
        lazy = recording.fetch1("stored_file", "inline_file", lazy=True)
        assert lazy == (Attachment(name, contents), Attachment(name, contents))
        with tempfile.TemporaryDirectory() as folder:
            saved = recording.fetch1("stored_file", "inline_file", download_path=folder)
            assert saved == (str(Path(folder) / name),) * 2
            assert os.listdir(folder) == [name]
            assert Path(saved[0]).read_bytes() == contents
        assert row["raw"] == raw
        loaded = row["arr"].load()
        assert loaded.dtype == array.dtype and loaded.shape == array.shape
        assert np.array_equal(loaded, array, equal_nan=array.dtype.kind in "fcmM")
    finally:
        recording.delete_quick()


def test_failing_make_leaves_no_objects(stores_conn, new_db):
    """make() runs in a transaction: when it fails after inserting stored values, its
    objects go with its rows (spec §6.5)."""
    schema = dm.Schema(new_db("mk"), connection=stores_conn)

    @schema
    class Source(dm.Lookup):
        definition = """
        n: int32
        """
        contents = [(1,), (2,), (3,)]

    @schema
    class Result(dm.Computed):
        definition = """
        -> Source
        ---
        trace: <blob@main>
        """

        def make(self, key):
            self.insert1(dict(key, trace=np.full(100, key["n"], dtype=float)))
            if key["n"] == 2:
                raise ValueError("make failed after its insert")

    Result.populate(suppress_errors=True)
    assert sorted(Result.fetch("n")) == [1, 3]
    assert len(objects(stores_conn)) == 2
