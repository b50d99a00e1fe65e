"""LabBook and datajoint 2.3.5 on the same server: identical DDL and ~lineage for the same
definitions; each reads what the other wrote (spec §2, §3, §6.2, §7)."""

from __future__ import annotations

import datetime
import decimal
import re
import uuid

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of

from . import pipelines

pytestmark = pytest.mark.oracle


def _show_create(conn, database: str, table: str) -> str:
    text = conn.query(f"SHOW CREATE TABLE `{database}`.`{table}`").fetchone()[1]
    text = text.replace(f"`{database}`", "`DB`")
    return re.sub(r"CONSTRAINT `[^`]+` ", "CONSTRAINT ", text)


def _lineage(conn, database: str) -> set:
    rows = conn.query(f"SELECT table_name, attribute_name, lineage FROM `{database}`.`~lineage`")
    return {(t, a, lineage.replace(database + ".", "DB.")) for t, a, lineage in rows.fetchall()}


@pytest.fixture(scope="module")
def both(dm_conn, dj, dj_conn, pipeline_prefix):
    """The test pipeline declared by LabBook in one database and by datajoint in another,
    with the same rows inserted by each library, and Analysis populated by each."""
    ours_db, theirs_db = pipeline_prefix + "ora_lb", pipeline_prefix + "ora_dj"
    ours = pipelines.declare(dm, dm.Schema(ours_db, connection=dm_conn))
    theirs = pipelines.declare(dj, dj.Schema(theirs_db, connection=dj_conn))
    rows = _rows()
    for classes in (ours, theirs):
        classes["Subject"].insert(rows["subject"])
        classes["Session"].insert(rows["session"])
        classes["Session"].Trial.insert(rows["trial"])
        classes["SessionPair"].insert(rows["pair"])
        classes["Analysis"].populate(reserve_jobs=True)
    return dict(ours=ours, theirs=theirs, ours_db=ours_db, theirs_db=theirs_db)


def _rows() -> dict:
    subject = [
        dict(
            subject_id=i,
            subject_name=f'mouse "{i}"',
            species="mus musculus",
            sex="F" if i % 2 else "M",
            dob=datetime.date(2026, 1, i),
            weight=20.0 + i,
            alive=i % 2,
            uid=uuid.UUID(int=i),
            note={"k": [i, "x"]},
            score=decimal.Decimal("1.250") * i,
            code="ab",
            tiny=-i,
            big=2**40 + i,
            precise=1 / 3,
            stamp=datetime.datetime(2026, 2, 3, 4, 5, 6, 7000),
            photo=np.arange(6.0).reshape(2, 3) * i,
            raw=b"\x00\x01" * i,
        )
        for i in (1, 2, 3)
    ]
    session = [
        dict(
            subject_id=s,
            session_id=k,
            session_date=datetime.date(2026, 3, k),
            notes=f"s{s}k{k}",
            alt_species=None if k == 1 else "rattus norvegicus",
        )
        for s in (1, 2)
        for k in (1, 2)
    ]
    trial = [
        dict(subject_id=s, session_id=k, trial_id=t, start=t * 1.5)
        for s in (1, 2)
        for k in (1, 2)
        for t in (1, 2, 3)
    ]
    pair = [dict(first_subject=1, first_session=1, second_subject=2, second_session=2, reviewer=3)]
    return dict(subject=subject, session=session, trial=trial, pair=pair)


def _tables(conn, database):
    return sorted(t.table_name for t in catalog_of(conn).tables(database)) + sorted(
        catalog_of(conn).hidden_tables(database)
    )


def test_same_tables(both, dm_conn):
    assert _tables(dm_conn, both["ours_db"]) == _tables(dm_conn, both["theirs_db"])
    assert "~~analysis" in _tables(dm_conn, both["ours_db"])


@pytest.mark.parametrize(
    "table",
    [
        "#species",
        "subject",
        "session",
        "session__trial",
        "session_pair",
        "config",
        "__analysis",
        "__analysis__detail",
        "~~analysis",
        "~lineage",
    ],
)
def test_identical_show_create_table(both, dm_conn, table):
    ours = _show_create(dm_conn, both["ours_db"], table)
    theirs = _show_create(dm_conn, both["theirs_db"], table)
    assert ours == theirs


def test_identical_lineage(both, dm_conn):
    ours = _lineage(dm_conn, both["ours_db"])
    assert ours == _lineage(dm_conn, both["theirs_db"])
    assert ("session_pair", "reviewer", "DB.subject.subject_id") in ours


def _dj_heading(dj, dj_conn, database, table):
    return dj.FreeTable(dj_conn, f"`{database}`.`{table}`").heading


@pytest.mark.parametrize(
    "table",
    [
        "#species",
        "subject",
        "session",
        "session__trial",
        "session_pair",
        "config",
        "__analysis",
        "__analysis__detail",
    ],
)
def test_introspection_matches_datajoint_heading(both, dm_conn, dj, dj_conn, table):
    """Our heading of datajoint's tables equals datajoint's own: names, key membership,
    declared types, nullability, defaults as shown, comments, lineage. For foreign-key
    columns (no marker) datajoint reports the SQL type; we resolve the origin's declared
    type, checked against the parent's heading."""
    database = both["theirs_db"]
    info = catalog_of(dm_conn).table(database, table)
    ours, theirs = info.heading, _dj_heading(dj, dj_conn, database, table)
    assert ours.names == list(theirs.names)
    assert ours.primary_key == list(theirs.primary_key)
    fk_origin = {c: (fk.parent, p) for fk in info.foreign_keys for c, p in fk.attr_map}
    for attr in ours:
        ref = theirs[attr.name]
        assert (attr.nullable, attr.comment, attr.default_text(), attr.lineage) == (
            ref.nullable,
            ref.comment,
            ref.default,
            ref.lineage,
        ), attr.name
        if ref.original_type or ref.codec:
            assert attr.type == (ref.original_type or f"<{ref.codec.name}>"), attr.name
        elif attr.name in fk_origin:
            parent, column = fk_origin[attr.name]
            assert attr.type == catalog_of(dm_conn).get(parent).heading[column].type
        else:
            assert attr.type == ref.type, attr.name


def test_foreign_keys_of_datajoint_tables(both, dm_conn, dj, dj_conn):
    database = both["theirs_db"]
    ours = catalog_of(dm_conn).table(database, "session_pair").foreign_keys
    theirs = dj.FreeTable(dj_conn, f"`{database}`.`session_pair`").parents(
        as_objects=False, foreign_key_info=True
    )
    assert {(str(fk.parent), dict(fk.attr_map).__repr__()) for fk in ours} == {
        (parent, dict(props["attr_map"]).__repr__()) for parent, props in theirs
    }
    pair = catalog_of(dm_conn).table(database, "session_pair")
    assert [fk.primary for fk in pair.foreign_keys] == [True, True, False]
    assert pair.foreign_keys[2].unique
    session = catalog_of(dm_conn).table(database, "session")
    assert session.foreign_keys[1].nullable and session.heading["alt_species"].type == "varchar(32)"
    assert session.heading["subject_id"].type == "int32"


def test_tiers_of_datajoint_tables(both, dm_conn):
    tiers = {
        t.table_name: (t.tier, t.master) for t in catalog_of(dm_conn).tables(both["theirs_db"])
    }
    assert tiers["#species"] == ("Lookup", None)
    assert tiers["subject"] == ("Manual", None)
    assert tiers["session__trial"] == ("Part", "session")
    assert tiers["__analysis"] == ("Computed", None)
    assert tiers["__analysis__detail"] == ("Part", "__analysis")


def _normal(value):
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, float):
        return round(value, 5)
    return value


@pytest.mark.parametrize(
    "table",
    [
        "subject",
        "session",
        "session__trial",
        "session_pair",
        "__analysis",
        "__analysis__detail",
        "#species",
    ],
)
def test_labbook_reads_datajoint_values(both, dm_conn, dj, dj_conn, table):
    database = both["theirs_db"]
    ours = dm.FreeTable(dm_conn, f"`{database}`.`{table}`").to_dicts(order_by="KEY")
    theirs = dj.FreeTable(dj_conn, f"`{database}`.`{table}`").to_dicts(order_by="KEY")
    assert ours and [{k: _normal(v) for k, v in r.items()} for r in ours] == [
        {k: _normal(v) for k, v in r.items()} for r in theirs
    ]


@pytest.mark.parametrize(
    "table",
    [
        "subject",
        "session",
        "session__trial",
        "session_pair",
        "__analysis",
        "__analysis__detail",
        "#species",
    ],
)
def test_datajoint_reads_labbook_values(both, dm_conn, dj, dj_conn, table):
    """datajoint reads what LabBook wrote (blobs, uuid, json, decimals included) exactly as
    it reads what datajoint itself wrote."""
    ours = dj.FreeTable(dj_conn, f"`{both['ours_db']}`.`{table}`").to_dicts(order_by="KEY")
    theirs = dj.FreeTable(dj_conn, f"`{both['theirs_db']}`.`{table}`").to_dicts(order_by="KEY")
    if table == "subject":  # created defaults to the insertion time on each side
        for row in ours + theirs:
            row.pop("created")
    assert ours and [{k: _normal(v) for k, v in r.items()} for r in ours] == [
        {k: _normal(v) for k, v in r.items()} for r in theirs
    ]


@pytest.mark.parametrize(
    "table",
    [
        "#species",
        "subject",
        "session",
        "session__trial",
        "session_pair",
        "config",
        "__analysis",
        "__analysis__detail",
    ],
)
def test_datajoint_sees_the_same_heading_in_labbook_tables(both, dj, dj_conn, table):
    """datajoint's heading of a LabBook-declared table equals its heading of the table it
    declared itself from the same definition (every Attribute property, lineage included)."""
    ours = _dj_heading(dj, dj_conn, both["ours_db"], table)
    theirs = _dj_heading(dj, dj_conn, both["theirs_db"], table)

    def props(heading, database):
        return [
            {
                k: (v.replace(database, "DB") if isinstance(v, str) else v)
                for k, v in attr._asdict().items()
                if k not in ("codec", "dtype")
            }
            | {"codec": getattr(attr.codec, "name", None)}
            for attr in heading.attributes.values()
        ]

    assert props(ours, both["ours_db"]) == props(theirs, both["theirs_db"])


@pytest.mark.parametrize(
    "name",
    [
        "Species",
        "Subject",
        "Session",
        "Session.Trial",
        "SessionPair",
        "Config",
        "Analysis",
        "Analysis.Detail",
    ],
)
def test_describe_equals_datajoint_describe(both, name):
    def cls(classes):
        head, _, part = name.partition(".")
        return getattr(classes[head], part) if part else classes[head]

    assert cls(both["ours"]).describe(context=both["ours"]) == cls(both["theirs"]).describe(
        context=both["theirs"]
    )


def test_describe_round_trip_declares_identical_tables(both, dm_conn, pipeline_prefix):
    """describe() of each table, declared again in a new database, gives the same DDL."""
    database = pipeline_prefix + "ora_rt"
    schema = dm.Schema(database, connection=dm_conn)
    context: dict = {}
    for name, tier, _, parts, _ in pipelines.SPEC:
        original = both["ours"][name]
        namespace = {"definition": original.describe(context=both["ours"])}
        for part_name, _ in parts:
            part = getattr(original, part_name)
            namespace[part_name] = type(
                part_name, (dm.Part,), {"definition": part.describe(context=both["ours"])}
            )
        context[name] = schema(type(name, (getattr(dm, tier),), namespace), context=context)
    for table in [
        "#species",
        "subject",
        "session",
        "session__trial",
        "session_pair",
        "config",
        "__analysis",
        "__analysis__detail",
    ]:
        assert _show_create(dm_conn, database, table) == _show_create(
            dm_conn, both["ours_db"], table
        )
