"""The audit trail of writes (issue #11): one event per written row (or key), appended to
the ``event`` table of an audit database on the pipeline server, **on the same connection
and in the same transaction as the write**, so that a write without its event, or an event
without its write, cannot exist.

A :class:`~.connection.Connection` records when its ``audit`` attribute holds an
:class:`AuditTrail` (who acts, from where, under which request id); the front doors set it
per request (LabBook's services), data-model code alone leaves it None and records nothing.
Writes that record: ``insert`` (an ``insert`` event per row, changes ``{attribute: [None,
new]}``), ``update1`` (``update``, ``{attribute: [old, new]}``), ``delete`` and
``delete_quick`` (``delete`` per deleted key of every table of the cascade, or one event with
the count for a table losing more than :data:`KEY_LIMIT` rows), ``populate`` (one
``populate`` event per computed key, batch id = the run id; the rows ``make`` inserts into
the table and its parts are not recorded one by one; ``retry_transient`` per automatic
retry of a key whose ``make`` failed transiently, :mod:`.retry`), and jobs-table changes
(``clear_errors``, per key; ``recover`` per lost worker's reservation, :mod:`.recovery`).
Values are recorded JSON-safe (:func:`audit_value`): blobs and bytes by length and MD5,
stored values by their store metadata.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .errors import TransactionError
from .heading import Attribute, Heading
from .nodes import base_table
from .sql import audit as sql
from .sql import introspection
from .tableref import TableRef
from .values import DEFAULT

#: Where an event comes from.
SOURCES = ("web", "api", "cli", "worker")
#: A table losing more rows than this in one delete is recorded as one event with the count.
KEY_LIMIT = 1000
#: Events written per INSERT statement.
_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class AuditContext:
    """Who writes, from where.

    Attributes:
        actor: the LabBook user name; the OS user for the command line; the user who
            started the run for workers.
        source: one of :data:`SOURCES`.
        request_id: the web/API request, task or command invocation the writes belong to.

    Raises:
        ValueError: an empty actor or an unknown source.
    """

    actor: str
    source: str
    request_id: str | None = None

    def __post_init__(self):
        if not self.actor:
            raise ValueError("an audit context needs an actor")
        if self.source not in SOURCES:
            raise ValueError(f"audit source {self.source!r} is not one of {SOURCES}")


@dataclasses.dataclass(frozen=True)
class Event:
    """One event before it is written.

    Attributes:
        action: ``insert``, ``update``, ``delete``, ``populate``, ``clear_errors``,
            ``populate_start``, ``retry_transient``, ``recover``, ``grant``, ... (free
            text of at most 32 characters).
        table: the table written, or None (e.g. a grant).
        key: the row's primary key, JSON-safe (compound keys whole), or None.
        changes: ``{attribute: [old, new]}`` (JSON-safe), or another JSON-safe detail.
        batch_id: groups the events of one call (one insert of many rows, one cascade,
            one populate run).
    """

    action: str
    table: TableRef | None = None
    key: Mapping[str, Any] | None = None
    changes: Mapping[str, Any] | None = None
    batch_id: str | None = None


class AuditTrail:
    """Appends events for one actor to the audit database ``database``.

    Args:
        database: the audit database (LabBook's ``LABBOOK_AUDIT_DB``).
        context: who writes, from where.
    """

    def __init__(self, database: str, context: AuditContext):
        self.database = database
        self.context = context
        self._batch: str | None = None

    @contextlib.contextmanager
    def batch(self, batch_id: str | None = None) -> Iterator[str]:
        """Group every event recorded inside the block under one batch id (``batch_id`` or
        a fresh one, yielded): one save of many rows, updates and part rows is one batch,
        which ``undo`` takes back whole. Blocks do not nest: an inner block keeps the outer
        batch id."""
        if self._batch is not None:
            yield self._batch
            return
        self._batch = batch_id or new_batch_id()
        try:
            yield self._batch
        finally:
            self._batch = None

    def batch_id(self) -> str:
        """The id of the open :meth:`batch`, or a fresh one for a write of its own."""
        return self._batch or new_batch_id()

    def __repr__(self) -> str:
        return f"AuditTrail({self.database!r}, {self.context.actor!r}, {self.context.source!r})"

    def ensure(self, conn) -> None:
        """Make sure the event table exists (once per connection): read from
        information_schema, and created (database and table) only when missing, so that an
        account with INSERT and SELECT alone on the audit database works once it exists.

        Raises:
            TransactionError: the table must be created inside a transaction (DDL commits).
            AccessError: it must be created and the account may not.
        """
        ready = f"audit:{self.database}"
        if ready in conn.prepared:
            return
        if not introspection.table_exists(conn, self.database, sql.EVENT_TABLE):
            if conn.in_transaction:
                raise TransactionError("the audit table cannot be created inside a transaction")
            conn.query(sql.create_database(self.database))
            conn.query(sql.create_event_table(self.database))
        conn.prepared.add(ready)

    def record(self, conn, events: Iterable[Event]) -> int:
        """Write ``events`` in the connection's open transaction; returns how many.

        Raises:
            TransactionError: no transaction is open (an event must share the write's).
        """
        events = list(events)
        if not events:
            return 0
        if not conn.in_transaction:
            raise TransactionError("audit events are written inside the write's transaction")
        context = self.context
        for start in range(0, len(events), _CHUNK):
            chunk = events[start : start + _CHUNK]
            params: list = []
            for event in chunk:
                params += [
                    context.actor,
                    context.source,
                    context.request_id,
                    event.action,
                    None if event.table is None else event.table.database,
                    None if event.table is None else event.table.table,
                    None if event.key is None else _json(event.key),  # primary-key order
                    None if event.key is None else key_hash(event.key),
                    None if event.changes is None else _json(event.changes),
                    event.batch_id,
                ]
            conn.query(sql.insert_events(self.database, len(chunk)), params)
        return len(events)


def new_batch_id() -> str:
    """A fresh batch id (32 hex digits)."""
    return uuid.uuid4().hex


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (and hash)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_hash(key: Mapping[str, Any]) -> bytes:
    """The 16-byte MD5 of a JSON-safe key's canonical text: how events of one row are found
    (whatever the order of the key's attributes)."""
    return hashlib.md5(canonical_json(key).encode()).digest()


def _json(value: Any) -> str:
    """Compact JSON keeping the order of mappings (a key in primary-key order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def audit_value(attr: Attribute, value: Any) -> Any:
    """A column value (as sent to or read from the server) in JSON-safe form: numbers and
    text as they are, dates and times in ISO form (``2024-05-06 07:08:09``), decimals
    exactly, uuids as text, json and stored-value metadata parsed, blobs and other bytes as
    ``{"bytes": length, "md5": hex}``; None for NULL or the column default."""
    if value is None or value is DEFAULT:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if attr.is_uuid and len(data) == 16:
            return str(uuid.UUID(bytes=data))
        return {"bytes": len(data), "md5": hashlib.md5(data).hexdigest()}
    if isinstance(value, str) and (attr.is_json or attr.type in ("json", "jsonb")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (str, int, float)):
        return value
    return str(value)


def key_of(heading: Heading, names: list[str], values: list) -> dict[str, Any]:
    """The JSON-safe primary key of one row given as column ``values`` in ``names`` order."""
    row = dict(zip(names, values))
    return {k: audit_value(heading[k], row[k]) for k in heading.primary_key if k in row}


def insert_events(
    table: TableRef, heading: Heading, fields: list[str], rows: Iterable[list], batch_id: str
) -> list[Event]:
    """One ``insert`` event per encoded row (values in ``fields`` order): the key, and the
    other given attributes as ``[None, new]``."""
    key_names = set(heading.primary_key)
    events = []
    for values in rows:
        changes = {
            name: [None, audit_value(heading[name], value)]
            for name, value in zip(fields, values)
            if name not in key_names
        }
        events.append(
            Event("insert", table, key_of(heading, fields, values), changes or None, batch_id)
        )
    return events


def update_event(
    table: TableRef,
    heading: Heading,
    key: Mapping[str, Any],
    old: Mapping,
    new: Mapping,
    batch_id: str | None = None,
) -> Event:
    """The ``update`` event of one row: its key and ``{attribute: [old, new]}`` for the
    attributes written (``old`` as read before the UPDATE, ``new`` as sent; both column
    values)."""
    changes = {
        n: [audit_value(heading[n], old[n]), audit_value(heading[n], v)] for n, v in new.items()
    }
    key_json = key_of(heading, list(key), list(key.values()))
    return Event("update", table, key_json, changes, batch_id or new_batch_id())


def delete_events(rows, action: str, batch_id: str, table: TableRef | None = None) -> list[Event]:
    """The events of deleting ``rows`` (a restricted base table), read before the DELETE
    runs, in its transaction: one per key, or one event ``{"rows": n}`` without a key when
    more than :data:`KEY_LIMIT` rows go or the table has no primary key. ``table``: the
    table the events are filed under (default the one deleted from; e.g. a computed table
    for rows of its jobs table)."""
    ref = table or base_table(rows.node).ref
    heading, key_names = rows.heading, rows.primary_key
    if not key_names:  # a table made outside DataJoint without a primary key: a count
        return [Event(action, ref, None, {"rows": len(rows)}, batch_id)]
    keys = rows.proj().to_dicts(decode=False, limit=KEY_LIMIT + 1)
    if len(keys) > KEY_LIMIT:
        return [Event(action, ref, None, {"rows": len(rows)}, batch_id)]
    return [
        Event(action, ref, key_of(heading, key_names, [k[n] for n in key_names]), None, batch_id)
        for k in keys
    ]


def deleted_note(
    action: str, table: TableRef, count: int, rows: list, batch_id: str
) -> list[Event]:
    """The note that a statement wrote another number of rows than the keys listed (rows
    changed meanwhile, by another writer): ``{"rows": count, "keys_listed": n}``."""
    return [Event(action, table, None, {"rows": count, "keys_listed": len(rows)}, batch_id)]


def deleted(events: list[Event], count: int) -> list[Event]:
    """``events`` from :func:`delete_events`, with one more event when the DELETE removed
    another number of rows than the keys listed (rows changed between reading the keys and
    deleting): ``{"rows": count, "keys_listed": n}``."""
    listed = sum(1 for e in events if e.key is not None)
    if not events or events[0].key is None or listed == count:
        return events
    first = events[0]
    note = {"rows": count, "keys_listed": listed}
    return [*events, Event(first.action, first.table, None, note, first.batch_id)]


def delete_recorded(
    trail: AuditTrail,
    conn,
    rows,
    statement: tuple[str, list],
    action: str,
    table: TableRef | None = None,
) -> int:
    """Run ``statement`` (a DELETE of ``rows``, a restricted base table) with its events
    (filed under ``table``, see :func:`delete_events`), in the caller's transaction or in
    one of its own; returns the rows deleted.

    Raises:
        whatever the DELETE raises (nothing is recorded then).
    """
    ref = base_table(rows.node).ref
    own = not conn.in_transaction
    if own:
        conn.start_transaction()
    try:
        events = delete_events(rows, action, trail.batch_id(), table)
        count = conn.query(*statement, table=ref).rowcount
        trail.record(conn, deleted(events, count))
    except BaseException:
        if own:
            conn.rollback()
        raise
    if own:
        conn.commit()
    return count


def read_events(
    conn,
    database: str,
    *,
    table: TableRef | None = None,
    schema: str | None = None,
    schemas: Iterable[str] | None = None,
    actor: str | None = None,
    key: Mapping[str, Any] | None = None,
    batch_id: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[dict]:
    """Events, newest first, matching every filter given (``key`` needs ``table``; it is a
    JSON-safe key as :func:`key_of` makes them; ``schemas``: events of these schemas only,
    those of no schema left out), ``limit`` of them with an ``event_id`` below ``after``.
    Each event: ``event_id``, ``time`` (datetime, µs), ``actor``, ``source``,
    ``request_id``, ``action``, ``schema``, ``table``, ``key``, ``changes``, ``batch_id``.
    No events when the audit table does not exist yet.

    Raises:
        ValueError: ``key`` without ``table``, or ``limit`` below 1.
    """
    if key is not None and table is None:
        raise ValueError("a key filter needs the table")
    if not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, not {limit!r}")
    filters: list[tuple[str, object]] = []
    if table is not None:
        filters += [("schema_name", table.database), ("table_name", table.table)]
    elif schema is not None:
        filters.append(("schema_name", schema))
    if schemas is not None:
        filters.append(("schema_name", tuple(schemas)))
    if key is not None:
        filters.append(("key_hash", key_hash(key)))
    if actor is not None:
        filters.append(("actor", actor))
    if batch_id is not None:
        filters.append(("batch_id", batch_id))
    if not _exists(conn, database):
        return []
    query, params = sql.select_events(database, filters, after, limit)
    rows = conn.query(query, params, as_dict=True).fetchall()
    return [
        {
            "event_id": int(r["event_id"]),
            "time": r["time"],
            "actor": r["actor"],
            "source": r["source"],
            "request_id": r["request_id"],
            "action": r["action"],
            "schema": r["schema_name"],
            "table": r["table_name"],
            "key": None if r["primary_key"] is None else json.loads(r["primary_key"]),
            "changes": None if r["changes"] is None else json.loads(r["changes"]),
            "batch_id": r["batch_id"],
        }
        for r in rows
    ]


def _exists(conn, database: str) -> bool:
    if f"audit:{database}" in conn.prepared:
        return True
    return introspection.table_exists(conn, database, sql.EVENT_TABLE)
