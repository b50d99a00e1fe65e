"""The jobs table of an auto-populated table: ``~~<name>`` (spec §1.4, §6.2)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

from . import audit
from .catalog import catalog_of
from .codecs import blob
from .declaration import declare_plan
from .definition import parse_definition
from .errors import QueryError
from .expression import table_expression
from .fetch import to_dicts
from .names import jobs_table_name
from .sql import dml
from .sql import jobs as jobs_sql
from .types import strip_display_width
from .values import DEFAULT, decode, encode_for_write

JOB_STATUSES = ("pending", "reserved", "success", "error", "ignore")

_SECONDARY = """---
status          : enum('pending', 'reserved', 'success', 'error', 'ignore')
priority        : int8
created_time=CURRENT_TIMESTAMP(3) : datetime(3)
scheduled_time=CURRENT_TIMESTAMP(3) : datetime(3)
reserved_time=null  : datetime(3)
completed_time=null : datetime(3)
duration=null   : float64
error_message="" : varchar(2047)
error_stack=null : <blob>
user=""         : varchar(255)
host=""         : varchar(255)
pid=0           : int32
connection_id=0 : int64
version=""      : varchar(64)
INDEX (status, priority, scheduled_time)
"""


def jobs_definition(target) -> str:
    """The definition DataJoint declares the jobs table from (spec §6.2): the target's
    FK-derived primary-key attributes with their heading types, then the job columns."""
    info = target.table_info()
    fk_columns = {c for fk in info.foreign_keys if fk.primary for c in fk.columns}
    lines = [f"# Job queue for {target.full_table_name}"]
    for attr in info.heading:
        if attr.in_key and attr.name in fk_columns:
            declared = "uuid" if attr.is_uuid else strip_display_width(attr.sql_type)
            lines.append(f"{attr.name} : {declared}")
    return "\n".join(lines) + "\n" + _SECONDARY


class JobTable:
    """The jobs table of one auto-populated table.

    Attributes:
        target: the Computed/Imported table instance.
        ref: the jobs table ``~~<name>`` in the target's database.
        table_name, full_table_name: its raw name and quoted full name.
    """

    def __init__(self, target):
        self.target = target
        self.database = target.database
        self.table_name = jobs_table_name(target.table_name)
        self.ref = target.ref.sibling(self.table_name)
        self.full_table_name = self.ref.full_name

    @property
    def connection(self):
        return self.target.connection

    def exists(self) -> bool:
        return self.table_name in catalog_of(self.connection).hidden_tables(self.database)

    def declare(self) -> None:
        """Create ``~~<name>`` (and its ``~lineage`` rows) if it does not exist."""
        if self.exists():
            return
        definition = parse_definition(jobs_definition(self.target), table=self.ref)
        declare_plan(self.connection, self.database, self.table_name, definition, lambda ref: None)

    @functools.cached_property
    def primary_key(self) -> list[str]:
        """The jobs table's primary key: the target's primary-key attributes that come from
        its foreign keys (its key_source's key, spec §6.1), in key order."""
        info = self.target.table_info()
        fk_columns = {c for fk in info.foreign_keys if fk.primary for c in fk.columns}
        return [n for n in info.heading.primary_key if n in fk_columns]

    def progress(self) -> dict[str, int]:
        """Counts per status (all five statuses present, zero when absent) and ``total``."""
        counts = dict.fromkeys(JOB_STATUSES, 0)
        if self.exists():
            for status, n in self.connection.query(jobs_sql.status_counts(self.ref)):
                counts[status] = int(n)
        counts["total"] = sum(counts[s] for s in JOB_STATUSES)
        return counts

    def rows(self, status: str | None = None, limit: int = 100) -> list[dict]:
        """Job rows (most recent first) without the error stack, optionally by status."""
        if not self.exists():
            return []
        table = table_expression(self.connection, self.ref)
        expr = table & {"status": status} if status else table
        names = [n for n in table.heading.names if n != "error_stack"]
        return to_dicts(expr, order_by=["created_time DESC"], limit=limit, attributes=names)

    def error_stack(self, key: dict) -> str | None:
        """The traceback text recorded for a failed key, or None."""
        rows = (table_expression(self.connection, self.ref) & key).to_dicts()
        return rows[0]["error_stack"] if rows else None

    def delete(self, status: str | None = None) -> int:
        """Delete job rows (e.g. ``status='error'`` to let them be retried); returns the
        number deleted (0 when the jobs table does not exist yet). With an audit trail on
        the connection the deleted job keys are recorded (``clear_errors`` for errors)."""
        if not self.exists():
            return 0
        table = table_expression(self.connection, self.ref)
        expr = table & {"status": status} if status else table
        statement = dml.delete(self.ref, expr.proj().node, expr.primary_key)
        trail = self.connection.audit
        if trail is not None:  # e.g. "clear_errors": the error jobs' keys, filed under the table
            action = "clear_errors" if status == "error" else "delete_jobs"
            return audit.delete_recorded(
                trail, self.connection, expr, statement, action, self.target.ref
            )
        return self.connection.query(*statement, table=self.ref).rowcount

    # ----------------------------------------------------------------------------------------
    # the console (issue #13): filtered keyset pages, counts, and the operator's actions
    # ----------------------------------------------------------------------------------------

    legacy = False

    def encode_keys(self, keys: Sequence[dict]) -> list[list]:
        """Job keys (dicts of the jobs table's primary key, extra attributes ignored) as
        encoded values in primary-key order.

        Raises:
            QueryError: a key is not an object or lacks a primary-key attribute (or its
                value). InvalidValueError: a value outside its attribute's domain.
        """
        pk, heading = self.primary_key, self.target.heading
        encoded = []
        for key in keys:
            if not isinstance(key, dict):
                raise QueryError(f"a job key is an object of {pk}, not {key!r}")
            missing = [k for k in pk if k not in key]
            if missing:
                raise QueryError(f"job key {key!r} lacks {missing}")
            values = [encode_for_write(heading[k], key[k], self.target.full_table_name) for k in pk]
            if any(v is None or v is DEFAULT for v in values):
                raise QueryError(f"job key {key!r}: every attribute of {pk} needs a value")
            encoded.append(values)
        return encoded

    def _decoded_key(self, values: Sequence) -> dict:
        heading = self.target.heading
        return {k: decode(heading[k], v) for k, v in zip(self.primary_key, values)}

    def where(
        self,
        *,
        statuses: Sequence[str] | None = None,
        host: str | None = None,
        error_contains: str | None = None,
        keys: Sequence[dict] | None = None,
    ) -> tuple[str, list]:
        """The condition selecting jobs (see :func:`.sql.jobs.selection`); ``keys`` are
        dicts as in :meth:`encode_keys`.

        Raises:
            QueryError: an unknown status or a malformed key.
        """
        if statuses is not None:
            unknown = [s for s in statuses if s not in JOB_STATUSES]
            if unknown:
                raise QueryError(f"unknown job status {unknown[0]!r}: one of {JOB_STATUSES}")
        return jobs_sql.selection(
            self.primary_key,
            statuses=statuses,
            host=host,
            error_contains=error_contains,
            keys=None if keys is None else self.encode_keys(keys),
        )

    def page(
        self,
        *,
        statuses: Sequence[str] | None = None,
        host: str | None = None,
        error_contains: str | None = None,
        after: dict | None = None,
        limit: int = 50,
    ) -> tuple[list[dict], dict | None]:
        """One keyset page of jobs in primary-key order (never OFFSET): ``(jobs, next)``,
        each job ``{"key": {...}, "status", "priority", "created_time", "scheduled_time",
        "reserved_time", "completed_time", "duration", "error_message", "user", "host",
        "pid", "connection_id", "version"}`` (no stack: :meth:`error_stack`); ``next`` the
        last key of a full page (send it back as ``after``), else None.

        Raises:
            QueryError: a bad status or ``after`` key.
        """
        if not self.exists():
            return [], None
        limit = max(1, int(limit))
        pk = self.primary_key
        sql, params = self.where(statuses=statuses, host=host, error_contains=error_contains)
        if after is not None:
            last = self.encode_keys([after])[0]
            cond, more = jobs_sql.after_key(pk, last)
            sql, params = f"({sql}) AND {cond}", [*params, *more]
        statement = jobs_sql.list_jobs(self.ref, pk, (sql, params), limit + 1)
        rows = list(self.connection.query(*statement, table=self.ref))
        jobs = []
        for row in rows[:limit]:
            job = dict(zip(jobs_sql.LIST_COLUMNS, row[len(pk) :]))
            jobs.append({"key": self._decoded_key(row[: len(pk)]), **job})
        return jobs, (jobs[-1]["key"] if len(rows) > limit else None)

    def count(self, where: tuple[str, list]) -> int:
        """Number of jobs matching ``where`` (:meth:`where`); 0 without a jobs table."""
        if not self.exists():
            return 0
        return int(self.connection.query(*jobs_sql.count(self.ref, where)).fetchone()[0])

    def _change(
        self,
        action: str,
        where: tuple[str, list],
        statement: tuple[str, list],
        dry_run: bool,
        changes: dict | None = None,
        extra: list[tuple[str, list]] = (),
    ) -> int:
        """Count (``dry_run``) or run ``statement`` on the jobs matching ``where`` in one
        transaction, recording one ``action`` event per job key (filed under the target
        table; one event with the count past :data:`.audit.KEY_LIMIT`) when the
        connection has an audit trail. ``extra``: statements run after it (inserts).
        Returns the jobs matched (dry run) or changed."""
        if dry_run:
            return self.count(where) + len(extra)
        if not self.exists():
            self.declare()
        conn, pk = self.connection, self.primary_key
        trail = conn.audit
        with conn.transaction():
            found = list(conn.query(*jobs_sql.select_keys(self.ref, pk, where), table=self.ref))
            n = conn.query(*statement, table=self.ref).rowcount if found else 0
            for sql, params in extra:
                n += conn.query(sql, params, table=self.ref).rowcount and 1
                found.append(params[: len(pk)])
            if trail is not None and (found or extra):
                batch = trail.batch_id()
                heading, ref = self.target.heading, self.target.ref
                if len(found) > audit.KEY_LIMIT:
                    events = [audit.Event(action, ref, None, {"rows": n, **(changes or {})}, batch)]
                else:
                    events = [
                        audit.Event(action, ref, audit.key_of(heading, pk, list(k)), changes, batch)
                        for k in found
                    ]
                trail.record(conn, events)
        return n

    def retry(
        self,
        *,
        keys: Sequence[dict] | None = None,
        error_contains: str | None = None,
        dry_run: bool = False,
    ) -> int:
        """Error jobs back to ``pending`` (spec §6.3: DataJoint never retries an error by
        itself; a pending job is what ``populate(reserve_jobs=True)`` reserves next, here
        and in plain DataJoint workers): those of ``keys``, or those whose message contains
        ``error_contains``, or all (neither given). Audit action ``retry_jobs``. Returns the
        number of jobs (that would be) retried."""
        where = self.where(statuses=["error"], keys=keys, error_contains=error_contains)
        return self._change("retry_jobs", where, jobs_sql.retry(self.ref, where), dry_run)

    def ignore(self, keys: Sequence[dict], *, unignore: bool = False, dry_run: bool = False) -> int:
        """``ignore`` the ``pending``/``error`` jobs of ``keys`` (keys with no job row are
        inserted as ``ignore``, as DataJoint's ``jobs.ignore``; reserved and successful
        jobs are left alone), or with ``unignore`` delete the ``ignore`` rows of ``keys``
        (the next populate queues them again). Audit ``ignore_jobs`` / ``unignore_jobs``.
        Returns the number of jobs (that would be) changed."""
        if unignore:
            where = self.where(statuses=["ignore"], keys=keys)
            return self._change("unignore_jobs", where, jobs_sql.unignore(self.ref, where), dry_run)
        where = self.where(statuses=["pending", "error"], keys=keys)
        present = set()
        if self.exists() and keys:
            rows = self.connection.query(
                *jobs_sql.select_keys(self.ref, self.primary_key, self.where(keys=keys))
            )
            present = {tuple(r) for r in rows}
        absent = [k for k in self.encode_keys(keys or []) if tuple(k) not in present]
        inserts = [jobs_sql.insert_ignored(self.ref, self.primary_key, k) for k in absent]
        return self._change(
            "ignore_jobs", where, jobs_sql.ignore(self.ref, where), dry_run, extra=inserts
        )

    def reprioritize(
        self,
        priority: int,
        *,
        keys: Sequence[dict] | None = None,
        statuses: Sequence[str] | None = None,
        dry_run: bool = False,
    ) -> int:
        """Set the priority (int8, lower = more urgent; spec §6.3) of the ``pending`` and
        ``error`` jobs of ``keys`` (all such jobs when None). Audit ``reprioritize_jobs``
        with ``{"priority": p}``.

        Raises:
            QueryError: a priority outside -128..127.
        """
        if (
            isinstance(priority, bool)
            or not isinstance(priority, int)
            or not -128 <= priority <= 127
        ):
            raise QueryError(f"priority {priority!r} is not an integer in -128..127")
        statuses = [s for s in (statuses or ["pending", "error"]) if s in ("pending", "error")]
        where = self.where(statuses=statuses, keys=keys)
        return self._change(
            "reprioritize_jobs",
            where,
            jobs_sql.reprioritize(self.ref, where, priority),
            dry_run,
            changes={"priority": priority},
        )


class LegacyJobTable:
    """One table's rows of a 0.14 schema-wide ``~jobs`` (spec §11: keyed by
    ``table_name`` + ``key_hash``, the key a dj0 blob; statuses ``reserved``, ``error``,
    ``ignore`` only; a key without a row is available). Read for progress, errors and
    tracebacks; :meth:`retry` deletes error rows (0.14's way to retry).
    """

    legacy = True

    def __init__(self, target):
        self.target = target
        self.database = target.database
        self.table_name = jobs_sql.LEGACY_JOBS
        self.ref = target.ref.sibling(self.table_name)
        self.full_table_name = self.ref.full_name

    @property
    def connection(self):
        return self.target.connection

    @property
    def primary_key(self) -> list[str]:
        return list(self.target.heading.primary_key)

    def exists(self) -> bool:
        return self.table_name in catalog_of(self.connection).hidden_tables(self.database)

    def progress(self) -> dict[str, int]:
        """Counts per status (the five 2.x statuses, zero where 0.14 has none) and ``total``."""
        counts = dict.fromkeys(JOB_STATUSES, 0)
        if self.exists():
            sql = jobs_sql.legacy_counts(self.ref, self.target.table_name)
            for status, n in self.connection.query(*sql):
                counts[status] = int(n)
        counts["total"] = sum(counts[s] for s in JOB_STATUSES)
        return counts

    def where(
        self,
        *,
        statuses: Sequence[str] | None = None,
        host: str | None = None,
        error_contains: str | None = None,
        keys: Sequence[dict] | None = None,
    ) -> tuple[str, list]:
        """As :meth:`JobTable.where`; keys become ``key_hash`` values."""
        hashes = None if keys is None else [[legacy_key_hash(k)] for k in keys]
        return jobs_sql.selection(
            ["key_hash"], statuses=statuses, host=host, error_contains=error_contains, keys=hashes
        )

    def count(self, where: tuple[str, list]) -> int:
        """Jobs of this table matching ``where``."""
        if not self.exists():
            return 0
        sql, params = jobs_sql.legacy_count(self.ref, self.target.table_name, where)
        return int(self.connection.query(sql, params).fetchone()[0])

    def page(
        self,
        *,
        statuses: Sequence[str] | None = None,
        host: str | None = None,
        error_contains: str | None = None,
        after: dict | None = None,
        limit: int = 50,
    ) -> tuple[list[dict], dict | None]:
        """As :meth:`JobTable.page`, in ``key_hash`` order (``after``: a job's key);
        ``reserved_time`` is 0.14's ``timestamp``; fields 0.14 lacks are None."""
        if not self.exists():
            return [], None
        limit = max(1, int(limit))
        where = self.where(statuses=statuses, host=host, error_contains=error_contains)
        mark = None if after is None else legacy_key_hash(after)
        statement = jobs_sql.legacy_list(self.ref, self.target.table_name, where, mark, limit + 1)
        rows = list(self.connection.query(*statement, table=self.ref))
        jobs = []
        for key_hash, key, status, message, user, host_, pid, conn_id, stamp in rows[:limit]:
            jobs.append(
                {
                    "key": _plain_key(blob.unpack(key)) if key else {"key_hash": key_hash},
                    "status": status,
                    "priority": None,
                    "created_time": None,
                    "scheduled_time": None,
                    "reserved_time": stamp,
                    "completed_time": None,
                    "duration": None,
                    "error_message": message,
                    "user": user,
                    "host": host_,
                    "pid": pid,
                    "connection_id": conn_id,
                    "version": "",
                }
            )
        return jobs, (jobs[-1]["key"] if len(rows) > limit else None)

    def error_stack(self, key: dict) -> str | None:
        """The traceback text recorded for ``key``, or None."""
        if not self.exists():
            return None
        sql = jobs_sql.legacy_stack(self.ref, self.target.table_name, legacy_key_hash(key))
        row = self.connection.query(*sql).fetchone()
        if row is None or row[0] is None:
            return None
        value = blob.unpack(row[0])
        return value if isinstance(value, str) else str(value)

    def retry(self, *, keys=None, error_contains=None, dry_run: bool = False) -> int:
        """Delete this table's matching ``error`` rows (0.14 retries a key without a row);
        audit ``retry_jobs`` (one event with the count)."""
        where = self.where(statuses=["error"], keys=keys, error_contains=error_contains)
        n = self.count(where)
        if dry_run or not n:
            return n
        conn = self.connection
        with conn.transaction():
            sql = jobs_sql.legacy_delete(self.ref, self.target.table_name, where)
            n = conn.query(*sql, table=self.ref).rowcount
            if conn.audit is not None:
                event = audit.Event(
                    "retry_jobs", self.target.ref, None, {"rows": n}, conn.audit.batch_id()
                )
                conn.audit.record(conn, [event])
        return n


def _plain_key(key) -> dict:
    """A key unpacked from a 0.14 blob with numpy scalars as Python values."""
    if not isinstance(key, dict):
        return {"key": str(key)}
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in key.items()}


def legacy_key_hash(key: dict) -> str:
    """0.14's ``key_hash``: hex MD5 of the concatenated ``str`` of the key's values sorted
    by attribute name (spec §11)."""
    text = "".join(str(key[k]) for k in sorted(key))
    return hashlib.md5(text.encode()).hexdigest()


def job_table(target):
    """The jobs of ``target``: its 2.x ``~~<name>`` (:class:`JobTable`) unless the
    database has only a 0.14 ``~jobs`` (:class:`LegacyJobTable`)."""
    jobs = JobTable(target)
    if jobs.exists():
        return jobs
    legacy = LegacyJobTable(target)
    return legacy if legacy.exists() else jobs
