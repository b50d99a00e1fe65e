"""A file store stays inside its location (issue #11, item 5): real files and symbolic
links in ``tmp_path``, the file backend alone (no database).

Every read, listing, size, existence test, write and delete goes through
:meth:`FileBackend.resolve`: absolute paths, ``..`` segments, NUL characters, links to a
file or a folder outside the location (at any level) and loops of links are refused with
:class:`StorePathError` naming the store and the path; links that stay inside are followed.
The outside file's contents never come back.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from pipeline_core.datamodel.stores import NpyRef, ObjectRef, StoreError, StorePathError
from pipeline_core.datamodel.stores.config import StoreConfig

SECRET = b"TOP-SECRET outside the store\n"


@pytest.fixture
def layout(tmp_path):
    """``store/`` (the location) and ``outside/secret.txt`` next to it, with:
    ``raw/real.txt``, ``raw/alias`` (link inside), ``raw/out`` (link to the secret),
    ``raw/outdir`` (link to the outside folder), ``raw/inside_dir`` (link to ``raw/sub``),
    ``hop`` (link to ``raw``, so ``hop/out`` leads out in two steps), ``loop1``/``loop2``
    (a loop), ``raw/abs_out`` (absolute link to the secret), ``raw/dangling_out`` (link to
    a missing file outside)."""
    store, outside = tmp_path / "store", tmp_path / "outside"
    (store / "raw" / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (store / "raw" / "real.txt").write_bytes(b"inside")
    (store / "raw" / "sub" / "deep.txt").write_bytes(b"deep")
    (store / "raw" / "alias").symlink_to("real.txt")
    (store / "raw" / "out").symlink_to("../../outside/secret.txt")
    (store / "raw" / "abs_out").symlink_to(outside / "secret.txt")
    (store / "raw" / "outdir").symlink_to(outside)
    (store / "raw" / "inside_dir").symlink_to("sub")
    (store / "raw" / "dangling_out").symlink_to(outside / "nothing-yet")
    (store / "hop").symlink_to("raw")
    (store / "loop1").symlink_to("loop2")
    (store / "loop2").symlink_to("loop1")
    backend = StoreConfig({"main": {"protocol": "file", "location": str(store)}}).backend("main")
    return backend, store, outside


READS = {
    "get": lambda b, p: b.get(p),
    "open": lambda b, p: b.open(p).read(),
    "get_file": lambda b, p: b.get_file(p, os.devnull),
    "size": lambda b, p: b.size(p),
    "exists": lambda b, p: b.exists(p),
    "is_dir": lambda b, p: b.is_dir(p),
    "listdir": lambda b, p: b.listdir(p),
    "resolve": lambda b, p: b.resolve(p),
    "full_path": lambda b, p: b.full_path(p),
}

LEAVING = [
    "../outside/secret.txt",
    "raw/../../outside/secret.txt",
    "raw/../real.txt",  # inside after all, but '..' is refused, never normalised
    "/etc/passwd",
    "\\etc\\passwd",
    "raw\\..\\..\\outside\\secret.txt",
    "raw/real.txt\0.png",
    "",
    ".",
    "raw/out",
    "raw/abs_out",
    "raw/outdir/secret.txt",
    "raw/outdir",
    "hop/out",
    "hop/outdir/secret.txt",
    "loop1",
    "loop1/x",
    "raw/" + "x" * 300,
]


@pytest.mark.parametrize("path", LEAVING)
@pytest.mark.parametrize("operation", READS)
def test_paths_leaving_the_store_are_refused(layout, operation, path):
    backend, _store, _outside = layout
    if operation == "listdir" and path == "":
        return  # the location itself
    with pytest.raises(StorePathError, match=r"store main: ") as caught:
        READS[operation](backend, path)
    assert SECRET.decode() not in str(caught.value)


def test_refusals_name_the_reason(layout):
    backend, _store, _outside = layout
    reasons = {
        "../x": "'..' segment",
        "/etc/passwd": "absolute path",
        "a\0b": "NUL",
        "": "empty",
        "raw/out": "leads outside the store's location",
        "raw/outdir/secret.txt": "leads outside the store's location",
        "loop1": "loop of symbolic links",
        "raw/" + "x" * 300: "too long",
    }
    for path, reason in reasons.items():
        with pytest.raises(StorePathError, match=reason):
            backend.get(path)


def test_links_that_stay_inside_are_followed(layout):
    backend, _store, _outside = layout
    assert backend.get("raw/alias") == b"inside"
    assert backend.size("raw/alias") == 6
    assert backend.get("raw/inside_dir/deep.txt") == b"deep"
    assert backend.listdir("raw/inside_dir") == ["deep.txt"]
    assert backend.exists("hop/real.txt") and backend.is_dir("hop/sub")
    assert backend.get("./raw//real.txt") == b"inside"  # '.' and '//' name the same file


def test_missing_objects_stay_a_plain_store_error(layout):
    backend, _store, _outside = layout
    with pytest.raises(StoreError, match="missing object raw/none") as caught:
        backend.get("raw/none")
    assert not isinstance(caught.value, StorePathError)
    assert backend.exists("raw/none") is False and backend.is_dir("raw/none") is False


def test_folders_and_fifos_are_not_read_as_files(layout):
    backend, store, _outside = layout
    os.mkfifo(store / "raw" / "fifo")
    for path in ("raw/sub", "raw/fifo"):
        with pytest.raises(StorePathError, match="not a regular file"):
            backend.get(path)  # a FIFO must not block the reader


def test_walk_leaves_out_links_leading_outside(layout):
    backend, _store, _outside = layout
    listed = dict(backend.walk("raw"))
    assert listed == {
        "raw/real.txt": 6,
        "raw/alias": 6,
        "raw/sub/deep.txt": 4,
    }  # no raw/out, raw/abs_out, raw/dangling_out; linked folders not descended
    # a prefix that is a link inside the store is resolved; the files keep its name
    assert dict(backend.walk("hop")) == {"hop/real.txt": 6, "hop/alias": 6, "hop/sub/deep.txt": 4}
    assert list(backend.walk("nothing")) == []
    with pytest.raises(StorePathError):
        list(backend.walk("raw/outdir"))
    with pytest.raises(StorePathError):
        list(backend.walk("../outside"))


def test_whole_store_walk_never_reaches_outside(layout):
    backend, _store, _outside = layout
    paths = [p for p, _size, _mtime in backend.walk_stat("")]
    assert "raw/real.txt" in paths and not any("secret" in p for p in paths)


def test_writes_never_follow_a_link_out(layout):
    backend, store, outside = layout
    before = sorted(p.name for p in outside.iterdir())
    for path in ("raw/outdir/new.bin", "hop/outdir/new.bin", "raw/dangling_out", "../x", "/x"):
        with pytest.raises(StorePathError):
            backend.put(path, b"written")
    (store / "_schema").symlink_to(outside)  # a section of the store linked elsewhere
    with pytest.raises(StorePathError):
        backend.put("_schema/db/tbl/obj", b"written")
    with pytest.raises(StorePathError):
        backend.put_folder(store / "raw" / "sub", "_schema/db/tbl/folder")
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "secret.txt").read_bytes() == SECRET
    backend.put("hop/sub/new.bin", b"fine")  # through a link that stays inside
    assert (store / "raw" / "sub" / "new.bin").read_bytes() == b"fine"


def test_delete_removes_links_not_their_targets(layout):
    backend, store, outside = layout
    assert backend.delete("raw/out") is True
    assert not (store / "raw" / "out").is_symlink()
    assert (outside / "secret.txt").read_bytes() == SECRET
    with pytest.raises(StorePathError):
        backend.delete("raw/outdir/secret.txt")
    (store / "_schema" / "folder").mkdir(parents=True)
    (store / "_schema" / "folder" / "escape").symlink_to(outside)
    assert backend.delete("_schema/folder") is True
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert backend.delete("raw/none") is False


def test_a_location_that_is_itself_a_link_works(tmp_path):
    real = tmp_path / "real_store"
    (real / "raw").mkdir(parents=True)
    (real / "raw" / "f.txt").write_bytes(b"ok")
    (tmp_path / "store").symlink_to(real)
    config = StoreConfig({"main": {"protocol": "file", "location": str(tmp_path / "store")}})
    backend = config.backend("main")
    assert backend.get("raw/f.txt") == b"ok"
    backend.put("raw/g.txt", b"new")
    assert (real / "raw" / "g.txt").read_bytes() == b"new"
    assert dict(backend.walk("raw")) == {"raw/f.txt": 2, "raw/g.txt": 3}


def test_references_refuse_paths_out_of_the_store(layout, tmp_path):
    backend, store, _outside = layout
    folder = ObjectRef({"path": "raw", "store": "main", "is_dir": True}, backend)
    for sub in ("out", "outdir/secret.txt", "../../outside/secret.txt", "/etc/passwd", "a\0"):
        with pytest.raises(StorePathError):
            folder.read(sub)
    assert folder.read("alias") == b"inside"
    assert dict(folder.walk()) == {"real.txt": 6, "alias": 6, "sub/deep.txt": 4}
    copied = folder.download(tmp_path / "copy")
    files = {p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()}
    assert files == {"real.txt", "alias", "sub/deep.txt"}
    assert all(SECRET not in (copied / f).read_bytes() for f in files)
    tampered = ObjectRef({"path": "raw/out", "store": "main", "is_dir": False}, backend)
    with pytest.raises(StorePathError):
        tampered.download(tmp_path / "copy2")
    assert not (tmp_path / "copy2" / "out").exists()
    np.save(store / "raw" / "arr.npy", np.arange(3))
    (store / "raw" / "arr_out.npy").symlink_to(tmp_path / "outside" / "secret.txt")
    assert NpyRef({"path": "raw/arr.npy", "shape": [3], "dtype": "int64"}, backend).load(
        mmap_mode="r"
    ).tolist() == [0, 1, 2]
    for mmap_mode in (None, "r"):
        with pytest.raises(StorePathError):
            NpyRef({"path": "raw/arr_out.npy", "shape": [3], "dtype": "int64"}, backend).load(
                mmap_mode=mmap_mode
            )


def test_no_path_outside_is_ever_opened(layout, monkeypatch):
    """The refusals happen before anything outside is opened: ``os.open`` and ``open``
    never see the outside folder."""
    backend, _store, outside = layout
    opened = []
    real_open, real_os_open = open, os.open

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_os_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_os_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    for path in LEAVING:
        for operation in ("get", "open", "get_file"):
            with pytest.raises(StorePathError):
                READS[operation](backend, path)
    assert not [p for p in opened if str(outside) in p or p == "/etc/passwd"]
