"""Automatic retry of transient ``make`` failures during one populate call (issue #13).

With ``reserve_jobs``, a key whose ``make`` failed with a transient error
(:mod:`.transient`: lost connection, deadlock, lock wait timeout) is not marked ``error``:
its job goes back to ``pending`` with ``scheduled_time`` = now + back-off (spec §6.3, so
DataJoint 2.x workers, which reserve only ``pending`` jobs scheduled by now, wait as
well), in one transaction with a count in LabBook's ``transient_attempt`` table (audit
database; the limit holds across worker processes) and a ``retry_transient`` audit event.
Only a job still reserved by this worker (its connection id before or after a reconnect)
is changed: one that :mod:`.recovery` returned to ``pending`` meanwhile, or that another
worker took, is left alone. After ``retries`` retries the next transient failure makes the
job ``error`` ("retries exhausted"), like any other error; its count is forgotten then, so
that a person's retry starts afresh.

Without a jobs table the key is retried at once in the same call, after the back-off.
The populate call does not end while keys it deferred are still waiting:
:meth:`TransientRetry.due` waits for the earliest and hands them back to be reserved again.
"""

from __future__ import annotations

import dataclasses
import time
import traceback

from . import audit
from .codecs import blob
from .errors import AccessError, DataJointError, TransactionError
from .sql import audit as audit_sql
from .sql import introspection
from .sql import jobs as jobs_sql
from .sql import retry as sql
from .transient import LOST_CONNECTION, RetryPolicy
from .values import decode

#: Verdicts of :meth:`TransientRetry.failed`.
DEFERRED = "deferred"  # the job waits as pending; the pass tries it again later
AGAIN = "again"  # no jobs table: try again now (the back-off was waited)
EXHAUSTED = "exhausted"  # retries used up: an error like any other
SKIPPED = "skipped"  # not ours any more, and the key is computed
GONE = "gone"  # not ours any more: another worker or a person has it
#: Longest sleep between two looks at the deferred jobs, seconds.
_MAX_SLEEP = 5.0
_MAX_MESSAGE = 2047


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What became of a transient failure: ``kind`` (one of the constants above) and, for
    :data:`EXHAUSTED`, the error ``message`` recorded."""

    kind: str
    message: str = ""


def ensure_table(conn, database: str) -> None:
    """Create the audit database and its ``transient_attempt`` table when missing (once
    per connection; needs CREATE the first time).

    Raises:
        TransactionError: it must be created inside a transaction.
    """
    ready = f"transient:{database}"
    if ready in conn.prepared:
        return
    if not introspection.table_exists(conn, database, sql.TRANSIENT_TABLE):
        if conn.in_transaction:
            raise TransactionError("the transient_attempt table cannot be created in a transaction")
        conn.query(audit_sql.create_database(database))
        conn.query(sql.create_table(database))
    conn.prepared.add(ready)


def error_text(exc: BaseException) -> str:
    """``"ExcClass: message"`` as a job's ``error_message`` holds it (spec §6.2)."""
    return f"{type(exc).__name__}: {exc}"


def clip(message: str) -> str:
    """``message`` cut to the jobs table's 2047 characters (spec §6.2)."""
    if len(message) > _MAX_MESSAGE:
        return message[: _MAX_MESSAGE - 12] + "...truncated"
    return message


class TransientRetry:
    """The transient failures of one populate call of ``table``.

    Args:
        table: the Imported/Computed table instance being populated.
        jobs: its :class:`~.jobs.JobTable`, or None (no reservation: retries inline).
        policy: retries, back-off, and where to count (:class:`.transient.RetryPolicy`).
        run_id: the batch id of the audit events (the populate run).
    """

    def __init__(self, table, jobs, policy: RetryPolicy, run_id: str):
        self.table = table
        self.conn = table.connection
        self.jobs = jobs
        self.policy = policy
        self.run_id = run_id
        trail = self.conn.audit
        self.database = policy.database or (trail.database if trail is not None else None)
        self._counts: dict[tuple, int] = {}  # without a database: this call's own count
        self._deferred: set[tuple] = set()  # keys this call deferred (their count is forgotten)
        self.waiting: dict[tuple, dict] = {}  # keys of this call waiting as pending jobs
        self._unreserved: dict[tuple, int] = {}  # transient failures to reserve, per key
        self._not_before: dict[tuple, float] = {}  # their back-off ends (monotonic clock)

    def ident(self, key: dict) -> tuple:
        """A key as a hashable tuple of its (decoded) values in key order."""
        names = self.jobs.primary_key if self.jobs is not None else list(key)
        return tuple(key[k] for k in names)

    # ---------------------------------------------------------------------------- failures

    def failed(
        self, key: dict, exc: BaseException, reason: str, start: float, old_id: int
    ) -> Verdict:
        """Deal with a transient failure of ``make(key)`` (its transaction rolled back):
        reconnect when the connection was lost, then defer the job (or, without jobs
        table, wait the back-off: :data:`AGAIN`), or end it as an error once ``retries``
        retries were made (:data:`EXHAUSTED`, the job updated here).

        Args:
            old_id: the connection id the key was reserved with.
        Raises:
            LostConnectionError and others: the server cannot be reached again.
        """
        if reason == LOST_CONNECTION:
            self._reconnect()
        ids = (old_id, self.conn.link_id)
        message = error_text(exc)
        if self.jobs is None:
            return self._inline(key, message, reason, ids)
        if self.database is not None:
            ensure_table(self.conn, self.database)
        encoded = self.table._encoded(key)
        key_json = self._key_json(key)
        place = self._place(key_json)
        stack = blob.pack("".join(traceback.format_exception(exc)))
        retries = self.policy.retries
        conn = self.conn
        conn.start_transaction()
        try:
            attempt = self._count(key, place) + 1
            if attempt <= retries:
                delay = self.policy.delay(attempt)
                note = f"transient error ({reason}), retry {attempt} of {retries} in {delay:.1f} s"
                statement = jobs_sql.defer(
                    self.jobs.ref, encoded, delay, clip(f"{note}: {message}"), stack, ids
                )
            else:
                note = f"transient error ({reason}), retries exhausted ({retries} of {retries})"
                duration = time.monotonic() - start
                statement = jobs_sql.fail_reserved(
                    self.jobs.ref, encoded, duration, clip(f"{note}: {message}"), stack, ids
                )
            if conn.query(*statement, table=self.jobs.ref).rowcount != 1:
                conn.rollback()  # recovered, or reserved again, meanwhile
                return self._not_ours(key)
            if attempt > retries:
                if self.database is not None:
                    conn.query(sql.forget(self.database), place)
            else:
                if self.database is not None:
                    conn.query(sql.count(self.database), [*place, audit.canonical_json(key_json)])
                if conn.audit is not None:
                    changes = self._changes(reason, message, attempt, delay, ids)
                    self._record(key_json, {"status": ["reserved", "pending"], **changes})
            conn.commit()
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        ident = self.ident(key)
        if attempt > retries:
            self._counts.pop(ident, None)
            self._deferred.discard(ident)
            return Verdict(EXHAUSTED, clip(f"{note}: {message}"))
        self._counts[ident] = attempt
        self._deferred.add(ident)
        self.waiting[ident] = dict(key)
        return Verdict(DEFERRED)

    def _key_json(self, key: dict) -> dict:
        """The JSON-safe key, as audit events and counts file it."""
        encoded = self.table._encoded(key)
        return audit.key_of(self.table.heading, list(encoded), list(encoded.values()))

    def _place(self, key_json: dict) -> list:
        """``[schema, jobs table, key hash]``: a key's row in ``transient_attempt``."""
        return [self.jobs.ref.database, self.jobs.ref.table, audit.key_hash(key_json)]

    def _changes(self, reason: str, message: str, attempt: int, delay: float, ids: tuple) -> dict:
        """The details of a ``retry_transient`` event (``connection_id``: the worker's
        connection id before and after the failure; different after a reconnect)."""
        return {
            "reason": reason,
            "error": message[:500],
            "retry": attempt,
            "retries": self.policy.retries,
            "delay": round(delay, 3),
            "connection_id": list(ids),
        }

    def _record(self, key_json: dict, changes: dict) -> None:
        """A ``retry_transient`` event filed under the table, in the open transaction."""
        event = audit.Event("retry_transient", self.table.ref, key_json, changes, self.run_id)
        self.conn.audit.record(self.conn, [event])

    def _count(self, key: dict, place: list) -> int:
        """Transient failures of ``key`` counted so far (locked in the open transaction)."""
        if self.database is None:
            return self._counts.get(self.ident(key), 0)
        row = self.conn.query(sql.attempts(self.database), place).fetchone()
        return int(row[0]) if row else 0

    def _inline(self, key: dict, message: str, reason: str, ids: tuple) -> Verdict:
        """No jobs table: wait the back-off and try again, up to ``retries`` times."""
        ident = self.ident(key)
        attempt = self._counts.get(ident, 0) + 1
        retries = self.policy.retries
        if attempt > retries:
            self._counts.pop(ident, None)
            note = f"transient error ({reason}), retries exhausted ({retries} of {retries})"
            return Verdict(EXHAUSTED, clip(f"{note}: {message}"))
        self._counts[ident] = attempt
        delay = self.policy.delay(attempt)
        conn = self.conn
        if conn.audit is not None:  # an event of its own: no write goes with it
            with conn.transaction():
                self._record(
                    self._key_json(key), self._changes(reason, message, attempt, delay, ids)
                )
        time.sleep(delay)
        return Verdict(AGAIN)

    def _not_ours(self, key: dict) -> Verdict:
        """The job is no longer reserved by this worker: computed (a COMMIT whose answer
        was lost, or another worker) -> :data:`SKIPPED`; returned to ``pending`` by
        recovery -> waits with this call's deferred keys; otherwise :data:`GONE`."""
        if bool(type(self.table)() & key):
            return Verdict(SKIPPED)
        states = self._states([key])
        if states.get(self.ident(key), ("", 0))[0] == "pending":
            self.waiting[self.ident(key)] = dict(key)
        return Verdict(GONE)

    def _reconnect(self) -> None:
        """A new link for the worker's connection; when the server does not answer, tried
        again after the back-off, ``retries`` more times."""
        for attempt in range(self.policy.retries + 1):
            try:
                self.conn.reconnect()
                return
            except AccessError:
                raise
            except DataJointError:
                if attempt >= self.policy.retries:
                    raise
                time.sleep(self.policy.delay(attempt + 1))

    def ended(self, key: dict) -> None:
        """``key``'s job ended (computed, or an error of another kind): forget the count of
        a key this call deferred, so that a person's retry starts afresh."""
        ident = self.ident(key)
        self._counts.pop(ident, None)
        if ident in self._deferred and self.database is not None and self.jobs is not None:
            self._deferred.discard(ident)
            self.conn.query(sql.forget(self.database), self._place(self._key_json(key)))

    # ------------------------------------------------------------------------ waiting keys

    def wait(self, key: dict) -> None:
        """Try ``key`` again with the deferred keys (its reservation failed transiently),
        at most ``retries`` times in this call (then its job stays ``pending`` for the
        next populate)."""
        ident = self.ident(key)
        failures = self._unreserved.get(ident, 0) + 1
        self._unreserved[ident] = failures
        if failures <= self.policy.retries:  # after the back-off, as a failed make()
            self._not_before[ident] = time.monotonic() + self.policy.delay(failures)
            self.waiting[ident] = dict(key)

    def _states(self, keys: list[dict]) -> dict[tuple, tuple[str, float]]:
        """``ident -> (status, seconds until scheduled)`` of the jobs of ``keys``."""
        pk = self.jobs.primary_key
        heading = self.table.heading
        statement = jobs_sql.job_states(self.jobs.ref, pk, self.jobs.encode_keys(keys))
        states = {}
        for row in self.conn.query(*statement, table=self.jobs.ref).fetchall():
            ident = tuple(decode(heading[k], v) for k, v in zip(pk, row[: len(pk)]))
            states[ident] = (row[len(pk)], float(row[len(pk) + 2] or 0))
        return states

    def due(self) -> list[dict]:
        """The keys of this call that wait as ``pending`` jobs, once the earliest of them
        is schedulable (sleeping until then, :data:`_MAX_SLEEP` s at a time); those whose
        job is no longer pending (another worker took it, a person changed it) are
        dropped. ``[]`` when none waits."""
        while self.waiting and self.jobs is not None:
            states = self._states(list(self.waiting.values()))
            for ident in list(self.waiting):
                if states.get(ident, ("",))[0] != "pending":
                    del self.waiting[ident]
            if not self.waiting:
                break
            now = time.monotonic()
            waits = {i: max(states[i][1], self._not_before.get(i, now) - now) for i in self.waiting}
            soonest = min(waits.values())
            if soonest > 0:
                time.sleep(min(soonest + 0.001, _MAX_SLEEP))
                continue
            return [self.waiting.pop(i) for i in self.waiting.copy() if waits[i] <= 0]
        return []
