"""insert / insert1 validation and atomicity, restriction, fetch, keyset paging (spec §8, §9)."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.paging import page

pytestmark = pytest.mark.integration


@pytest.fixture
def lab(dm_conn, new_db):
    schema = dm.Schema(new_db("ins"), connection=dm_conn)

    @schema
    class Subject(dm.Manual):
        definition = """
        subject_id: int32
        ---
        name: varchar(16)
        dob=null: date
        kind='a': enum('a', 'b')
        """

    @schema
    class Session(dm.Manual):
        definition = """
        -> Subject
        session_id: int16
        ---
        data=null: <blob>
        """

        class Trial(dm.Part):
            definition = """
            -> master
            trial_id: int16
            """

    return Subject, Session


def test_insert_and_fetch_round_trip(lab):
    subject, session = lab
    subject.insert(
        [dict(subject_id=1, name="a", dob="2026-01-02"), dict(subject_id=2, name="b", dob=None)]
    )
    session.insert1(dict(subject_id=1, session_id=1, data=np.arange(6).reshape(2, 3)))
    assert subject.to_dicts(order_by="KEY") == [
        dict(subject_id=1, name="a", dob=datetime.date(2026, 1, 2), kind="a"),
        dict(subject_id=2, name="b", dob=None, kind="a"),
    ]
    data = (session & {"subject_id": 1}).fetch1("data")
    assert np.array_equal(data, np.arange(6).reshape(2, 3))
    assert (subject & [{"subject_id": 1}, {"subject_id": 2}]).fetch("name", order_by="KEY") == [
        "a",
        "b",
    ]
    assert len(subject - {"subject_id": 1}) == 1
    assert len(subject & {"no_such_attribute": 5}) == 2  # unknown keys are ignored (spec §9.1)
    joined = (session * subject).to_dicts()
    assert joined[0]["name"] == "a" and joined[0]["session_id"] == 1


@pytest.mark.parametrize(
    "row, error, attribute",
    [
        (dict(subject_id=1, name="x", dob="2026-13-40"), dm.InvalidValueError, "dob"),
        (dict(subject_id="one", name="x"), dm.InvalidValueError, "subject_id"),
        (dict(subject_id=1), dm.MissingAttributeError, "name"),
        (dict(subject_id=1, name="x", bogus=1), dm.UnknownAttributeError, "bogus"),
        (dict(subject_id=1, name="x", kind="z"), dm.InvalidValueError, "kind"),
        (dict(subject_id=1, name="x" * 40), dm.InvalidValueError, "name"),
    ],
)
def test_bad_rows_raise_naming_table_and_attribute(lab, row, error, attribute):
    subject, _ = lab
    with pytest.raises(error) as info:
        subject.insert1(row)
    assert info.value.attribute == attribute
    assert subject.full_table_name in str(info.value)
    assert len(subject()) == 0


def test_multi_row_insert_is_all_or_nothing(lab):
    subject, _ = lab
    rows = [dict(subject_id=i, name=f"s{i}") for i in range(1500)]
    rows[1200]["dob"] = "not a date"
    for row in rows:
        row.setdefault("dob", None)
    with pytest.raises(dm.InvalidValueError):
        subject.insert(rows, chunk_size=500)
    assert len(subject()) == 0
    rows[1200]["dob"] = None
    rows[1400]["kind"] = "z"  # rejected by the server in the third chunk
    for row in rows:
        row.setdefault("kind", "a")
    with pytest.raises(dm.InvalidValueError):
        subject.insert(rows, chunk_size=500)
    assert len(subject()) == 0


def test_duplicates_and_foreign_keys(lab):
    subject, session = lab
    subject.insert1(dict(subject_id=1, name="a"))
    with pytest.raises(dm.DuplicateError, match="skip_duplicates"):
        subject.insert1(dict(subject_id=1, name="b"))
    subject.insert1(dict(subject_id=1, name="b"), skip_duplicates=True)
    assert subject.fetch1("name") == "a"
    with pytest.raises(dm.IntegrityError):
        session.insert1(dict(subject_id=9, session_id=1))


def test_master_and_parts_in_one_transaction(lab, dm_conn):
    subject, session = lab
    subject.insert1(dict(subject_id=1, name="a"))

    def insert_a_duplicate_part():
        with dm_conn.transaction():
            session.insert1(dict(subject_id=1, session_id=1))
            session.Trial.insert(
                [
                    dict(subject_id=1, session_id=1, trial_id=1),
                    dict(subject_id=1, session_id=1, trial_id=1),
                ]
            )

    with pytest.raises(dm.DuplicateError):
        insert_a_duplicate_part()
    assert not session() and not session.Trial()
    with dm_conn.transaction():
        session.insert1(dict(subject_id=1, session_id=1))
        session.Trial.insert([dict(subject_id=1, session_id=1, trial_id=t) for t in (1, 2)])
    assert len(session.Trial()) == 2


def test_update1_and_delete_quick(lab):
    subject, _ = lab
    subject.insert([dict(subject_id=i, name=f"s{i}") for i in range(3)])
    subject.update1(dict(subject_id=1, name="renamed", dob="2026-05-05"))
    assert (subject & {"subject_id": 1}).fetch1("name", "dob") == (
        "renamed",
        datetime.date(2026, 5, 5),
    )
    with pytest.raises(dm.DataJointError, match="one existing entry"):
        subject.update1(dict(subject_id=7, name="x"))
    assert (subject & {"subject_id": 2}).delete_quick() == 1
    assert sorted(subject.fetch("subject_id")) == [0, 1]


def test_keyset_pages_cover_all_rows_once(lab):
    subject, session = lab
    subject.insert([dict(subject_id=i, name=f"s{i}") for i in range(5)])
    session.insert([dict(subject_id=i, session_id=k) for i in range(5) for k in range(53)])
    keys, after = [], None
    while True:
        rows, after = page(session(), None, after, limit=20)
        keys.extend((r["subject_id"], r["session_id"]) for r in rows)
        if after is None:
            break
    assert keys == sorted((i, k) for i in range(5) for k in range(53))


def test_text_that_cannot_be_encoded_is_an_invalid_value(dm_conn, new_db):
    """A lone surrogate (possible in JSON, not in UTF-8) is refused naming the attribute,
    on insert and in restrictions, never a driver error."""
    schema = dm.Schema(new_db("surrogate"), connection=dm_conn)

    @schema
    class Named(dm.Manual):
        definition = """
        named_id: int32
        ---
        name: varchar(20)
        """

    with pytest.raises(dm.InvalidValueError, match="`name`") as info:
        Named.insert1(dict(named_id=1, name="a\ud800b"))
    assert info.value.attribute == "name"
    with pytest.raises(dm.InvalidValueError, match="`name`"):
        (Named & {"name": "\ud800"}).to_dicts()
    with pytest.raises(dm.InvalidValueError, match="cannot be sent"):
        dm_conn.query("SELECT %s", ["\udfff"])
    assert len(Named()) == 0
