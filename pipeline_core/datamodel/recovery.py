"""Dead workers and stale reservations (issue #13 part 2; jobs table spec §6.2-6.3).

DataJoint 2.3.5 leaves a job ``reserved`` for ever when its worker dies (``orphan_timeout``
is None by default and nothing checks that the reserving connection is alive). Here:

* :class:`Heartbeat`: a worker process records ``(host, pid, connection_id of its pipeline
  connection, run id, current table and key, last seen)`` in LabBook's ``worker`` table of
  the audit database, on a connection of its own (so a beat is never part of a ``make``
  transaction), when a key starts and every ``interval`` seconds from a daemon thread.
* :func:`recover_jobs`: a ``reserved`` job is **stale** when its ``connection_id`` is no
  longer in the server's process list, or when its worker's heartbeat (same host, pid and
  connection id) is older than ``stale_after`` seconds, or, for a worker that never
  heartbeated (a plain DataJoint worker), when its ``reserved_time`` is. A stale job returns
  to ``pending`` (any worker, DataJoint's too, reserves it again), or becomes ``error``
  "worker lost" once the key was already returned ``max_attempts`` times (counted in
  LabBook's ``recovery_attempt`` table, DataJoint's jobs table is never altered).

A killed ``make`` leaves no rows: its transaction never committed (spec §6.5).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import threading
from typing import Any

from . import audit
from .catalog import catalog_of
from .codecs import blob
from .errors import MissingTableError, TransactionError
from .expression import table_expression
from .names import jobs_table_name
from .sql import audit as audit_sql
from .sql import introspection
from .sql import recovery as sql
from .tableref import TableRef

#: Seconds after which a heartbeat (or, without one, a reservation) is stale.
STALE_AFTER = 120.0
#: Recoveries of one key before it is marked ``error``.
MAX_ATTEMPTS = 3
#: The error message of a job whose worker was lost too often.
WORKER_LOST = "worker lost"


def ensure_tables(conn, database: str) -> None:
    """Create the audit database and its ``worker`` and ``recovery_attempt`` tables when
    missing (once per connection; needs CREATE the first time).

    Raises:
        TransactionError: they must be created inside a transaction.
    """
    ready = f"recovery:{database}"
    if ready in conn.prepared:
        return
    if not (
        introspection.table_exists(conn, database, sql.WORKER_TABLE)
        and introspection.table_exists(conn, database, sql.ATTEMPT_TABLE)
    ):
        if conn.in_transaction:
            raise TransactionError("the recovery tables cannot be created inside a transaction")
        conn.query(audit_sql.create_database(database))
        conn.query(sql.create_worker_table(database))
        conn.query(sql.create_attempt_table(database))
    conn.prepared.add(ready)


class Heartbeat:
    """The heartbeat row of one worker process in ``database``'s ``worker`` table.

    Args:
        conn: the worker's pipeline connection (its ``connection_id`` is recorded, and
            follows it when it reconnects: :attr:`connection_id`; the beats go through a
            clone of it, never inside its transactions).
        database: the audit database (LabBook's ``LABBOOK_AUDIT_DB``).
        run_id: the populate run this worker works for, or None.
        interval: seconds between beats of the background thread (and the least time
            between two beats of :meth:`beat` without ``force``).

    Use as a context manager (``with Heartbeat(conn, db) as hb: table.populate(...,
    before_key=hb.before_key)``), or :meth:`start` / :meth:`stop`.

    Raises:
        LostConnectionError / AccessError: the server cannot be reached, or the tables
            cannot be created.
    """

    def __init__(self, conn, database: str, run_id: str | None = None, interval: float = 5.0):
        self.database = database
        self.run_id = run_id
        self.interval = float(interval)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._source = conn
        self.current: tuple[str | None, str | None] = (None, None)
        self._conn = conn.clone()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = 0.0
        ensure_tables(self._conn, database)

    @property
    def connection_id(self) -> int:
        """The id of the worker's pipeline connection now: after a reconnect (a lost link,
        :mod:`.populate`'s retry of transient errors) the new one, so that the jobs it
        reserves next match its heartbeat."""
        return self._source.link_id

    def beat(self, force: bool = True) -> None:
        """Write the row now (``force``), or only if ``interval`` seconds have passed."""
        import time

        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < self.interval:
                return
            table, key = self.current
            self._conn.query(
                sql.heartbeat(self.database),
                [self.host, self.pid, self.connection_id, self.run_id, table, key],
            )
            self._last = now

    def before_key(self, key: dict, table: TableRef | None = None) -> None:
        """Record that ``key`` (a primary-key dict) starts now: a beat with it as the
        current key. Pass as ``populate(..., before_key=hb.before_key)``."""
        safe = {k: audit.audit_value(_ANY, v) for k, v in key.items()}
        self.current = (None if table is None else table.full_name, json.dumps(safe))
        self.beat()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            with contextlib.suppress(Exception):  # a lost beat: retried at the next interval
                self.beat(force=False)

    def start(self) -> Heartbeat:
        """Beat now, then every ``interval`` seconds from a daemon thread."""
        self.beat()
        self._thread = threading.Thread(target=self._run, name="labbook-heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread, record no current key, and close the heartbeat connection."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
        self.current = (None, None)
        try:
            self.beat()
        finally:
            self._conn.close()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _AnyAttribute:
    """Stands for a heading attribute in :func:`audit.audit_value` (no uuid/json column)."""

    is_uuid = False
    is_json = False
    type = ""


_ANY = _AnyAttribute()


def workers(conn, database: str, seen_within: float | None = None) -> list[dict]:
    """Every worker's heartbeat row: ``host, pid, connection_id, run_id, current_table,
    current_key`` (decoded JSON or None), ``started``, ``last_seen`` (naive UTC datetimes)
    and ``age`` (seconds since the last beat), by host and pid; ``[]`` before any worker
    beat. ``seen_within``: only the rows whose last beat is at most that many seconds old."""
    if not introspection.table_exists(conn, database, sql.WORKER_TABLE):
        return []
    if seen_within is None:
        rows = conn.query(sql.workers(database), as_dict=True).fetchall()
    else:
        within = [_microseconds(seen_within)]
        rows = conn.query(sql.workers(database, recent=True), within, as_dict=True).fetchall()
    for row in rows:
        row["current_key"] = None if row["current_key"] is None else json.loads(row["current_key"])
        row["age"] = float(row["age"])
    return rows


def live_connections(conn) -> set[int]:
    """The ids of the connections in the server's process list (every connection only with
    the PROCESS privilege; without it, the account's own)."""
    return {int(row[0]) for row in conn.query(sql.process_ids()).fetchall()}


def prune_workers(conn, database: str, older_than: float) -> int:
    """Delete the heartbeat rows whose last beat is more than ``older_than`` seconds old
    (workers long gone; a job they left ``reserved`` is stale anyway: its reservation is
    older still). Returns the number of rows deleted (0 without a ``worker`` table)."""
    if not introspection.table_exists(conn, database, sql.WORKER_TABLE):
        return 0
    return conn.query(sql.prune_workers(database), [_microseconds(older_than)]).rowcount


def _microseconds(seconds: float) -> int:
    if not seconds >= 0:  # NaN too
        raise ValueError(f"a number of seconds >= 0 is needed, not {seconds!r}")
    return int(seconds * 1_000_000)


@dataclasses.dataclass(frozen=True)
class Recovery:
    """One stale reservation dealt with.

    Attributes:
        key: the job's primary key (JSON-safe values).
        outcome: ``pending`` (returned to the queue) or ``error`` ("worker lost").
        reason: ``connection gone``, ``heartbeat old`` or ``reservation old`` (no heartbeat).
        host, pid, connection_id: the lost worker, as the job recorded it.
        attempts: recoveries of this key so far (this one included).
    """

    key: dict[str, Any]
    outcome: str
    reason: str
    host: str
    pid: int
    connection_id: int
    attempts: int


def target_of(conn, jobs_ref: TableRef) -> TableRef:
    """The auto-populated table a jobs table ``~~name`` belongs to (``__name`` or
    ``_name`` in the same database); the jobs table itself when neither exists."""
    stem = jobs_ref.table[2:]
    names = {t.table_name for t in catalog_of(conn).tables(jobs_ref.database)}
    for name in (f"__{stem}", f"_{stem}"):
        if name in names and jobs_table_name(name) == jobs_ref.table:
            return jobs_ref.sibling(name)
    return jobs_ref


def recover_jobs(
    conn,
    jobs_ref: TableRef,
    database: str,
    *,
    stale_after: float = STALE_AFTER,
    max_attempts: int = MAX_ATTEMPTS,
    batch_id: str | None = None,
    dry_run: bool = False,
) -> list[Recovery]:
    """Find the stale ``reserved`` jobs of one jobs table ``~~name`` and return each to
    ``pending``, or mark it ``error`` "worker lost" when the key was already returned
    ``max_attempts`` times. Each key is dealt with in a transaction of its own, together
    with its attempt count (``database``'s ``recovery_attempt``) and, when the connection
    records an audit trail, a ``recover`` event filed under the target table
    (``changes``: ``{"status": ["reserved", outcome], "reason", "host", "pid",
    "connection_id", "attempts"}``, batch ``batch_id``). A job reserved again meanwhile (its
    connection id or reserved time changed) is left alone.

    Args:
        conn: a connection outside a transaction; it sees every connection in the process
            list only with the PROCESS privilege (otherwise other accounts' reservations
            look lost: use an account that has it, or only one account).
        jobs_ref: the jobs table (spec §6.2).
        database: the audit database holding ``worker`` and ``recovery_attempt``.
        stale_after: seconds (heartbeat age, or reservation age without a heartbeat).
        max_attempts: recoveries of one key before it is marked ``error``.
        dry_run: change nothing: the :class:`Recovery` each stale job would get.
    Returns:
        the :class:`Recovery` of each job changed (none: ``[]``).
    Raises:
        TransactionError: called inside a transaction.
        LostConnectionError / AccessError: from the server.
    """
    try:
        heading = table_expression(conn, jobs_ref).heading
    except MissingTableError:  # declared since the catalog was read (by a worker)?
        catalog_of(conn).invalidate(jobs_ref.database)
        if jobs_ref.table not in catalog_of(conn).hidden_tables(jobs_ref.database):
            return []
        heading = table_expression(conn, jobs_ref).heading
    pk = list(heading.primary_key)
    has_workers = introspection.table_exists(conn, database, sql.WORKER_TABLE)
    rows = conn.query(
        sql.reserved_jobs(jobs_ref, pk, database if has_workers else None), as_dict=True
    ).fetchall()
    if not rows:
        return []
    alive = live_connections(conn)  # read after the jobs
    stale = []
    for row in rows:
        beat = row["heartbeat_age"]
        if int(row["connection_id"]) not in alive:
            stale.append((row, "connection gone"))
        elif beat is not None and float(beat) > stale_after:
            stale.append((row, "heartbeat old"))
        elif (
            beat is None
            and row["reserved_age"] is not None
            and float(row["reserved_age"]) > stale_after
        ):
            stale.append((row, "reservation old"))
    if not stale:
        return []
    if dry_run:
        return _predicted(conn, jobs_ref, database, pk, heading, stale, max_attempts)
    ensure_tables(conn, database)
    target = target_of(conn, jobs_ref)
    batch_id = batch_id or audit.new_batch_id()
    done = []
    for row, reason in stale:
        recovery = _recover1(
            conn, jobs_ref, target, database, pk, heading, row, reason, max_attempts, batch_id
        )
        if recovery is not None:
            done.append(recovery)
    return done


def _predicted(conn, jobs_ref, database, pk, heading, stale, max_attempts) -> list[Recovery]:
    """What :func:`_recover1` would do to each stale job, read only."""
    counted = introspection.table_exists(conn, database, sql.ATTEMPT_TABLE)
    found = []
    for row, reason in stale:
        key_json = audit.key_of(heading, pk, [row[k] for k in pk])
        previous = 0
        if counted:
            place = [jobs_ref.database, jobs_ref.table, audit.key_hash(key_json)]
            attempts = conn.query(sql.attempts(database), place).fetchone()
            previous = int(attempts[0]) if attempts else 0
        outcome = "error" if previous >= max_attempts else "pending"
        who = (row["host"], int(row["pid"]), int(row["connection_id"]))
        found.append(Recovery(key_json, outcome, reason, *who, previous + 1))
    return found


def _recover1(conn, jobs_ref, target, database, pk, heading, row, reason, max_attempts, batch_id):
    """One stale job in one transaction; None when it was reserved again meanwhile."""
    key = {k: row[k] for k in pk}
    key_json = audit.key_of(heading, pk, [row[k] for k in pk])
    hashed = audit.key_hash(key_json)
    who = (row["host"], int(row["pid"]), int(row["connection_id"]))
    place = [jobs_ref.database, jobs_ref.table, hashed]
    conn.start_transaction()
    try:
        found = conn.query(sql.attempts(database), place).fetchone()
        previous = int(found[0]) if found else 0
        outcome = "error" if previous >= max_attempts else "pending"
        if outcome == "pending":
            statement = sql.release(jobs_ref, key, who[2], row["reserved_time"])
        else:
            text = (
                f"{WORKER_LOST}: {reason} ({who[0]}, pid {who[1]}, connection {who[2]}); "
                f"returned to pending {previous} times before"
            )
            statement = sql.lose(
                jobs_ref, key, who[2], row["reserved_time"], WORKER_LOST, blob.pack(text)
            )
        if conn.query(*statement).rowcount != 1:  # reserved again, or finished: not ours
            conn.rollback()
            return None
        conn.query(sql.count_attempt(database), [*place, audit.canonical_json(key_json)])
        if conn.audit is not None:
            changes = {
                "status": ["reserved", outcome],
                "reason": reason,
                "host": who[0],
                "pid": who[1],
                "connection_id": who[2],
                "attempts": previous + 1,
            }
            conn.audit.record(conn, [audit.Event("recover", target, key_json, changes, batch_id)])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return Recovery(key_json, outcome, reason, who[0], who[1], who[2], previous + 1)


#: Columns a 2.x jobs table has that recovery reads and writes (spec §6.2).
JOB_COLUMNS = frozenset({"status", "reserved_time", "host", "pid", "connection_id"})


def jobs_tables(conn, databases) -> list[TableRef]:
    """The 2.x jobs tables (``~~name`` with the job columns of spec §6.2) of ``databases``;
    other tables named ``~~...`` are left out."""
    catalog = catalog_of(conn)
    catalog.load(list(databases))
    refs = [
        TableRef(db, name)
        for db in databases
        for name in catalog.hidden_tables(db)
        if name.startswith("~~")
    ]
    return [r for r in refs if set(catalog.get(r).heading.names) >= JOB_COLUMNS]
