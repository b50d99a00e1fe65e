"""Fetch variants (to_dicts, fetch, fetch1, to_arrays, to_pandas, keys, head, tail, len,
bool, in, iteration, stream) and per-query time limits (spec §9.7)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.sql.limits import with_time_limit
from tests.oracle import query_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(dm_conn, pipeline_prefix):
    ns = query_pipeline.declare(dm, dm.Schema(pipeline_prefix + "fetchvar", connection=dm_conn))
    query_pipeline.load(ns, query_pipeline.rows())
    return ns


def test_variants_agree(lab):
    trial = lab.Session.Trial
    rows = trial.to_dicts(order_by="KEY")
    assert len(trial) == len(rows) == len(list(trial)) and bool(trial)
    assert not (trial & "trial_id > 1000")
    assert rows[0] in trial and {"subject_id": 999} not in trial
    assert trial.keys(order_by="KEY") == [{k: r[k] for k in trial.primary_key} for r in rows]
    assert trial.head(3) == rows[:3] and trial.tail(3) == rows[-3:]
    assert trial.fetch("side", order_by="KEY") == [r["side"] for r in rows]
    assert trial.fetch(order_by="KEY", limit=4, offset=2) == rows[2:6]
    assert (trial & rows[5]).fetch1("side", "correct") == (rows[5]["side"], rows[5]["correct"])


def test_to_arrays(lab):
    subject = lab.Subject
    records = subject.to_arrays(order_by="KEY")
    assert records.dtype["subject_id"] == np.int32 and records.dtype["weight"] == np.dtype(object)
    assert records["subject_id"].tolist() == list(range(1, 15))
    ids, weights = subject.to_arrays("subject_id", "weight", order_by="KEY")
    assert ids.dtype.kind == "i" and weights.tolist() == records["weight"].tolist()
    keys, sexes = subject.to_arrays("sex", include_key=True, order_by="KEY")
    assert keys[0] == {"subject_id": 1} and len(sexes) == 14
    signals = lab.Recording.to_arrays("signal")
    assert signals.dtype == object and signals[0].shape == (16,)


def test_to_pandas(lab):
    frame = (lab.Session * lab.Subject).to_pandas(order_by="KEY")
    assert list(frame.index.names) == ["subject_id", "session_id"]
    assert len(frame) == len(lab.Session) and "species" in frame.columns


def test_stream_reads_rows_while_the_connection_stays_usable(lab, dm_conn):
    trial = lab.Session.Trial
    expected = trial.to_dicts(order_by="KEY")
    seen = []
    for row in trial.stream(batch_size=10, order_by="KEY"):
        seen.append(row)
        assert (
            len(lab.Subject & {"subject_id": row["subject_id"]}) == 1
        )  # same connection, meanwhile
    assert seen == expected

    def stream_inside_a_transaction():  # the transaction's own rows, then a rollback
        with dm_conn.transaction():
            lab.Species.insert1(dict(species="axolotl", common_name="axolotl"))
            assert [r["species"] for r in lab.Species.stream(batch_size=2)].count("axolotl") == 1
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError, match="roll back"):
        stream_inside_a_transaction()
    assert not lab.Species & {"species": "axolotl"}


def test_time_limit_stops_a_slow_query(lab):
    slow = lab.Subject & "SLEEP(0.2) = 0"  # 14 rows: 2.8 s without a limit
    with pytest.raises(dm.QueryTimeoutError, match="time limit"):
        slow.to_dicts(timeout=0.5)
    with pytest.raises(dm.QueryTimeoutError):
        list(slow.stream(timeout=0.5))
    assert len(lab.Subject.to_dicts(timeout=5)) == 14


def test_time_limit_sql():
    assert (
        with_time_limit("SELECT 1", 1.5, True)
        == "SET STATEMENT max_statement_time=1.500 FOR SELECT 1"
    )
    assert (
        with_time_limit("SELECT `a` FROM t", 0.25, False)
        == "SELECT /*+ MAX_EXECUTION_TIME(250) */ `a` FROM t"
    )
    assert (
        with_time_limit("SELECT 1", 0.0001, True)
        == "SET STATEMENT max_statement_time=0.001 FOR SELECT 1"
    )
    assert with_time_limit("SELECT 1", 0.0001, False) == "SELECT /*+ MAX_EXECUTION_TIME(1) */ 1"
    with pytest.raises(ValueError, match="only SELECT statements take a time limit"):
        with_time_limit("DELETE FROM t", 1, True)
    with pytest.raises(ValueError, match="a time limit must be positive, not 0"):
        with_time_limit("SELECT 1", 0, True)


# --- review fixes: each case was wrong before ---------------------------------------------------
def test_fetching_some_attributes_keeps_having_order_and_distinct(lab):
    """Only the named attributes are selected, yet HAVING, ORDER BY on a renamed attribute
    and DISTINCT still see what they need (the full SELECT becomes a derived table)."""
    s, subject = lab.Session, lab.Subject
    counted = subject.aggr(s, n="count(*)") & "n > 1"
    full = counted.to_dicts(order_by="KEY")
    assert full and counted.fetch("subject_id", order_by="KEY") == [r["subject_id"] for r in full]
    renamed = subject.proj(w="weight")
    expected = [r["subject_id"] for r in renamed.to_dicts(order_by=["w DESC", "KEY"])]
    assert renamed.fetch("subject_id", order_by=["w DESC", "KEY"]) == expected
    distinct = dm.U("sex", "species") & subject
    assert len(distinct.fetch("sex")) == len(distinct) == len(distinct.to_dicts())
    assert len(subject.to_arrays("sex")) == len(subject)


def test_fetch_key_with_attributes(lab):
    rows = lab.Subject.to_dicts(order_by="KEY")
    keys, sexes = lab.Subject.fetch("KEY", "sex", order_by="KEY")
    assert keys == [{"subject_id": r["subject_id"]} for r in rows] and sexes == [
        r["sex"] for r in rows
    ]


def test_left_join_makes_the_right_attributes_nullable(lab):
    extended = lab.Subject.extend(lab.Lab)
    assert extended.heading["lab_name"].nullable and not lab.Lab.heading["lab_name"].nullable
    from pipeline_core.datamodel.paging import page

    rows, cursor, seen = None, None, []
    while True:
        rows, cursor = page(extended, ["lab_name DESC"], cursor, 4)
        seen += rows
        if cursor is None:
            break
    assert len(seen) == len(extended) and any(r["lab_name"] is None for r in seen)


def test_aggregate_names_must_be_new(lab):
    with pytest.raises(dm.QueryError, match="`sex` already exists"):
        lab.Subject.aggr(lab.Session, "sex", sex="count(*)")
    with pytest.raises(dm.QueryError, match="`subject_id` already exists"):
        dm.U("subject_id").aggr(lab.Session, subject_id="count(*)")
    with pytest.raises(dm.QueryError, match="needs aggr"):
        lab.Subject.proj(n=dm.Aggregate("count"))


def test_values_that_sql_cannot_compare_are_refused(lab):
    for bad in ("NaN", "inf", "-Infinity", "1e999", float("inf")):
        with pytest.raises(dm.InvalidValueError, match="`weight`"):
            (lab.Subject & {"weight": bad}).to_dicts()
        if bad != "1e999":  # a finite decimal: compared exactly, matches nothing
            with pytest.raises(dm.InvalidValueError, match="`budget`"):
                (lab.Lab & {"budget": bad}).to_dicts()
    budget = lab.Lab.to_dicts(order_by="KEY")[0]["budget"]
    assert len(lab.Lab & {"budget": str(budget)}) == 1  # a decimal compared exactly


def test_cursor_values_are_checked(lab):
    from pipeline_core.datamodel.paging import ordering, page

    with pytest.raises(dm.InvalidValueError, match=r"`sex`.*not one of"):
        page(lab.Subject, ["sex"], {"sex": "Q", "subject_id": 1}, 3)
    assert (
        page(lab.Subject, ["sex"], {"sex": "m", "subject_id": 1}, 50)[0]
        == page(lab.Subject, ["sex"], {"sex": "M", "subject_id": 1}, 50)[0]
    )
    assert ordering(lab.Session, ["subject_id DESC", "KEY"]) == [
        ("subject_id", True),
        ("session_id", False),
    ]


def test_a_table_joined_with_itself(lab):
    """``S.join(S)``: the second use of the table is aliased (the server refuses the same
    name twice in a FROM, error 1066)."""
    subject = lab.Subject
    rows = [
        r for r in subject.to_dicts(order_by="KEY") if None not in r.values()
    ]  # NULL = NULL fails
    assert rows and subject.join(subject, semantic_check=False).to_dicts(order_by="KEY") == rows
    with pytest.raises(dm.DataJointError, match="lineage"):  # DataJoint's semantic check
        subject * subject


def test_an_abandoned_iteration_stops_the_server_sending(dm_conn, new_db):
    """Leaving a stream early closes the unbuffered result without reading the rest: the
    server sends far less than the table (about 40 MB of blobs here)."""
    schema = dm.Schema(new_db("abandon"), connection=dm_conn)

    @schema
    class Big(dm.Manual):
        definition = """
        big_id: int32
        ---
        payload: <blob>
        """

    chunk = np.random.default_rng(0).standard_normal(50_000)  # 400 kB, incompressible
    for start in range(0, 100, 20):
        Big.insert([dict(big_id=i, payload=chunk) for i in range(start, start + 20)])

    def sent() -> int:
        return int(dm_conn.query("SHOW GLOBAL STATUS LIKE 'Bytes_sent'").fetchone()[1])

    before = sent()
    rows = Big().stream(batch_size=2)
    assert np.array_equal(next(rows)["payload"], chunk)
    rows.close()
    assert sent() - before < 10_000_000
    assert len(Big()) == 100  # the connection is still usable
    before = sent()
    assert sum(1 for _ in Big()) == 100  # a whole iteration reads everything
    assert sent() - before > 40_000_000
