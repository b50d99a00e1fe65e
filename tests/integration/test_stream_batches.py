"""``fetch.stream_batches``: rows as tuples in heading order, batch by batch, from one
unbuffered SELECT (order, limit, decoding of blobs, uuids and json only), the same rows as
``to_dicts``; a generator closed early stops the server sending; the connection's own
queries keep working meanwhile; ``write_timeout`` is set on the reading connection only."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.fetch import stream_batches
from pipeline_core.datamodel.sql.limits import session_write_timeout

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mixed(dm_conn, pipeline_prefix):
    schema = dm.Schema(pipeline_prefix + "streambatch", connection=dm_conn)

    @schema
    class Mixed(dm.Manual):
        definition = """
        item_id: int32
        ---
        label: varchar(20)
        amount=null: decimal(7,2)
        tag=null: uuid
        meta=null: json
        signal=null: <blob>
        seen=null: datetime
        """

    rows = [
        dict(
            item_id=i,
            label=f"item, {i}",
            amount=None if i % 3 == 0 else f"{i}.25",
            tag=uuid.UUID(int=i) if i % 2 else None,
            meta={"i": i, "odd": bool(i % 2)} if i % 4 else None,
            signal=np.arange(i, dtype=np.float64) if i % 5 else None,
            seen=f"2026-01-{1 + i % 28:02d} 10:{i % 60:02d}:00",
        )
        for i in range(1, 48)
    ]
    Mixed.insert(rows)
    return Mixed


def as_tuples(expr, rows: list[dict]) -> list[tuple]:
    return [tuple(row[name] for name in expr.heading.names) for row in rows]


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b


def assert_rows_equal(got: list[tuple], expected: list[tuple]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert len(g) == len(e) and all(same(x, y) for x, y in zip(g, e)), (g, e)


def test_batches_hold_the_rows_of_to_dicts_in_heading_order(mixed):
    batches = list(stream_batches(mixed, 10, ["item_id DESC"]))
    assert [len(b) for b in batches] == [10, 10, 10, 10, 7]
    got = [row for batch in batches for row in batch]
    expected = as_tuples(mixed, mixed.to_dicts(order_by=["item_id DESC"]))
    assert_rows_equal(got, expected)
    tags = [row[mixed.heading.names.index("tag")] for row in got]
    assert {type(t) for t in tags} == {uuid.UUID, type(None)}


def test_limit_order_and_a_query(mixed):
    query = (mixed & "item_id > 10").proj("label", "signal", double="amount * 2")
    got = [r for b in stream_batches(query, 4, ["label", "item_id"], limit=9) for r in b]
    expected = as_tuples(query, query.to_dicts(order_by=["label", "item_id"], limit=9))
    assert_rows_equal(got, expected)


def test_the_connection_stays_usable_while_batches_are_read(mixed, dm_conn):
    for batch in stream_batches(mixed, 5):
        assert dm_conn.query("SELECT COUNT(*) FROM " + mixed.full_table_name).fetchone()[0] == 47
        assert batch


def server_queries(conn, marker: str) -> int:
    """Statements of other sessions whose text names ``marker``."""
    return conn.query(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE INFO LIKE %s AND ID <> CONNECTION_ID()",
        [f"%{marker}%"],
    ).fetchone()[0]


def test_closing_early_stops_the_server_sending(dm_conn, new_db):
    """A result far larger than the socket buffers: while it is read the server is still
    sending (its statement is in the process list); after close() it is gone."""
    database = new_db("streamclose")
    schema = dm.Schema(database, connection=dm_conn)

    @schema
    class Many(dm.Manual):
        definition = """
        n: int32
        ---
        text: varchar(64)
        """

    dm_conn.query(
        f"INSERT INTO {Many.full_table_name} SELECT seq, REPEAT('x', 60) "
        f"FROM `{database}`.seq_1_to_300000"
    )
    batches = stream_batches(Many, 100, write_timeout=120)
    assert len(next(batches)) == 100
    assert server_queries(dm_conn, database) == 1
    batches.close()
    for _ in range(100):  # the server notices the closed socket at its next write
        if server_queries(dm_conn, database) == 0:
            break
        time.sleep(0.1)
    assert server_queries(dm_conn, database) == 0
    assert dm_conn.query(f"SELECT COUNT(*) FROM {Many.full_table_name}").fetchone()[0] == 300_000


def test_write_timeout_is_set_on_the_reading_connection_only(dm_conn, mixed):
    before = dm_conn.query("SELECT @@SESSION.net_write_timeout").fetchone()[0]
    with dm_conn.unbuffered("SELECT @@SESSION.net_write_timeout AS t", write_timeout=1234) as rows:
        assert rows.fetchmany(1) == [{"t": 1234}]
    assert dm_conn.query("SELECT @@SESSION.net_write_timeout").fetchone()[0] == before != 1234
    with pytest.raises(ValueError, match="positive"):
        session_write_timeout(0)
