"""Cascading delete (spec §8.3) on the real server: parts, renamed and nullable foreign
keys, a child database, the OR of several paths, part integrity, one transaction (a
failure midway changes nothing), dry runs and previews, and the materialised seeds.

The pipeline (database ``up`` and a child database ``down``)::

    Subject ──> Session ──> Session.Trial        Instrument ──> Panel.Member <── Panel
       │  │        │ └────> Pairing (two renamed FKs to Session)
       │  │        └──────> down.Visit ──> down.Review <── Subject (renamed, nullable)
       │  └──> Tag (nullable FK)
       └──> Summary (Computed, jobs table)
"""

from __future__ import annotations

import secrets

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import delete as dm_delete
from pipeline_core.datamodel.catalog import catalog_of

pytestmark = pytest.mark.integration


def _pipeline(conn, up_db, down_db):
    up = dm.Schema(up_db, connection=conn)

    @up
    class Subject(dm.Manual):
        definition = """
        subject_id: int32
        ---
        name: varchar(16)
        """

    @up
    class Session(dm.Manual):
        definition = """
        -> Subject
        session: int16
        """

        class Trial(dm.Part):
            definition = """
            -> master
            trial: int16
            """

    @up
    class Pairing(dm.Manual):
        definition = """
        -> Session.proj(a_subject='subject_id', a_session='session')
        -> Session.proj(b_subject='subject_id', b_session='session')
        """

    @up
    class Tag(dm.Manual):
        definition = """
        tag_id: int32
        ---
        -> [nullable] Subject
        """

    @up
    class Summary(dm.Computed):
        definition = """
        -> Subject
        ---
        n: int32
        """

        def make(self, key):
            self.insert1(dict(key, n=len(Session & key)))

    @up
    class Instrument(dm.Lookup):
        definition = "instrument: varchar(8)"
        contents = [("scope",), ("rig",), ("laser",)]

    @up
    class Panel(dm.Manual):
        definition = "panel_id: int16"

        class Member(dm.Part):
            definition = """
            -> master
            -> Instrument
            """

    down = dm.Schema(down_db, connection=conn)

    @down
    class Visit(dm.Manual):
        definition = """
        -> Session
        visit: int16
        """

    @down
    class Review(dm.Manual):
        definition = """
        -> Visit
        review: int16
        ---
        -> [nullable] Subject.proj(reviewer='subject_id')
        """

    Subject.insert([(1, "ann"), (2, "bob"), (3, "cy")])
    Session.insert([(1, 1), (1, 2), (2, 1), (3, 1)])
    Session.Trial.insert([(s, n, t) for s, n in [(1, 1), (1, 2), (2, 1), (3, 1)] for t in (1, 2)])
    Pairing.insert([(1, 1, 2, 1), (2, 1, 3, 1), (3, 1, 1, 2), (3, 1, 2, 1)])
    Tag.insert([(1, 1), (2, 2), (3, None), (4, 1)])
    Summary.populate(reserve_jobs=True, keep_completed=True)
    Panel.insert([(1,), (2,), (3,)])
    Panel.Member.insert([(1, "scope"), (1, "rig"), (2, "laser"), (3, "rig")])
    Visit.insert([(1, 1, 1), (1, 1, 2), (2, 1, 1), (1, 2, 1)])
    Review.insert([(1, 1, 1, 1, 2), (2, 1, 1, 1, 1), (2, 1, 1, 2, None)])
    names = (
        "Subject",
        "Session",
        "Pairing",
        "Tag",
        "Summary",
        "Instrument",
        "Panel",
        "Visit",
        "Review",
    )
    classes = dict(
        zip(names, (Subject, Session, Pairing, Tag, Summary, Instrument, Panel, Visit, Review))
    )
    return type("Pipeline", (), {**classes, "up": up_db, "down": down_db})


@pytest.fixture
def p(dm_conn, new_db):
    return _pipeline(dm_conn, new_db("delup"), new_db("deldown"))


def _rows(conn, p) -> dict:
    """Every row of every table of both databases, hidden tables included."""
    result = {}
    for database in (p.up, p.down):
        tables = [
            r[0]
            for r in conn.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [database],
            )
        ]
        for table in tables:
            result[f"{database}.{table}"] = sorted(
                conn.query(f"SELECT * FROM `{database}`.`{table}`").fetchall(), key=repr
            )
    return result


def _keys(table) -> set:
    return {tuple(row.values()) for row in table.keys()}


def _name(database, table):
    return f"`{database}`.`{table}`"


def test_cascade_through_parts_renamed_nullable_and_another_database(dm_conn, p):
    seed = p.Subject & {"subject_id": 1}
    expected = {
        _name(p.up, "subject"): 1,
        _name(p.up, "session"): 2,
        _name(p.up, "session__trial"): 4,
        _name(p.up, "pairing"): 2,
        _name(p.up, "tag"): 2,
        _name(p.up, "__summary"): 1,
        _name(p.down, "visit"): 3,
        _name(p.down, "review"): 2,
    }
    assert seed.delete_preview() == expected
    assert seed.delete() == 1
    assert _keys(p.Subject) == {(2,), (3,)}
    assert _keys(p.Session) == {(2, 1), (3, 1)}
    assert _keys(p.Session.Trial) == {(2, 1, 1), (2, 1, 2), (3, 1, 1), (3, 1, 2)}
    # both renamed foreign keys: (1,1)->(2,1) and (3,1)->(1,2) go, the others stay
    assert _keys(p.Pairing) == {(2, 1, 3, 1), (3, 1, 2, 1)}
    # a nullable foreign key: rows referencing subject 1 go, the NULL one stays
    assert {(r["tag_id"], r["subject_id"]) for r in p.Tag.to_dicts()} == {(2, 2), (3, None)}
    assert _keys(p.Visit) == {(2, 1, 1)}
    # review 1 went through Visit, review 2 through its renamed nullable reviewer
    assert {(r["review"], r["reviewer"]) for r in p.Review.to_dicts()} == {(2, None)}
    assert len(p.Panel.Member()) == 4 and len(p.Instrument()) == 3


def test_a_row_reached_by_either_path_goes(dm_conn, p):
    """Deleting subject 2 removes the review of subject 1's visit whose reviewer is 2
    (the renamed path), and the visit of subject 2 with its reviews (the Visit path)."""
    counts = (p.Subject & "subject_id = 2").delete_preview()
    assert counts[_name(p.down, "review")] == 3
    assert counts[_name(p.up, "pairing")] == 3  # as first, as second, and both
    assert (p.Subject & "subject_id = 2").delete() == 1
    assert len(p.Review()) == 0
    assert _keys(p.Pairing) == {(3, 1, 1, 2)}
    assert _keys(p.Visit) == {(1, 1, 1), (1, 1, 2), (1, 2, 1)}


def test_preview_and_dry_run_change_nothing(dm_conn, p):
    before = _rows(dm_conn, p)
    counts = p.Subject.delete_preview()  # class-level access
    assert counts[_name(p.up, "subject")] == 3 and counts[_name(p.up, "session__trial")] == 8
    assert (p.Subject & "subject_id < 3").delete(dry_run=True) == 2
    assert p.Subject.delete(dry_run=True) == 3
    assert dm_delete.preview(p.Session & {"subject_id": 3}) == {
        _name(p.up, "session"): 1,
        _name(p.up, "session__trial"): 2,
        _name(p.up, "pairing"): 3,
        _name(p.down, "visit"): 0,
        _name(p.down, "review"): 0,
    }
    assert _rows(dm_conn, p) == before
    assert not dm_conn.in_transaction


def test_zero_rows_returns_zero_and_changes_nothing(dm_conn, p):
    before = _rows(dm_conn, p)
    seed = p.Subject & "subject_id > 100"
    assert set(seed.delete_preview().values()) == {0}
    assert seed.delete() == 0
    assert (p.Session.Trial & "trial > 5").delete(part_integrity="ignore") == 0
    assert _rows(dm_conn, p) == before


def test_unrestricted_delete_empties_everything_downstream(dm_conn, p):
    assert p.Subject.delete() == 3
    for table in (p.Subject, p.Session, p.Session.Trial, p.Pairing, p.Summary, p.Visit, p.Review):
        assert len(table()) == 0, table
    assert _keys(p.Tag) == {(3,)}  # its foreign key is NULL: it references no subject
    assert len(p.Instrument()) == 3 and len(p.Panel.Member()) == 4
    assert dm.FreeTable(dm_conn, _name(p.up, "pairing")).delete() == 0


def test_jobs_tables_and_lineage_are_untouched(dm_conn, p):
    def hidden():
        return {t: v for t, v in _rows(dm_conn, p).items() if t.split(".", 1)[1].startswith("~")}

    before = hidden()
    assert before[f"{p.up}.~~summary"] and before[f"{p.up}.~lineage"]
    assert (p.Subject & {"subject_id": 2}).delete() == 1
    assert hidden() == before


def test_part_integrity_for_parts_deleted_directly(dm_conn, p):
    before = _rows(dm_conn, p)
    with pytest.raises(dm.DataJointError, match="Cannot delete from a Part directly"):
        (p.Session.Trial & {"trial": 1}).delete()
    with pytest.raises(dm.DataJointError, match="Cannot delete from a Part directly"):
        p.Session.Trial.delete(dry_run=True)
    free = dm.FreeTable(dm_conn, _name(p.up, "session__trial")) & {"trial": 1}
    with pytest.raises(dm.DataJointError) as info:
        free.delete()
    assert str(info.value).startswith(
        f"Attempt to delete part table `{p.up}`.`session__trial` before its master "
        f"`{p.up}`.`session`."
    )
    assert _rows(dm_conn, p) == before
    # ignore: only the trials go
    assert (p.Session.Trial & {"trial": 1}).delete(part_integrity="ignore") == 4
    assert len(p.Session.Trial()) == 4 and len(p.Session()) == 4
    # cascade: the sessions of the trials go, with their other trials and dependants
    seed = p.Session.Trial & {"subject_id": 2}
    counts = seed.delete_preview(part_integrity="cascade")
    assert counts[_name(p.up, "session")] == 1 and counts[_name(p.down, "review")] == 2
    assert seed.delete(part_integrity="cascade") == 1
    assert _keys(p.Session) == {(1, 1), (1, 2), (3, 1)}
    assert _keys(p.Visit) == {(1, 1, 1), (1, 1, 2), (1, 2, 1)}


def test_part_integrity_for_parts_reached_from_another_parent(dm_conn, p):
    """Panel.Member rows depend on Instrument: deleting an instrument deletes members
    whose panels stay (enforce refuses), or not (ignore), or the panels too (cascade)."""
    before = _rows(dm_conn, p)
    rig = p.Instrument & {"instrument": "rig"}
    with pytest.raises(dm.DataJointError) as info:
        rig.delete()
    assert f"`{p.up}`.`panel__member` before its master `{p.up}`.`panel`" in str(info.value)
    assert info.value.table == _name(p.up, "panel__member")
    with pytest.raises(ValueError, match="part_integrity"):
        rig.delete(part_integrity="casade")
    assert _rows(dm_conn, p) == before
    counts = rig.delete_preview(part_integrity="cascade")
    assert counts == {
        _name(p.up, "#instrument"): 1,
        _name(p.up, "panel"): 2,
        _name(p.up, "panel__member"): 3,
    }
    assert rig.delete(part_integrity="cascade") == 1
    assert _keys(p.Panel) == {(2,)} and _keys(p.Panel.Member) == {(2, "laser")}
    assert (p.Instrument & {"instrument": "laser"}).delete(part_integrity="ignore") == 1
    assert _keys(p.Panel) == {(2,)} and len(p.Panel.Member()) == 0
    # a master deleted with its parts is fine under enforce
    assert p.Panel.delete() == 1


def test_failure_midway_leaves_everything_unchanged(dm_conn, p):
    """A trigger refuses deleting sessions, after trials, pairings, visits and reviews
    (another database) were deleted in the same transaction: all of it is rolled back."""
    before = _rows(dm_conn, p)
    dm_conn.query(
        f"CREATE TRIGGER `{p.up}`.`keep_sessions` BEFORE DELETE ON `{p.up}`.`session` "
        "FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sessions are kept'"
    )
    try:
        with pytest.raises(dm.DataJointError, match="sessions are kept"):
            (p.Subject & {"subject_id": 1}).delete()
        assert not dm_conn.in_transaction
        assert _rows(dm_conn, p) == before
        # the same inside the caller's transaction: back to the savepoint, the caller's
        # own work is kept
        dm_conn.start_transaction()
        try:
            p.Tag.insert1((9, 3))
            with pytest.raises(dm.DataJointError, match="sessions are kept"):
                (p.Subject & {"subject_id": 1}).delete()
            assert dm_conn.in_transaction
            assert len(p.Session.Trial()) == 8 and len(p.Review()) == 3
            assert len(p.Tag & {"tag_id": 9}) == 1
        finally:
            dm_conn.rollback()
    finally:
        dm_conn.query(f"DROP TRIGGER `{p.up}`.`keep_sessions`")
    assert _rows(dm_conn, p) == before


def test_inside_the_callers_transaction(dm_conn, p):
    before = _rows(dm_conn, p)
    dm_conn.start_transaction()
    try:
        assert (p.Subject & {"subject_id": 3}).delete() == 1
        assert dm_conn.in_transaction and len(p.Subject()) == 2
        assert (p.Subject & {"subject_id": 2}).delete(dry_run=True) == 1
        assert len(p.Subject()) == 2 and len(p.Session()) == 3
    finally:
        dm_conn.rollback()
    assert _rows(dm_conn, p) == before


def test_delete_blocked_by_a_database_the_connection_cannot_see(dm_conn, dj_params, p):
    user, password = f"lbt_del_{secrets.token_hex(4)}", secrets.token_hex(12)
    try:
        dm_conn.query("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", [user, password])
        dm_conn.query("CREATE USER %s@'localhost' IDENTIFIED BY %s", [user, password])
    except dm.AccessError:
        pytest.skip("the test account cannot create users")
    try:
        for host in ("127.0.0.1", "localhost"):
            dm_conn.query(f"GRANT SELECT, DELETE ON `{p.up}`.* TO %s@'{host}'", [user])
        limited = dm.connect(dj_params["host"], user, password, port=int(dj_params["port"]))
        try:
            before = _rows(dm_conn, p)
            seed = dm.FreeTable(limited, _name(p.up, "subject")) & {"subject_id": 1}
            assert _name(p.down, "visit") not in seed.delete_preview()
            with pytest.raises(dm.IntegrityError) as info:
                seed.delete()
            assert str(info.value).startswith(
                f"Delete blocked by table `{p.down}`.`visit` in an unloaded schema"
            )
            assert info.value.table == _name(p.down, "visit")
            assert not limited.in_transaction
            assert _rows(dm_conn, p) == before
            # rows nothing in the hidden database references can go
            assert (dm.FreeTable(limited, _name(p.up, "subject")) & {"subject_id": 3}).delete() == 1
        finally:
            limited.close()
    finally:
        dm_conn.query("DROP USER IF EXISTS %s@'127.0.0.1'", [user])
        dm_conn.query("DROP USER IF EXISTS %s@'localhost'", [user])


def test_seed_restricted_by_a_table_of_its_own_cascade(dm_conn, p):
    """``Session & Visit``: the visits are deleted before the sessions, so the seed's keys
    are read first; otherwise the sessions would no longer match."""
    seed = p.Session & p.Visit
    assert seed.delete_preview()[_name(p.up, "session")] == 3
    assert seed.delete() == 3
    assert _keys(p.Session) == {(3, 1)}
    assert len(p.Visit()) == 0 and len(p.Review()) == 0
    # Tag is in the cascade too (a nullable foreign key to Subject)
    assert (p.Subject & (p.Tag & {"tag_id": 2})).delete() == 1
    assert _keys(p.Subject) == {(1,), (3,)}


def test_seed_restricted_by_top(dm_conn, p):
    seed = p.Session & dm.Top(2, "KEY DESC")
    assert dm_delete.preview(seed)[_name(p.up, "session")] == 2
    assert dm_delete.delete(seed) == 2
    assert _keys(p.Session) == {(1, 1), (1, 2)}


def test_only_restricted_base_tables_can_be_seeds(dm_conn, p):
    with pytest.raises(dm.DataJointError, match="base table"):
        dm_delete.delete(p.Session * p.Subject)
    with pytest.raises(dm.DataJointError, match="base table"):
        dm_delete.preview(p.Session.proj())


def test_graph_and_cascade_take_full_names_and_refs_alike(dm_conn, p):
    """Public lookups of DependencyGraph and Cascade accept a TableRef or the full name
    that counts() and DataJoint use (no silent miss between the two)."""
    graph = dm.DependencyGraph(dm_conn, [p.up])
    subject = p.Subject.full_table_name
    ref = dm.TableRef.parse(subject)
    assert graph.children(subject) == graph.children(ref) and graph.children(ref)
    assert graph.descendants(subject) == graph.descendants(ref)
    assert graph.table(subject).ref == ref and graph.parents(subject) == []
    plan = dm_delete.cascade(p.Subject & "subject_id = 2")
    for name, count in plan.counts().items():
        assert len(plan[name]) == count == len(plan[dm.TableRef.parse(name)])


def test_cascade_into_a_hand_made_table_without_a_primary_key(dm_conn, p):
    """A table made outside DataJoint without a primary key (legacy databases) that
    references Subject: its rows of the deleted subject go, equal rows and NULLs included
    (matched on every column, NULL-safe); the others stay."""
    dm_conn.query(
        f"CREATE TABLE `{p.up}`.`note` (subject_id INT NOT NULL, text VARCHAR(20) NULL, "
        f"body LONGBLOB NULL, FOREIGN KEY (subject_id) REFERENCES `{p.up}`.`subject` "
        "(subject_id)) ENGINE=InnoDB"
    )
    dm_conn.query(
        f"INSERT INTO `{p.up}`.`note` VALUES (1, 'a', NULL), (1, 'a', NULL), (1, NULL, 'x'), "
        "(2, 'b', 'y'), (2, NULL, NULL)"
    )
    catalog_of(dm_conn).revalidate()  # declared outside the data model, in this test
    note = dm.FreeTable(dm_conn, f"{p.up}.note")
    assert note.primary_key == [] and len(note) == 5  # equal rows counted each
    seed = p.Subject & {"subject_id": 1}
    assert seed.delete_preview()[_name(p.up, "note")] == 3
    assert seed.delete() == 1
    left = dm_conn.query(f"SELECT subject_id, text, body FROM `{p.up}`.`note`").fetchall()
    assert sorted(left, key=repr) == sorted([(2, "b", b"y"), (2, None, None)], key=repr)
    assert _keys(p.Subject) == {(2,), (3,)}
