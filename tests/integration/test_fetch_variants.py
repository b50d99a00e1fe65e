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
    assert records.dtype["subject_id"] == np.int32 and records.dtype["weight"] == object
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
        assert len(lab.Subject & {"subject_id": row["subject_id"]}) == 1  # same connection, meanwhile
    assert seen == expected
    with pytest.raises(RuntimeError):  # inside a transaction: the transaction's own rows
        with dm_conn.transaction():
            lab.Species.insert1(dict(species="axolotl", common_name="axolotl"))
            assert [r["species"] for r in lab.Species.stream(batch_size=2)].count("axolotl") == 1
            raise RuntimeError("roll back")
    assert not lab.Species & {"species": "axolotl"}


def test_time_limit_stops_a_slow_query(lab):
    slow = lab.Subject & "SLEEP(0.2) = 0"  # 14 rows: 2.8 s without a limit
    with pytest.raises(dm.QueryTimeoutError, match="time limit"):
        slow.to_dicts(timeout=0.5)
    with pytest.raises(dm.QueryTimeoutError):
        list(slow.stream(timeout=0.5))
    assert len(lab.Subject.to_dicts(timeout=5)) == 14


def test_time_limit_sql():
    assert with_time_limit("SELECT 1", 1.5, True) == "SET STATEMENT max_statement_time=1.500 FOR SELECT 1"
    assert with_time_limit("SELECT `a` FROM t", 0.25, False) == "SELECT /*+ MAX_EXECUTION_TIME(250) */ `a` FROM t"
    assert with_time_limit("SELECT 1", 0.0001, True) == "SET STATEMENT max_statement_time=0.001 FOR SELECT 1"
    assert with_time_limit("SELECT 1", 0.0001, False) == "SELECT /*+ MAX_EXECUTION_TIME(1) */ 1"
    with pytest.raises(ValueError):
        with_time_limit("DELETE FROM t", 1, True)
    with pytest.raises(ValueError):
        with_time_limit("SELECT 1", 0, True)
