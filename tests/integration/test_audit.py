"""The audit trail at the data model (issue #11): every write path records exactly its events,
on the write's connection and in its transaction, so that a write that fails after its
events leaves neither; the events are read back by table, key, actor and page."""

from __future__ import annotations

import datetime
import decimal
import uuid

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit
from pipeline_core.datamodel.heading import Attribute

pytestmark = pytest.mark.integration


@pytest.fixture
def trail(dm_conn, new_db):
    """An audit trail for "alice" on the command line, on ``dm_conn``, for one test."""
    recorder = audit.AuditTrail(new_db("audit"), audit.AuditContext("alice", "cli", "req-1"))
    recorder.ensure(dm_conn)
    dm_conn.audit = recorder
    yield recorder
    dm_conn.audit = None


def events(conn, trail, **filters):
    return list(reversed(audit.read_events(conn, trail.database, limit=10_000, **filters)))


def _lab(conn, database):
    schema = dm.Schema(database, connection=conn)

    @schema
    class Subject(dm.Manual):
        definition = """
        subject_id: int32
        ---
        name: varchar(20)
        weight=null: float64
        born=null: date
        """

    @schema
    class Session(dm.Manual):
        definition = """
        -> Subject
        session: int16
        ---
        data=null: <blob>
        """

        class Trial(dm.Part):
            definition = """
            -> master
            trial: int16
            """

    @schema
    class Note(dm.Manual):
        definition = """
        note_id: int auto_increment
        ---
        text: varchar(40)
        """

    @schema
    class Summary(dm.Computed):
        definition = """
        -> Session
        ---
        trials: int32
        """

        class Item(dm.Part):
            definition = """
            -> master
            -> Session.Trial
            """

        def make(self, key):
            trials = (Session.Trial & key).keys()
            self.insert1(dict(key, trials=len(trials)))
            Summary.Item.insert([dict(key, **t) for t in trials])
            if key["subject_id"] == 99:
                raise RuntimeError("make failed after its inserts")

    return Subject, Session, Note, Summary


@pytest.fixture
def lab(dm_conn, new_db):
    return _lab(dm_conn, new_db("audited"))


def test_insert_records_one_event_per_row_in_one_batch(dm_conn, trail, lab):
    subject, *_ = lab
    subject.insert(
        [
            dict(subject_id=1, name="a", weight=20.5, born=datetime.date(2024, 5, 6)),
            dict(subject_id=2, name="b", weight=None, born="2024-05-07"),
        ]
    )
    got = events(dm_conn, trail)
    assert [(e["action"], e["key"]) for e in got] == [
        ("insert", {"subject_id": 1}),
        ("insert", {"subject_id": 2}),
    ]
    assert got[0]["changes"] == {
        "name": [None, "a"],
        "weight": [None, 20.5],
        "born": [None, "2024-05-06"],
    }
    assert {(e["actor"], e["source"], e["request_id"]) for e in got} == {("alice", "cli", "req-1")}
    assert got[0]["batch_id"] == got[1]["batch_id"] and got[0]["batch_id"]
    assert got[0]["schema"] == subject.database and got[0]["table"] == "subject"
    assert isinstance(got[0]["time"], datetime.datetime) and got[0]["time"].microsecond >= 0


def test_a_failed_insert_leaves_neither_rows_nor_events(dm_conn, trail, lab):
    subject, *_ = lab
    subject.insert1(dict(subject_id=1, name="a"))
    with pytest.raises(dm.DuplicateError):  # the second row fails after the first's event
        subject.insert([dict(subject_id=2, name="b"), dict(subject_id=1, name="again")])
    assert len(subject()) == 1 and len(events(dm_conn, trail)) == 1

    def insert_then_fail():
        with dm_conn.transaction():
            subject.insert1(dict(subject_id=3, name="c"))
            assert len(events(dm_conn, trail)) == 2  # written, in the transaction ...
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError, match="transaction fails"):
        insert_then_fail()
    assert len(subject()) == 1 and len(events(dm_conn, trail)) == 1  # ... and gone with it


def test_skipped_duplicates_and_generated_keys_are_recorded_as_written(dm_conn, trail, lab):
    subject, _, note, _ = lab
    subject.insert1(dict(subject_id=1, name="a"))
    subject.insert(
        [dict(subject_id=1, name="dup"), dict(subject_id=2, name="b")], skip_duplicates=True
    )
    note.insert([dict(text="first"), dict(text="second")])
    got = events(dm_conn, trail)
    assert [e["key"] for e in got] == [
        {"subject_id": 1},
        {"subject_id": 2},
        {"note_id": 1},
        {"note_id": 2},
    ]
    assert got[-1]["changes"] == {"text": [None, "second"]}


def test_update_records_old_and_new_values(dm_conn, trail, lab):
    subject, session, *_ = lab
    subject.insert1(dict(subject_id=1, name="a", weight=1.5))
    session.insert1(dict(subject_id=1, session=1, data=np.arange(3)))
    subject.update1(dict(subject_id=1, name="renamed", weight=None))
    session.update1(dict(subject_id=1, session=1, data=np.arange(4)))
    updates = [e for e in events(dm_conn, trail) if e["action"] == "update"]
    assert updates[0]["key"] == {"subject_id": 1}
    assert updates[0]["changes"] == {"name": ["a", "renamed"], "weight": [1.5, None]}
    old, new = updates[1]["changes"]["data"]
    assert old["bytes"] < new["bytes"] and old["md5"] != new["md5"]
    assert updates[1]["key"] == {"subject_id": 1, "session": 1}


def test_cascading_delete_records_every_tables_keys(dm_conn, trail, lab):
    subject, session, *_ = lab
    subject.insert([dict(subject_id=i, name=f"s{i}") for i in (1, 2)])
    session.insert([dict(subject_id=i, session=1) for i in (1, 2)])
    session.Trial.insert([dict(subject_id=1, session=1, trial=t) for t in (1, 2)])
    (subject & {"subject_id": 1}).delete()
    deletes = [e for e in events(dm_conn, trail) if e["action"] == "delete"]
    assert {(e["table"], tuple(sorted(e["key"].items()))) for e in deletes} == {
        ("subject", (("subject_id", 1),)),
        ("session", (("session", 1), ("subject_id", 1))),
        ("session__trial", (("session", 1), ("subject_id", 1), ("trial", 1))),
        ("session__trial", (("session", 1), ("subject_id", 1), ("trial", 2))),
    }
    assert len({e["batch_id"] for e in deletes}) == 1
    (subject & {"subject_id": 2}).delete(dry_run=True)  # rolled back: nothing recorded
    assert len([e for e in events(dm_conn, trail) if e["action"] == "delete"]) == 4


def test_a_large_delete_is_recorded_as_a_count(dm_conn, trail, lab):
    subject, *_ = lab
    dm_conn.audit = None  # filling is not the point here
    subject.insert([dict(subject_id=i, name="x") for i in range(audit.KEY_LIMIT + 5)])
    dm_conn.audit = trail
    subject.delete()
    (event,) = events(dm_conn, trail)
    assert event["key"] is None and event["changes"] == {"rows": audit.KEY_LIMIT + 5}


def test_delete_quick_records_its_keys(dm_conn, trail, lab):
    subject, *_ = lab
    subject.insert([dict(subject_id=i, name="x") for i in (1, 2, 3)])
    assert (subject & "subject_id > 1").delete_quick() == 2
    deletes = [e["key"] for e in events(dm_conn, trail) if e["action"] == "delete"]
    assert deletes == [{"subject_id": 2}, {"subject_id": 3}]


def test_populate_records_each_key_once_with_the_run_id(dm_conn, trail, lab):
    subject, session, _, summary = lab
    subject.insert([dict(subject_id=i, name="x") for i in (1, 99)])
    session.insert([dict(subject_id=i, session=1) for i in (1, 99)])
    session.Trial.insert([dict(subject_id=i, session=1, trial=t) for i in (1, 99) for t in (1, 2)])
    before = len(events(dm_conn, trail))
    result = summary.populate(run_id="run-7", suppress_errors=True, reserve_jobs=True)
    assert result["success_count"] == 1 and len(result["error_list"]) == 1
    new = events(dm_conn, trail)[before:]
    assert [(e["action"], e["table"], e["key"], e["batch_id"]) for e in new] == [
        ("populate", "__summary", {"subject_id": 1, "session": 1}, "run-7")
    ]  # not the rows make() inserted, and nothing for the key whose make() failed
    assert len(summary.Item()) == 2
    summary().jobs.delete(status="error")
    cleared = events(dm_conn, trail)[-1]
    assert cleared["action"] == "clear_errors" and cleared["table"] == "__summary"
    assert cleared["key"] == {"subject_id": 99, "session": 1}


def test_reading_events_by_table_key_actor_and_page(dm_conn, trail, lab):
    subject, session, *_ = lab
    subject.insert([dict(subject_id=i, name="x") for i in range(1, 6)])
    session.insert1(dict(subject_id=3, session=2))
    subject.update1(dict(subject_id=3, name="y"))
    ref = subject().ref
    row = audit.read_events(dm_conn, trail.database, table=ref, key={"subject_id": 3})
    assert [e["action"] for e in row] == ["update", "insert"]
    part = session().ref
    assert len(audit.read_events(dm_conn, trail.database, table=part)) == 1
    assert audit.read_events(dm_conn, trail.database, actor="bob") == []
    first = audit.read_events(dm_conn, trail.database, schema=ref.database, limit=4)
    rest = audit.read_events(
        dm_conn, trail.database, schema=ref.database, after=first[-1]["event_id"]
    )
    assert len(first) == 4 and len(rest) == 3
    assert [e["event_id"] for e in first + rest] == sorted(
        (e["event_id"] for e in first + rest), reverse=True
    )
    with pytest.raises(ValueError, match="needs the table"):
        audit.read_events(dm_conn, trail.database, key={"subject_id": 3})


def test_without_a_trail_nothing_is_recorded_and_no_transaction_is_forced(dm_conn, new_db):
    subject, *_ = _lab(dm_conn, new_db("plain"))
    assert dm_conn.audit is None
    subject.insert1(dict(subject_id=1, name="a"))
    subject.update1(dict(subject_id=1, name="b"))
    subject.delete()
    assert not dm_conn.in_transaction


def test_events_are_written_only_inside_a_transaction(dm_conn, trail):
    with pytest.raises(dm.DataJointError, match="inside the write's transaction"):
        trail.record(dm_conn, [audit.Event("insert")])


def _attr(type_, **extra):
    return Attribute(
        name="x",
        type=type_,
        sql_type=extra.pop("sql_type", type_),
        in_key=False,
        nullable=True,
        default=None,
        default_is_expression=False,
        comment="",
        **extra,
    )


@pytest.mark.parametrize(
    "attr, value, expected",
    [
        (_attr("int32"), 5, 5),
        (
            _attr("datetime"),
            datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
            "2024-01-02 03:04:05.000006",
        ),
        (_attr("date"), "2024-01-02", "2024-01-02"),
        (_attr("decimal(6,2)"), decimal.Decimal("1.50"), "1.5"),
        (_attr("uuid", sql_type="binary(16)"), uuid.UUID(int=1).bytes, str(uuid.UUID(int=1))),
        (_attr("json"), '{"b": 1}', {"b": 1}),
        (
            _attr("<blob@s>", sql_type="json", codec="blob", store="s"),
            '{"path": "p", "size": 3}',
            {"path": "p", "size": 3},
        ),
        (
            _attr("bytes", sql_type="longblob"),
            b"abc",
            {"bytes": 3, "md5": "900150983cd24fb0d6963f7d28e17f72"},
        ),
        (_attr("int32"), None, None),
    ],
)
def test_values_are_recorded_json_safe(attr, value, expected):
    assert audit.audit_value(attr, value) == expected


def test_skipped_duplicates_given_as_text_are_not_recorded(dm_conn, trail, new_db):
    """Keys are compared as stored: a date key given as text is the same row."""
    schema = dm.Schema(new_db("dated"), connection=dm_conn)

    @schema
    class Day(dm.Manual):
        definition = """
        day: date
        ---
        note: varchar(10)
        """

    Day.insert1(dict(day=datetime.date(2024, 5, 6), note="first"))
    Day.insert(
        [dict(day="2024-05-06", note="dup"), dict(day="2024-05-07", note="new")],
        skip_duplicates=True,
    )
    got = [(e["key"], e["changes"]) for e in events(dm_conn, trail)]
    assert got == [
        ({"day": "2024-05-06"}, {"note": [None, "first"]}),
        ({"day": "2024-05-07"}, {"note": [None, "new"]}),
    ]


def test_a_write_whose_event_cannot_be_written_is_undone(dm_conn, trail, lab):
    """The event is part of the write: when the audit table refuses it, nothing is kept."""
    subject, *_ = lab
    subject.insert1(dict(subject_id=1, name="a"))
    dm_conn.query(f"RENAME TABLE `{trail.database}`.`event` TO `{trail.database}`.`gone`")
    try:
        with pytest.raises(dm.MissingTableError):
            subject.insert1(dict(subject_id=2, name="b"))
        with pytest.raises(dm.MissingTableError):
            subject.update1(dict(subject_id=1, name="changed"))
        with pytest.raises(dm.MissingTableError):
            (subject & {"subject_id": 1}).delete()
    finally:
        dm_conn.query(f"RENAME TABLE `{trail.database}`.`gone` TO `{trail.database}`.`event`")
    assert subject.to_dicts() == [{"subject_id": 1, "name": "a", "weight": None, "born": None}]
    assert [e["key"] for e in events(dm_conn, trail)] == [{"subject_id": 1}]


def test_event_times_are_utc(dm_conn, trail, lab):
    subject, *_ = lab
    dm_conn.query("SET time_zone = '+05:00'")  # a session in another zone
    try:
        subject.insert1(dict(subject_id=1, name="a"))
    finally:
        dm_conn.query("SET time_zone = 'SYSTEM'")
    (event,) = events(dm_conn, trail)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert abs((now - event["time"]).total_seconds()) < 120


def test_a_delete_from_a_table_without_a_primary_key_is_recorded_as_a_count(dm_conn, trail, lab):
    """A table made outside DataJoint without a primary key has no keys to record: its
    rows deleted by a cascade are one event with their number (equal rows each)."""
    subject, *_ = lab
    database = subject.database
    subject.insert([dict(subject_id=i, name=f"s{i}") for i in (1, 2)])
    dm_conn.query(
        f"CREATE TABLE `{database}`.`remark` (subject_id INT NOT NULL, text VARCHAR(9) NULL, "
        f"FOREIGN KEY (subject_id) REFERENCES `{database}`.`subject` (subject_id))"
    )
    dm_conn.query(
        f"INSERT INTO `{database}`.`remark` VALUES (1, 'a'), (1, 'a'), (1, NULL), (2, 'b')"
    )
    (subject & {"subject_id": 1}).delete()
    deletes = {e["table"]: e for e in events(dm_conn, trail) if e["action"] == "delete"}
    assert deletes["remark"]["key"] is None and deletes["remark"]["changes"] == {"rows": 3}
    assert deletes["subject"]["key"] == {"subject_id": 1}
    assert dm_conn.query(f"SELECT COUNT(*) FROM `{database}`.`remark`").fetchone()[0] == 1
