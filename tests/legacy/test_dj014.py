"""LabBook reads a database written by the real DataJoint 0.14 (spec §11, §14).

The fixture ``dj014.sql`` was made by ``make_dj014_dump.py`` running datajoint 0.14.6 in
a separate virtual environment; ``dj014_expected.json`` records what 0.14 itself reported
for every table (heading, keys, foreign keys, fetched values). Each test loads nothing
of its own: the session fixture ``legacy014_db`` (``conftest.py``) loads the dump once
into ``<pipeline_prefix>legacy014`` and the tests compare LabBook's introspection
(``catalog_of(conn)``) and fetched values (``FreeTable(...).to_dicts()``) with 0.14's
report. Nothing here is hard-coded that 0.14 did not produce, except LabBook's own
conventions, stated where used:

* a legacy codec marker ``:blob@s:``/``:attach:``/``:attach@s:``/``:filepath@s:`` has
  ``Attribute.type`` spelled as the 2.x codec (``<blob@s>``, ``<attach>``, ...), with
  ``codec`` and ``store`` set; every other attribute has 0.14's ``type`` (SQL type with
  integer display widths stripped, ``uuid`` for ``:uuid:``);
* ``Attribute.is_blob`` means "the column itself holds a DataJoint blob": 0.14's
  ``is_blob`` for in-table columns; external blobs are codec ``blob`` with a store;
* an attachment is fetched as 0.14 (and 2.x) fetch it: the file is saved into the working
  directory (each test's ``tmp_path``) and its path returned; the tests compare file name
  and contents.

Values that need the stores (external blobs and attachments, filepaths) are a later
issue: for those columns only the heading is checked, and their values are not compared.
``timestamp`` columns of the hidden tables are not compared either: the dump stores them
in UTC and the server shows them in its own time zone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.stores import Attachment, ObjectRef, StoreError

from .make_dj014_dump import column_value

pytestmark = pytest.mark.integration

EXPECTED = json.loads((Path(__file__).resolve().parent / "dj014_expected.json").read_text())
VISIBLE = sorted(EXPECTED["tables"])
HIDDEN = sorted(EXPECTED["hidden_tables"])
ALL = VISIBLE + HIDDEN


def expected_table(name: str) -> dict:
    return EXPECTED["tables"].get(name) or EXPECTED["hidden_tables"][name]


def expected_codec(attr: dict) -> str | None:
    """The LabBook codec name of a 0.14 attribute, from 0.14's own flags."""
    if attr["is_filepath"]:
        return "filepath"
    if attr["is_attachment"]:
        return "attach"
    if attr["is_blob"] and attr["is_external"]:
        return "blob"
    return None


def expected_type(attr: dict) -> str:
    return f"<{attr['type']}>" if expected_codec(attr) else attr["type"]


def substitute(obj, old: str, new: str):
    """Replace the database placeholder in every string of a JSON value."""
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, list):
        return [substitute(v, old, new) for v in obj]
    if isinstance(obj, dict):
        return {k: substitute(v, old, new) for k, v in obj.items()}
    return obj


def in_table_value(value, attr: dict):
    """JSON form of a value LabBook fetched, in the form the expectations use."""
    if attr["is_attachment"]:
        if isinstance(value, Attachment):
            return {"__attach__": value.name, "hex": value.contents.hex()}
        if isinstance(value, (bytes, bytearray, memoryview)):
            name, sep, contents = bytes(value).partition(b"\0")
            assert sep, f"in-table attachment without a file name: {bytes(value)[:40]!r}"
        else:  # a downloaded file's path, as 0.14 returns
            path = Path(value)
            name, contents = path.name.encode(), path.read_bytes()
        return {"__attach__": name.decode(), "hex": contents.hex()}
    return column_value(value, attr["is_blob"])


def stored_elsewhere(attr: dict) -> bool:
    return attr["is_external"] or attr["is_filepath"]


@pytest.fixture(scope="module")
def db(legacy014_db) -> str:
    return legacy014_db


@pytest.fixture(scope="module")
def stores_conn(tmp_path_factory, dj_params, db):
    """A connection whose stores hold the fixture's external objects where 0.14 put them:
    ``extstore`` objects under ``{location}/{database}/`` (spec §11), ``fpstore`` files under
    ``{location}/``."""
    root = tmp_path_factory.mktemp("stores014")
    shutil.copytree(Path(__file__).resolve().parent / "stores" / "extstore", root / "extstore" / db)
    shutil.copytree(Path(__file__).resolve().parent / "stores" / "fpstore", root / "fpstore")
    conn = dm.connect(
        dj_params["host"],
        dj_params["user"],
        dj_params["password"],
        port=int(dj_params["port"]),
        stores={
            "extstore": {"protocol": "file", "location": str(root / "extstore")},
            "fpstore": {"protocol": "file", "location": str(root / "fpstore")},
        },
    )
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def catalog(dm_conn, db):
    catalog = catalog_of(dm_conn)
    catalog.invalidate(db)
    return catalog


@pytest.fixture(scope="module")
def infos(catalog, db) -> dict:
    """TableInfo of every table of the fixture, hidden ones included, by raw name."""
    infos = {t.table_name: t for t in catalog.tables(db)}
    for name in catalog.hidden_tables(db):
        infos[name] = catalog.table(db, name)
    return infos


# ------------------------------------------------------------------------------------------
# tables, tiers, hidden tables
# ------------------------------------------------------------------------------------------


def test_fixture_comes_from_datajoint_014():
    assert EXPECTED["datajoint_version"].startswith("0.14.")
    assert {"~jobs", "~log", "~external_extstore", "~external_fpstore"} <= set(HIDDEN)
    assert sorted(VISIBLE + HIDDEN) == EXPECTED["all_tables"]


def test_visible_tables_are_the_014_tables(catalog, db):
    assert [t.table_name for t in catalog.tables(db)] == VISIBLE


def test_hidden_tables_listed_and_not_visible(catalog, db):
    hidden = catalog.hidden_tables(db)
    assert sorted(hidden) == HIDDEN
    visible = {t.table_name for t in catalog.tables(db)}
    assert not visible & set(hidden)


@pytest.mark.parametrize("name", VISIBLE)
def test_legacy_flag(infos, name):
    assert infos[name].legacy is True


@pytest.mark.parametrize("name", VISIBLE)
def test_tier_master_class_name(infos, db, name):
    exp, info = EXPECTED["tables"][name], infos[name]
    assert (info.tier, info.master, info.class_name) == (
        exp["tier"],
        exp["master"],
        exp["class_name"],
    )
    if exp["master"]:
        assert infos[exp["master"]].tier == EXPECTED["tables"][exp["master"]]["tier"]


@pytest.mark.parametrize("name", ALL)
def test_table_comment(infos, db, name):
    exp = expected_table(name)
    assert infos[name].comment == substitute(exp["comment"], EXPECTED["database_placeholder"], db)


# ------------------------------------------------------------------------------------------
# headings
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_primary_key_and_attribute_order(infos, name):
    exp, heading = expected_table(name), infos[name].heading
    assert heading.names == exp["attribute_names"]
    assert heading.primary_key == exp["primary_key"]


@pytest.mark.parametrize("name", ALL)
def test_attribute_types(infos, name):
    """type / sql_type / in_key / nullable / comment / autoincrement of every attribute."""
    exp, heading = expected_table(name), infos[name].heading
    for attr_name, exp_attr in exp["attributes"].items():
        attr = heading[attr_name]
        got = dict(
            type=attr.type,
            sql_type=attr.sql_type,
            in_key=attr.in_key,
            nullable=attr.nullable,
            comment=attr.comment,
            autoincrement=attr.autoincrement,
        )
        want = dict(
            type=expected_type(exp_attr),
            sql_type=exp_attr["server_type"],
            in_key=exp_attr["in_key"],
            nullable=exp_attr["nullable"],
            comment=exp_attr["comment"],
            autoincrement=exp_attr["autoincrement"],
        )
        assert got == want, f"{name}.{attr_name}"


@pytest.mark.parametrize("name", ALL)
def test_blob_codec_store_flags(infos, name):
    """Unmarked blobs are DataJoint blobs; ``:attach:`` is codec attach; external
    ``binary(16)`` references are codecs blob/attach/filepath with their store."""
    exp, heading = expected_table(name), infos[name].heading
    for attr_name, exp_attr in exp["attributes"].items():
        attr = heading[attr_name]
        got = dict(is_blob=attr.is_blob, codec=attr.codec, store=attr.store, uuid=attr.is_uuid)
        want = dict(
            is_blob=exp_attr["is_blob"] and not exp_attr["is_external"],
            codec=expected_codec(exp_attr),
            store=exp_attr["store"],
            uuid=exp_attr["uuid"],
        )
        assert got == want, f"{name}.{attr_name}"
        if want["codec"] or want["is_blob"]:
            assert attr_name in heading.blobs, f"{name}.{attr_name}"


@pytest.mark.parametrize("name", VISIBLE)
def test_defaults(infos, name):
    """Defaults as DataJoint shows them (0.14 quotes string defaults, says ``null``)."""
    exp, heading = EXPECTED["tables"][name], infos[name].heading
    for attr_name, exp_attr in exp["attributes"].items():
        assert heading[attr_name].default_text() == exp_attr["default"], f"{name}.{attr_name}"


def test_fixture_covers_the_legacy_markers():
    """The fixture holds every kind of column the legacy tests are about."""
    attrs = [a for t in EXPECTED["tables"].values() for a in t["attributes"].values()]
    kinds = {(expected_codec(a), a["store"]) for a in attrs}
    assert {
        ("attach", None),
        ("blob", "extstore"),
        ("attach", "extstore"),
        ("filepath", "fpstore"),
    } <= kinds
    assert any(
        a["is_blob"] and not a["is_external"] and a["server_type"] == "longblob" for a in attrs
    )
    assert any(a["uuid"] for a in attrs)
    assert any("unsigned" in a["server_type"] for a in attrs)


# ------------------------------------------------------------------------------------------
# foreign keys
# ------------------------------------------------------------------------------------------


def _fk_summary(parent: str, attr_map, primary: bool):
    return (parent, tuple(sorted(dict(attr_map).items())), primary)


@pytest.mark.parametrize("name", ALL)
def test_foreign_keys(infos, db, name):
    """Parents and attribute maps as 0.14 reports them (renamed FKs included); references
    to ``~external_*`` tables are not dependencies."""
    exp, info = expected_table(name), infos[name]
    want = sorted(
        _fk_summary(fk["parent"], fk["attr_map"], fk["primary"])
        for fk in exp.get("foreign_keys", [])
    )
    got = []
    for fk in info.foreign_keys:
        assert fk.parent.database == db
        got.append(_fk_summary(fk.parent.table, fk.attr_map, fk.primary))
    assert sorted(got) == want


@pytest.mark.parametrize("name", VISIBLE)
def test_foreign_key_nullable_and_aliased(infos, name):
    exp, info = EXPECTED["tables"][name], infos[name]
    for fk in info.foreign_keys:
        assert fk.nullable == any(exp["attributes"][c]["nullable"] for c in fk.columns), fk
        assert fk.aliased == any(c != p for c, p in fk.attr_map), fk


def test_fixture_has_renamed_and_nullable_foreign_keys():
    fks = [(t, fk) for t in EXPECTED["tables"].values() for fk in t["foreign_keys"]]
    assert any(any(c != p for c, p in fk["attr_map"].items()) for _, fk in fks)
    assert any(any(t["attributes"][c]["nullable"] for c in fk["attr_map"]) for t, fk in fks)


@pytest.mark.parametrize("name", VISIBLE)
def test_foreign_key_column_types_come_from_parents(infos, name):
    """An FK column's declared type is its parent column's (renamed FKs included)."""
    exp = EXPECTED["tables"][name]
    for fk in exp["foreign_keys"]:
        parent_exp = EXPECTED["tables"][fk["parent"]]
        for child, parent in fk["attr_map"].items():
            child_attr = infos[name].heading[child]
            parent_attr = infos[fk["parent"]].heading[parent]
            assert (
                child_attr.type
                == parent_attr.type
                == expected_type(parent_exp["attributes"][parent])
                == expected_type(exp["attributes"][child])
            ), f"{name}.{child} -> {fk['parent']}.{parent}"
            assert child_attr.is_uuid == parent_exp["attributes"][parent]["uuid"]


# ------------------------------------------------------------------------------------------
# values
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VISIBLE)
def test_values_equal_what_014_fetched(stores_conn, db, name, tmp_path, monkeypatch):
    """``FreeTable.to_dicts()`` decodes unmarked blobs, ``:uuid:`` columns, in-table
    attachments (saved into ".", their paths returned) and native types to what 0.14
    fetched (stored values: next test)."""
    monkeypatch.chdir(tmp_path)
    exp = EXPECTED["tables"][name]
    rows = dm.FreeTable(stores_conn, f"`{db}`.`{name}`").to_dicts(order_by="KEY")
    got = [
        {
            k: in_table_value(v, exp["attributes"][k])
            for k, v in row.items()
            if not stored_elsewhere(exp["attributes"][k])
        }
        for row in rows
    ]
    assert got == exp["rows"]


EXTERNAL = [
    (name, i) for name, t in EXPECTED["tables"].items() for i in range(len(t["external_values"]))
]


def test_fixture_has_external_values():
    kinds = {
        k for _, t in EXPECTED["tables"].items() for e in t["external_values"] for k in e["values"]
    }
    assert len(EXTERNAL) >= 3 and {"ext", "att_ext", "fp"} <= kinds


@pytest.mark.parametrize("name,index", EXTERNAL)
def test_external_values_equal_what_014_fetched(
    stores_conn, db, name, index, tmp_path, monkeypatch
):
    """External blobs, external attachments and filepaths are read through
    ``~external_<store>`` from the 0.14 layout (spec §11), equal to what 0.14 fetched."""
    entry = EXPECTED["tables"][name]["external_values"][index]
    attrs = EXPECTED["tables"][name]["attributes"]
    table = dm.FreeTable(stores_conn, f"`{db}`.`{name}`") & entry["key"]
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    row = table.fetch1()
    lazy = table.fetch1(lazy=True)
    raw = table.to_dicts(decode=False)[0]
    for column, want in entry["values"].items():
        assert bytes(raw[column]).hex() == want["hash_hex"]
        value = row[column]
        if attrs[column]["is_attachment"]:
            assert value == want["file_name"]  # saved into "." (spec §5.5)
            assert Path(value).read_bytes().hex() == want["hex"]
            assert isinstance(lazy[column], Attachment)
            assert (lazy[column].name, lazy[column].contents.hex()) == (
                want["file_name"],
                want["hex"],
            )
        elif attrs[column]["is_filepath"]:
            assert isinstance(value, ObjectRef)
            assert (Path(value.path).name, value.read().hex()) == (want["file_name"], want["hex"])
        else:
            assert column_value(value, True) == want["value"]
    # download_path: attachments and files saved there, their paths returned
    saved = table.fetch1(download_path=tmp_path)
    for column, want in entry["values"].items():
        if "file_name" in want:
            assert Path(saved[column]).parent == tmp_path
            assert Path(saved[column]).read_bytes().hex() == want["hex"]


def test_external_value_errors_name_the_attribute(stores_conn, dm_conn, db, tmp_path, monkeypatch):
    """No store configured, or a missing object: a StoreError naming table and attribute."""
    monkeypatch.chdir(tmp_path)  # the row's in-table attachment is saved into "."
    key = EXPECTED["tables"]["session"]["external_values"][0]["key"]
    with pytest.raises(StoreError, match=r"session`: attribute `ext` .*not configured"):
        (dm.FreeTable(dm_conn, f"`{db}`.`session`") & key).fetch1()
    location = Path(stores_conn.stores.spec("extstore").location)
    victim = next(p for p in (location / db).rglob("*") if p.is_file() and "." not in p.name)
    moved = tmp_path / "moved"
    shutil.move(victim, moved)
    try:
        rows = dm.FreeTable(stores_conn, f"`{db}`.`session`").proj("ext")
        with pytest.raises(StoreError, match=r"attribute `ext` .*missing object"):
            rows.to_dicts()
    finally:
        shutil.move(moved, victim)


@pytest.mark.parametrize("name", HIDDEN)
def test_hidden_table_values(dm_conn, db, name):
    """The ``~jobs`` error row (key and stack are blobs), ``~log`` events and the
    ``~external_*`` tracking rows (uuid hashes) read as 0.14 fetched them."""
    exp = substitute(EXPECTED["hidden_tables"][name], EXPECTED["database_placeholder"], db)
    skip = {a for a, e in exp["attributes"].items() if e["server_type"].startswith("timestamp")}
    rows = dm.FreeTable(dm_conn, f"`{db}`.`{name}`").to_dicts(order_by="KEY")
    got = [
        {k: in_table_value(v, exp["attributes"][k]) for k, v in row.items() if k not in skip}
        for row in rows
    ]
    assert got == [{k: v for k, v in row.items() if k not in skip} for row in exp["rows"]]


def test_jobs_table_holds_the_failed_key():
    """The fixture's ``~jobs`` has the error row of the deliberately failing make()."""
    rows = EXPECTED["hidden_tables"]["~jobs"]["rows"]
    assert [r["status"] for r in rows] == ["error"]
    assert rows[0]["table_name"] == "__summary"
    assert rows[0]["key"]["__dict__"]
