"""populate(): every key computed once, make() atomic, errors recorded in ~~<name>
with their traceback (spec §6)."""

from __future__ import annotations

import threading

import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.codecs import blob

pytestmark = pytest.mark.integration


def _pipeline(conn, database, fail_on=None, calls=None):
    schema = dm.Schema(database, connection=conn)

    @schema
    class Source(dm.Manual):
        definition = """
        source_id: int32
        ---
        value: float64
        """

    @schema
    class Result(dm.Computed):
        definition = """
        -> Source
        ---
        doubled: float64
        """

        class Piece(dm.Part):
            definition = """
            -> master
            piece: int16
            """

        def make(self, key):
            if calls is not None:
                calls.append(key["source_id"])
            value = (Source & key).fetch1("value")
            self.insert1(dict(key, doubled=2 * value))
            Result.Piece.insert([dict(key, piece=0), dict(key, piece=1)])
            if fail_on is not None and key["source_id"] == fail_on:
                raise ValueError(f"bad source {key['source_id']}")

    return Source, Result


def test_populate_computes_every_key(dm_conn, new_db):
    source, result = _pipeline(dm_conn, new_db())
    source.insert([dict(source_id=i, value=i / 2) for i in range(7)])
    assert result().progress() == (7, 7)
    outcome = result.populate()
    assert outcome == {"success_count": 7, "error_list": []}
    assert {r["source_id"]: r["doubled"] for r in result.to_dicts()} == {i: i for i in range(7)}
    assert len(result.Piece()) == 14
    assert result().progress() == (0, 7)
    assert result.populate()["success_count"] == 0


def test_failing_make_records_error_and_leaves_no_partial_rows(dm_conn, new_db):
    source, result = _pipeline(dm_conn, new_db(), fail_on=3)
    source.insert([dict(source_id=i, value=1.0) for i in range(5)])
    outcome = result.populate(reserve_jobs=True, suppress_errors=True)
    assert outcome["success_count"] == 4
    assert [(k["source_id"], m) for k, m in outcome["error_list"]] == [
        (3, "ValueError: bad source 3")
    ]
    assert not (result & {"source_id": 3})  # master row rolled back ...
    assert not (result.Piece & {"source_id": 3})  # ... and its parts with it
    assert len(result.Piece()) == 8
    jobs = result().jobs
    assert jobs.progress()["error"] == 1 and jobs.progress()["total"] == 1
    row = jobs.rows(status="error")[0]
    assert row["source_id"] == 3 and row["error_message"] == "ValueError: bad source 3"
    stack = jobs.error_stack({"source_id": 3})
    assert "Traceback" in stack and "bad source 3" in stack
    # the stack is a DataJoint blob holding a str (spec §6.2)
    raw = dm_conn.query(f"SELECT error_stack FROM {jobs.full_table_name}").fetchone()[0]
    assert blob.unpack(raw) == stack
    # errors are not retried until the error row is deleted
    assert result.populate(reserve_jobs=True)["success_count"] == 0
    jobs.delete(status="error")
    with pytest.raises(ValueError, match="bad source 3"):
        result.populate(reserve_jobs=True)


def test_reserved_jobs_compute_each_key_once_across_workers(dm_params_connect, new_db):
    """Two workers with their own connections populate the same table concurrently."""
    database = new_db()
    calls: list[int] = []
    conns = [dm_params_connect() for _ in range(2)]
    source, _ = _pipeline(conns[0], database)
    source.insert([dict(source_id=i, value=float(i)) for i in range(40)])
    results = [_pipeline(c, database, calls=calls)[1] for c in conns]
    errors = []

    def work(result):
        try:
            result.populate(reserve_jobs=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(calls) == list(range(40))  # each key exactly once
    assert len(results[0]()) == 40
    for c in conns:
        c.close()


def test_direct_insert_into_computed_is_refused(dm_conn, new_db):
    source, result = _pipeline(dm_conn, new_db())
    source.insert1(dict(source_id=1, value=1.0))
    with pytest.raises(dm.DataJointError, match="make method"):
        result.insert1(dict(source_id=1, doubled=2.0))
    assert not result()


@pytest.fixture
def dm_params_connect(dj_params):
    return lambda: dm.connect(
        dj_params["host"], dj_params["user"], dj_params["password"], port=int(dj_params["port"])
    )


def test_restricted_reserved_populate_computes_only_its_keys(dm_conn, new_db):
    """With reserve_jobs a restriction (by values, so the jobs SQL has parameters) queues
    and computes only its keys, also when other keys are pending already."""
    source, result = _pipeline(dm_conn, new_db())
    source.insert([dict(source_id=i, value=i) for i in range(6)])
    outcome = result.populate({"source_id": 2}, reserve_jobs=True)
    assert outcome == {"success_count": 1, "error_list": []}
    assert result.to_arrays("source_id").tolist() == [2]
    result.jobs.declare()
    assert result.populate("source_id > 3", reserve_jobs=True, max_calls=0)["success_count"] == 0
    assert result.jobs.progress()["pending"] == 2  # 4 and 5 queued, not computed
    outcome = result.populate([{"source_id": 0}, {"source_id": 1}], reserve_jobs=True)
    assert outcome["success_count"] == 2
    assert sorted(result.to_arrays("source_id").tolist()) == [0, 1, 2]
    assert result.jobs.progress()["pending"] == 2  # the others' jobs were left alone


@pytest.mark.parametrize("keep_completed", [False, True])
def test_pending_job_of_a_key_computed_meanwhile_is_completed_not_recomputed(
    dm_conn, new_db, keep_completed
):
    """A key computed by someone else after the jobs were refreshed (its job still
    ``pending``) is not reserved nor recomputed: its job completes as DataJoint completes
    it (deleted, or ``success`` when keeping completed jobs) and on_key hears 'skipped'."""
    calls = []
    source, result = _pipeline(dm_conn, new_db(), calls=calls)
    source.insert([dict(source_id=i, value=i) for i in range(3)])
    jobs = result.jobs
    result()._reserve_list(jobs, (), None, None)  # all three pending
    # key 1 computed meanwhile without a reservation (as a direct populate would)
    dm_conn.start_transaction()
    dm_conn.make_tables = {result().ref}
    result.insert1(dict(source_id=1, doubled=99.0))
    dm_conn.make_tables = set()
    dm_conn.commit()
    outcomes = []
    out = result.populate(
        reserve_jobs=True,
        keep_completed=keep_completed,
        on_key=lambda key, outcome: outcomes.append((key["source_id"], outcome)),
    )
    assert out["success_count"] == 2
    assert sorted(calls) == [0, 2]  # key 1 never recomputed
    assert sorted(outcomes) == [(0, "success"), (1, "skipped"), (2, "success")]
    assert (result & {"source_id": 1}).fetch1("doubled") == 99.0
    rows = dm_conn.query(f"SELECT source_id, status FROM {jobs.ref.full_name}").fetchall()
    statuses = dict(rows)
    if keep_completed:
        assert statuses == {0: "success", 1: "success", 2: "success"}
    else:
        assert statuses == {}


def _job_statuses(conn, result) -> dict[int, str]:
    return dict(conn.query(f"SELECT source_id, status FROM {result.jobs.ref.full_name}").fetchall())


class _Stop(Exception):
    pass


def test_a_key_reserved_ahead_is_released_when_populate_stops(dm_conn, new_db):
    """On MariaDB the next key is reserved in the commit of the current one; populate
    stopped after the first key (on_key raising, as a cancelled run does) returns that
    reservation to ``pending``: no job is left ``reserved`` by a process that went on."""
    source, result = _pipeline(dm_conn, new_db())
    source.insert([dict(source_id=i, value=i) for i in range(4)])
    seen = []

    def on_key(key, outcome):
        seen.append(key["source_id"])
        # reserved ahead in this key's commit (MariaDB): the next key's job
        statuses = _job_statuses(dm_conn, result)
        assert list(statuses.values()).count("reserved") == (1 if dm_conn.is_mariadb else 0)
        raise _Stop

    with pytest.raises(_Stop):
        result.populate(reserve_jobs=True, on_key=on_key)
    assert len(seen) == 1
    statuses = _job_statuses(dm_conn, result)
    assert sorted(statuses.values()) == ["pending"] * 3  # the first key's job completed
    assert len(result()) == 1
    assert result.populate(reserve_jobs=True)["success_count"] == 3


def test_a_locked_job_is_not_reserved_ahead_and_the_make_commits(
    dm_conn, dm_params_connect, new_db
):
    """The reservation ahead never waits for a lock (it runs inside make's transaction):
    with the next job locked by another transaction, the current key still commits at once
    and the next key is reserved the usual way once the lock is gone."""
    if not dm_conn.is_mariadb:
        pytest.skip("the reservation ahead is MariaDB's (SET STATEMENT)")
    source, result = _pipeline(dm_conn, new_db())
    source.insert([dict(source_id=i, value=i) for i in range(2)])
    other = dm_params_connect()
    committed_first = []

    def before_key(key):
        if committed_first or len(result()) == 1:
            return
        rest = 1 - key["source_id"]  # lock the other key's job while this one computes
        other.start_transaction()
        where = f"source_id = {rest}"
        other.query(f"SELECT * FROM {result.jobs.ref.full_name} WHERE {where} FOR UPDATE")
        threading.Timer(1.0, other.rollback).start()

    def on_key(key, outcome):
        if not committed_first:  # the first key is committed while the lock is still held
            committed_first.append(bool(result() & key) and other.in_transaction)

    out = result.populate(reserve_jobs=True, before_key=before_key, on_key=on_key)
    assert out == {"success_count": 2, "error_list": []}
    assert committed_first == [True]
    assert _job_statuses(dm_conn, result) == {}
    other.close()
