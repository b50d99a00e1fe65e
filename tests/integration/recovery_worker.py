"""A plain worker process of the kill test (tests/integration/test_recovery.py): the data
model's ``populate(reserve_jobs=True)`` with a :class:`~pipeline_core.datamodel.recovery.
Heartbeat`, looping until every key of ``Result`` is computed.

    python -m tests.integration.recovery_worker DATABASE AUDIT_DB

Connection from ``DJ_HOST``/``DJ_USER``/``DJ_PASS``. ``make`` inserts the master row,
sleeps 25 ms, inserts 3 part rows and sleeps 25 ms more, so a SIGKILL usually lands inside
its transaction.
"""

from __future__ import annotations

import os
import sys
import time

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import recovery

PARTS = 3
MAKE_SECONDS = 0.05


def declare(conn, database: str):
    """``Source`` (source_id) and ``Result`` with part ``Result.Piece`` (3 per key)."""
    schema = dm.Schema(database, connection=conn)

    @schema
    class Source(dm.Manual):
        definition = """
        source_id: int32
        """

    @schema
    class Result(dm.Computed):
        definition = """
        -> Source
        ---
        worker_pid: int32
        """

        class Piece(dm.Part):
            definition = """
            -> master
            piece: int16
            """

        def make(self, key):
            self.insert1(dict(key, worker_pid=os.getpid()))
            time.sleep(MAKE_SECONDS / 2)
            Result.Piece.insert([dict(key, piece=i) for i in range(PARTS)])
            time.sleep(MAKE_SECONDS / 2)

    return Source, Result


def connect() -> dm.Connection:
    """A connection from the DJ_* variables."""
    return dm.connect(
        os.environ.get("DJ_HOST", "127.0.0.1:3306"),
        os.environ.get("DJ_USER", "root"),
        os.environ.get("DJ_PASS", ""),
    )


def main(database: str, audit_db: str) -> None:
    conn = connect()
    _, result = declare(conn, database)
    with recovery.Heartbeat(conn, audit_db, run_id="kill-test", interval=1.0) as beat:
        while True:
            result.populate(
                reserve_jobs=True,
                suppress_errors=True,
                before_key=lambda key: beat.before_key(key, result.ref),
            )
            remaining, _ = result().progress()
            if remaining == 0:
                return
            time.sleep(0.1)  # keys reserved by others, or lost and not yet recovered


if __name__ == "__main__":
    main(*sys.argv[1:3])
