"""Searching a foreign key's parent as people type (fk_search.search) and resolving pasted
text to parent rows (fk_search.resolve_parents), on the real server: prefix matches first
in key order, renamed and compound foreign keys, LIKE wildcards literal, batches."""

from __future__ import annotations

import datetime
import types

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import fk_search

pytestmark = pytest.mark.integration

SUBJECTS = [
    (1, "Mickey", "M"),
    (2, "Minnie", "F"),
    (3, "mickey", "M"),
    (12, "50%_off", "U"),
    (120, "Amico", "M"),
    (1500, "x_y", "F"),
    (1700, "xzy", "F"),
    (2500, "Goofy", "M"),
    (3000, "Goofy", "M"),
]


@pytest.fixture(scope="module")
def lab(dm_conn, pipeline_prefix):
    """Subject (int key, name, sex), Session (compound key subject_id + session_datetime),
    Note (a renamed foreign key to Subject, a compound one to Session), and Tag (a
    varchar-keyed parent)."""
    schema = dm.Schema(pipeline_prefix + "fksearch", connection=dm_conn)

    @schema
    class Subject(dm.Manual):
        definition = """
        subject_id: int32
        ---
        subject_name: varchar(64)
        sex='U': enum('F', 'M', 'U')
        """

    @schema
    class Session(dm.Manual):
        definition = """
        -> Subject
        session_datetime: datetime
        ---
        rig='': varchar(20)
        """

    @schema
    class Tag(dm.Lookup):
        definition = """
        tag: varchar(20)
        """
        contents = [("red",), ("reddish",), ("blue",), ("dark red",)]

    @schema
    class Note(dm.Manual):
        definition = """
        note_id: int32
        ---
        -> Subject.proj(reviewer="subject_id")
        -> [nullable] Session
        -> [nullable] Tag
        """

    Subject.insert(SUBJECTS, skip_duplicates=True)
    Session.insert(
        [
            (1, "2024-05-01 10:00:00", "rig1"),
            (1, "2024-05-02 11:30:00", "rig2"),
            (2, "2024-05-01 10:00:00", "rig1"),
        ],
        skip_duplicates=True,
    )
    fks = {fk.parent.table: fk for fk in Note().table_info().foreign_keys}
    return types.SimpleNamespace(
        conn=dm_conn,
        Subject=Subject,
        Session=Session,
        reviewer=fks["subject"],
        session=fks["session"],
        tag=fks["#tag"],
    )


def labels(results):
    return [r["label"] for r in results]


def test_empty_text_gives_first_parents_in_key_order(lab):
    found = fk_search.search(lab.conn, lab.reviewer, "", limit=3)
    assert labels(found) == ["1 · Mickey · M", "2 · Minnie · F", "3 · mickey · M"]
    # a renamed foreign key: values by the child's name, key by the parent's
    assert found[0]["values"] == {"reviewer": 1}
    assert found[0]["key"] == {"subject_id": 1}


def test_prefix_matches_come_first_then_substrings(lab):
    # "mi": prefix of Mickey, Minnie, mickey (case-insensitive), substring of Amico
    assert labels(fk_search.search(lab.conn, lab.reviewer, "mi")) == [
        "1 · Mickey · M",
        "2 · Minnie · F",
        "3 · mickey · M",
        "120 · Amico · M",
    ]
    # an integer key matches by its decimal text: 1, 12, 120, 1500, 1700 start with "1";
    # then 3000 ("Goofy" no; no) -- nothing contains "1" otherwise
    assert [r["values"]["reviewer"] for r in fk_search.search(lab.conn, lab.reviewer, "1")] == [
        1,
        12,
        120,
        1500,
        1700,
    ]
    # prefix (3000, by key) before substring (the name of 2500 does not count: "oof")
    assert [r["values"]["reviewer"] for r in fk_search.search(lab.conn, lab.reviewer, "3")] == [
        3,
        3000,
    ]


def test_large_parents_are_searched_through_index_ranges_only(lab, monkeypatch):
    """Above SCAN_ROWS rows no scan: unindexed attributes (subject_name) and substrings are
    not searched, the key's prefix still is."""
    assert labels(fk_search.search(lab.conn, lab.reviewer, "mi"))[-1] == "120 · Amico · M"
    monkeypatch.setattr(fk_search, "SCAN_ROWS", -1)  # every parent counts as large
    assert fk_search.search(lab.conn, lab.reviewer, "mi") == []
    assert [r["values"]["reviewer"] for r in fk_search.search(lab.conn, lab.reviewer, "12")] == [
        12,
        120,
    ]


def test_varchar_key_prefix_then_contains(lab):
    assert labels(fk_search.search(lab.conn, lab.tag, "red")) == ["red", "reddish", "dark red"]


def test_limit(lab):
    assert len(fk_search.search(lab.conn, lab.reviewer, "", limit=2)) == 2
    assert labels(fk_search.search(lab.conn, lab.reviewer, "mi", limit=2)) == [
        "1 · Mickey · M",
        "2 · Minnie · F",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("%", ["12 · 50%_off · U"]),
        ("_", ["12 · 50%_off · U", "1500 · x_y · F"]),
        ("x_", ["1500 · x_y · F"]),
    ],
)
def test_like_wildcards_are_literal(lab, text, expected):
    assert labels(fk_search.search(lab.conn, lab.reviewer, text)) == expected


def test_compound_foreign_key_is_one_whole_parent_row(lab):
    found = fk_search.search(lab.conn, lab.session, "2024-05-02")
    assert found == [
        {
            "values": {"subject_id": 1, "session_datetime": datetime.datetime(2024, 5, 2, 11, 30)},
            "key": {"subject_id": 1, "session_datetime": datetime.datetime(2024, 5, 2, 11, 30)},
            "label": "1 · 2024-05-02 11:30:00 · rig2",
        }
    ]
    # "2" starts subject_id 2 and every session_datetime (2024-...): all, in key order
    found = fk_search.search(lab.conn, lab.session, "2")
    assert [r["values"]["subject_id"] for r in found] == [1, 1, 2]
    # "rig2" is only a substring... of a varchar secondary: a prefix too
    assert labels(fk_search.search(lab.conn, lab.session, "RIG2")) == [
        "1 · 2024-05-02 11:30:00 · rig2"
    ]


def test_integer_prefix_ranges():
    assert fk_search.integer_prefix_ranges("12", "tinyint unsigned") == [(12, 12), (120, 129)]
    assert fk_search.integer_prefix_ranges("-3", "tinyint") == [(-3, -3), (-39, -30)]
    assert fk_search.integer_prefix_ranges("0", "int") == [(0, 0)]
    assert fk_search.integer_prefix_ranges("01", "int") == []
    assert fk_search.integer_prefix_ranges("1a", "int") == []
    assert fk_search.integer_prefix_ranges("-1", "int unsigned") == []


def test_resolve_none_one_several(lab):
    texts = ["1", "Minnie", "minnie ", "1 · Mickey · M", "mickey", "Goofy", "nobody", "", "007"]
    found = fk_search.resolve_parents(lab.conn, lab.reviewer, texts)
    assert set(found) == set(texts)
    assert found["1"] == [{"reviewer": 1}]  # the key
    assert found["Minnie"] == found["minnie "] == [{"reviewer": 2}]  # a varchar, any case
    assert found["1 · Mickey · M"] == [{"reviewer": 1}]  # the whole label
    assert found["mickey"] == [{"reviewer": 1}, {"reviewer": 3}]  # several: ambiguous
    assert found["Goofy"] == [{"reviewer": 2500}, {"reviewer": 3000}]
    assert found["nobody"] == found[""] == found["007"] == []


def test_resolve_compound_foreign_key(lab):
    found = fk_search.resolve_parents(
        lab.conn,
        lab.session,
        ["1 · 2024-05-01 10:00:00 · rig1", "1 · 2024-05-01 10:00:00", "rig1", "rig2", "1"],
    )
    one = {"subject_id": 1, "session_datetime": datetime.datetime(2024, 5, 1, 10)}
    assert found["1 · 2024-05-01 10:00:00 · rig1"] == [one]
    assert found["1 · 2024-05-01 10:00:00"] == [one]  # the key values alone
    assert len(found["rig1"]) == 2  # two sessions on rig1: ambiguous
    assert found["rig2"] == [
        {"subject_id": 1, "session_datetime": datetime.datetime(2024, 5, 2, 11, 30)}
    ]
    assert found["1"] == []  # not a whole key of Session


def test_resolve_a_thousand_texts_in_few_queries(lab, pipeline_prefix):
    schema = dm.Schema(pipeline_prefix + "fkbatch", connection=lab.conn)

    @schema
    class Animal(dm.Manual):
        definition = """
        animal_id: int32
        ---
        animal_name: varchar(20)
        """

    @schema
    class Weighing(dm.Manual):
        definition = """
        -> Animal
        weighing_id: int16
        """

    Animal.insert([(i, f"animal-{i}") for i in range(2000)], skip_duplicates=True)
    (fk,) = Weighing().table_info().foreign_keys
    texts = [f"animal-{i}" for i in range(0, 1000, 2)] + [str(i) for i in range(1, 1000, 2)]
    assert len(texts) == 1000
    statements = []
    query = lab.conn.query

    def counting(sql, *args, **kwargs):
        statements.append(sql)
        return query(sql, *args, **kwargs)

    lab.conn.query = counting
    try:
        found = fk_search.resolve_parents(lab.conn, fk, [*texts, "animal-99999"])
    finally:
        del lab.conn.query
    assert found["animal-10"] == [{"animal_id": 10}]
    assert found["11"] == [{"animal_id": 11}]
    assert found["animal-99999"] == []
    assert all(len(found[t]) == 1 for t in texts)
    selects = [s for s in statements if "SELECT" in s.upper()]
    assert selects  # the queries were seen
    assert len(selects) <= 12, f"{len(selects)} queries for 1,000 texts"
