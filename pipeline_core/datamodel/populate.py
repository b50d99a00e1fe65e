"""populate(): key_source, make() in one transaction, and job reservation (spec §6).

Mixed into Imported and Computed. Each make(key) runs inside
``START TRANSACTION WITH CONSISTENT SNAPSHOT``; with ``reserve_jobs=True`` a key is
taken by one conditional UPDATE of ``~~<name>`` whose row count decides (spec §6.4), so
no key is computed twice by concurrent workers.
"""

from __future__ import annotations

import os
import random
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

from . import audit
from .codecs import blob
from .errors import DataJointError, PopulateError
from .expression import table_expression
from .jobs import JobTable
from .retry import AGAIN, EXHAUSTED, SKIPPED, TransientRetry, clip, error_text
from .sql import jobs as jobs_sql
from .transient import LOCK_WAIT_TIMEOUT, RetryPolicy, transient_reason
from .values import decode, encode


class AutoPopulate:
    """populate(), progress(), key_source and jobs for Imported/Computed tables."""

    @property
    def key_source(self):
        """Join of the parents referenced by primary foreign keys, each projected to its
        primary key with the FK's renames (spec §6.1).

        Raises:
            PopulateError: the table has no primary foreign key.
        """
        info = self.table_info()
        source = None
        for fk in info.foreign_keys:
            if not fk.primary:
                continue
            parent = table_expression(self.connection, fk.parent)
            renames = {
                child: parent_col for child, parent_col in fk.attr_map if child != parent_col
            }
            part = parent.proj(**renames)
            source = part if source is None else source * part
        if source is None:
            raise PopulateError(
                f"{self.full_table_name} has no primary foreign key: nothing to populate from",
                table=self.full_table_name,
            )
        return source

    @property
    def jobs(self) -> JobTable:
        return JobTable(self)

    def _keys_todo(self, restrictions):
        source = self.key_source
        for restriction in restrictions:
            source = source & restriction
        return source.proj() - table_expression(self.connection, self.ref)

    def progress(self, *restrictions) -> tuple[int, int]:
        """``(remaining, total)`` keys of key_source (restricted), one query (spec §6.1)."""
        source = self.key_source
        for restriction in restrictions:
            source = source & restriction
        pk = source.heading.primary_key
        sql, params = jobs_sql.progress(source.proj().node, self.ref, pk)
        total, remaining = self.connection.query(sql, params).fetchone()
        return int(remaining), int(total)

    def make(self, key: dict) -> None:  # pragma: no cover - overridden by users
        """Compute and insert the rows for one key of key_source. Override this."""
        raise NotImplementedError(f"{type(self).__name__}.make() is not defined")

    def populate(
        self,
        *restrictions: Any,
        reserve_jobs: bool = False,
        suppress_errors: bool = False,
        max_calls: int | None = None,
        priority: int | None = None,
        keep_completed: bool = False,
        on_key: Callable[[dict, str], None] | None = None,
        run_id: str | None = None,
        before_key: Callable[[dict], None] | None = None,
        retry: RetryPolicy | None = None,
    ) -> dict:
        """Call make(key) for every key of key_source (restricted) not yet in the table.

        Args:
            restrictions: conditions applied to key_source.
            reserve_jobs: coordinate through the jobs table ``~~<name>`` (distributed).
            suppress_errors: record errors and go on, instead of raising the first.
            max_calls: process at most this many keys.
            priority: with reserve_jobs, only jobs with priority <= this.
            keep_completed: keep ``success`` rows in the jobs table instead of deleting.
            on_key: called ``(key, outcome)`` once per key, with its final outcome
                ('success'/'error'/'skipped'; a transient failure that is retried is not
                an outcome).
            before_key: called ``(key)`` when a key starts: after its job is reserved,
                before make()'s transaction opens (e.g. a worker's heartbeat,
                :class:`.recovery.Heartbeat`); an exception it raises stops populate.
            run_id: names this run in the audit trail (default: a new id); with an audit
                trail on the connection, each computed key is recorded as a ``populate``
                event in its make()'s transaction (:mod:`.audit`).
            retry: how a make() failing with a transient error (lost connection,
                deadlock, lock wait timeout: :mod:`.transient`) is retried (default
                :class:`~.transient.RetryPolicy`: 3 retries, back-off from 1 s). With
                reserve_jobs the job waits as ``pending`` scheduled after the back-off
                and this call tries it again before it returns (:mod:`.retry`); without,
                make() is called again after the back-off. A lost connection is reopened
                first. ``transient.NO_RETRY``: every error is final.
        Returns:
            ``{"success_count": n, "error_list": [(key, "ExcClass: message"), ...]}``.
        Raises:
            PopulateError: restricted table, or inside a transaction.
            The first make() error, when suppress_errors is False (after it is recorded).
        """
        conn = self.connection
        if getattr(self, "restricted", False):
            raise PopulateError(
                "populate() cannot run on a restricted table; pass restrictions as arguments",
                table=self.full_table_name,
            )
        if conn.in_transaction:
            raise PopulateError(
                "populate() cannot run inside a transaction", table=self.full_table_name
            )
        jobs = self.jobs if reserve_jobs else None
        if jobs is not None:
            keys = self._reserve_list(jobs, restrictions, priority, max_calls)
        else:
            keys = self._keys_todo(restrictions).to_dicts(order_by="KEY", limit=max_calls)
        result = {"success_count": 0, "error_list": []}
        identity = self._worker_identity() if jobs is not None else None
        run_id = run_id or audit.new_batch_id()
        retries = TransientRetry(self, jobs, retry or RetryPolicy(), run_id)
        # with jobs on MariaDB, the next key is reserved inside the commit of the current
        # one (see _reserve_ahead): ``held`` is that key (and the connection id it was
        # reserved with) while it is ours but not started
        ahead = jobs is not None and conn.is_mariadb
        held: list[tuple[dict, int]] = []
        try:
            while keys:
                for i, key in enumerate(keys):
                    if held and held[0][0] is key:
                        held.clear()  # reserved ahead, in the previous key's commit
                    elif jobs is not None:
                        taken = self._reserve(jobs, key, identity, keep_completed, retries)
                        if taken != "reserved":
                            if taken == "computed" and on_key is not None:
                                on_key(key, "skipped")
                            continue
                    if before_key is not None:
                        before_key(dict(key))
                    then = (keys[i + 1], identity, held) if ahead and i + 1 < len(keys) else None
                    outcome = self._populate1(
                        key, jobs, keep_completed, result, suppress_errors, run_id, retries, then
                    )
                    if on_key is not None and outcome is not None:
                        on_key(key, outcome)
                keys = retries.due()  # this call's deferred keys, once they are schedulable
        finally:
            if held:  # populate stops (cancelled, an error raised) holding a key: release it
                key, link = held[0]
                sql, params = jobs_sql.unreserve(jobs.ref, self._encoded(key), link)
                conn.query(sql, params)
        return result

    def _reserve_list(self, jobs: JobTable, restrictions, priority, max_calls) -> list[dict]:
        jobs.declare()
        pk = jobs.primary_key
        todo = self._keys_todo(restrictions)
        sql, params = jobs_sql.refresh(
            jobs.ref, todo.node, pk, priority if priority is not None else 5, -1
        )
        self.connection.query(sql, params, table=jobs.ref)
        # a restricted populate takes only its own keys from the pending ones
        restricted = todo.node if restrictions else None
        sql, params = jobs_sql.pending(jobs.ref, pk, priority, max_calls, restricted)
        rows = self.connection.query(sql, params, as_dict=True).fetchall()
        heading = self.heading
        keys = [{k: decode(heading[k], row[k]) for k in pk} for row in rows]
        return _spread(keys, [row["priority"] for row in rows])

    def _encoded(self, key: dict) -> dict:
        return {k: encode(self.heading[k], v, self.full_table_name) for k, v in key.items()}

    def _worker_identity(self) -> tuple[str, int, str]:
        """``(host, pid, user)`` recorded with each reservation (spec §6.2); the
        connection id is the link's at the time of each reservation."""
        return socket.gethostname(), os.getpid(), self.connection.current_user()

    def _reserve(
        self,
        jobs: JobTable,
        key: dict,
        identity: tuple[str, int, str],
        keep: bool,
        retries: TransientRetry,
    ) -> str:
        """Take one pending job of a key not yet in the table: one conditional UPDATE, one
        affected row = ours (spec §6.4). A key found computed meanwhile (rare: computed
        after the jobs were refreshed) has its job completed as DataJoint completes it. A
        transient failure leaves the key to be tried again after the back-off.

        Returns:
            ``"reserved"`` (ours), ``"computed"`` (already in the table: its job
            completed) or ``"taken"`` (reserved by another worker, not pending, or a
            transient failure).
        """
        conn = self.connection
        host, pid, user = identity
        link = conn.link_id
        encoded = self._encoded(key)
        sql, params = jobs_sql.reserve(jobs.ref, encoded, host, pid, link, user, target=self.ref)
        try:
            if conn.query(sql, params).rowcount == 1:
                if conn.link_id != link:  # the link was reopened by that very query
                    conn.query(*jobs_sql.restamp(jobs.ref, encoded, link, conn.link_id))
                return "reserved"
            sql, params = jobs_sql.complete_computed(jobs.ref, self.ref, encoded, keep)
            return "computed" if conn.query(sql, params).rowcount else "taken"
        except DataJointError as exc:
            if transient_reason(exc) is None or not retries.policy.retries:
                raise
            retries.wait(key)
            return "taken"

    def _populate1(
        self,
        key: dict,
        jobs: JobTable | None,
        keep_completed: bool,
        result: dict,
        suppress_errors: bool,
        run_id: str,
        retries: TransientRetry,
        then: tuple[dict, tuple, list] | None = None,
    ) -> str | None:
        """One reserved key: make() in a transaction (:meth:`_make1`); the outcome
        ('success'/'skipped'/'error'), or None when the key is deferred after a transient
        failure or is no longer this worker's (:mod:`.retry`)."""
        conn = self.connection
        start = time.monotonic()
        while True:
            link = conn.link_id
            try:
                outcome = self._make1(key, jobs, keep_completed, run_id, start, link, then)
            except BaseException as exc:
                reason = transient_reason(exc) if retries.policy.retries else None
                if reason is not None:
                    verdict = retries.failed(key, exc, reason, start, link)
                    if verdict.kind == AGAIN:
                        continue
                    if verdict.kind == SKIPPED:
                        return "skipped"
                    if verdict.kind != EXHAUSTED:
                        return None
                    message = verdict.message
                else:
                    message = clip(error_text(exc))
                    if jobs is not None:
                        stack = blob.pack("".join(traceback.format_exception(exc)))
                        sql, params = jobs_sql.error(
                            jobs.ref, self._encoded(key), time.monotonic() - start, message, stack
                        )
                        conn.query(sql, params)
                    retries.ended(key)
                result["error_list"].append((key, message))
                if not suppress_errors or isinstance(exc, (SystemExit, KeyboardInterrupt)):
                    raise
                return "error"
            if outcome == "success":
                result["success_count"] += 1
            retries.ended(key)
            return outcome

    def _make1(
        self,
        key: dict,
        jobs: JobTable | None,
        keep_completed: bool,
        run_id: str,
        start: float,
        link: int,
        then: tuple[dict, tuple, list] | None,
    ) -> str:
        """make(key) and the job's completion in one transaction: 'success', or 'skipped'
        (no jobs table) when the key was computed meanwhile; any exception after a
        rollback. ``link``: the connection id the job was reserved with; ``then`` =
        ``(next_key, identity, held)``: reserve the next key in the same commit
        (:meth:`_reserve_ahead`), appending it (and the connection id) to ``held``."""
        conn = self.connection
        make_tables = set(getattr(conn, "make_tables", set()))
        conn.start_transaction()
        try:
            if jobs is not None and conn.link_id != link:  # reopened by START TRANSACTION
                conn.query(*jobs_sql.restamp(jobs.ref, self._encoded(key), link, conn.link_id))
            # reserved jobs were checked not computed when reserved (jobs_sql.reserve)
            if jobs is None and bool(type(self)() & key):  # computed meanwhile by someone else
                conn.rollback()
                return "skipped"
            conn.make_tables = make_tables | {self.ref}
            self.make(dict(key))
            if conn.audit is not None:  # the key, not the rows make() inserted
                encoded = self._encoded(key)
                computed = audit.key_of(self.heading, list(encoded), list(encoded.values()))
                event = audit.Event("populate", self.ref, computed, None, run_id)
                conn.audit.record(conn, [event])
            # the job completes in make's own transaction: one commit fewer per key, and no
            # moment when the key is computed but its job still reserved
            self._finish(jobs, key, start, keep_completed)
            reserved = self._reserve_ahead(jobs, *then) if then is not None else None
            conn.commit()
            if reserved is not None:
                then[2].append((reserved, conn.link_id))
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        finally:
            conn.make_tables = make_tables
        return "success"

    def _reserve_ahead(
        self, jobs: JobTable, key: dict, identity: tuple[str, int, str], held: list
    ) -> dict | None:
        """Reserve ``key`` inside the current make() transaction, just before its commit:
        the reservation becomes visible with the computed key's completion, saving the
        reservation's own commit (a disk flush) and round trip on the next key. The
        statement never waits for a lock (MariaDB ``SET STATEMENT``), so it cannot take
        part in a deadlock with the rows make() wrote: a locked job, like one taken or
        computed, is simply not reserved ahead, and the next key reserves it as usual.

        Returns:
            ``key`` when reserved, else None.
        """
        host, pid, user = identity
        conn = self.connection
        sql, params = jobs_sql.reserve(
            jobs.ref,
            self._encoded(key),
            host,
            pid,
            conn.link_id,
            user,
            target=self.ref,
            nowait=True,
        )
        try:
            return key if conn.query(sql, params).rowcount == 1 else None
        except DataJointError as exc:
            if transient_reason(exc) == LOCK_WAIT_TIMEOUT:
                return None  # the statement alone was rolled back
            raise

    def _finish(self, jobs: JobTable | None, key: dict, start: float, keep: bool) -> None:
        if jobs is None:
            return
        sql, params = jobs_sql.complete(
            jobs.ref, self._encoded(key), time.monotonic() - start, keep
        )
        self.connection.query(sql, params)


def _spread(keys: list[dict], priorities: list[int]) -> list[dict]:
    """``keys`` (in priority order) shuffled within each priority, differently in each
    process: workers starting together then try different keys first instead of all
    racing for the same one (a lost race costs a round trip; priorities still hold)."""
    shuffle = random.Random(f"{os.getpid()}-{time.monotonic_ns()}").shuffle
    out: list[dict] = []
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or priorities[end] != priorities[start]:
            group = keys[start:end]
            shuffle(group)
            out += group
            start = end
    return out
