"""The audit trail as LabBook's front doors use it (issue #11): who acts on this thread's
connection, service-level events (a populate run queued), and the history pages' reads.

The events themselves are written by the data model, on the write's connection and in its
transaction (:mod:`pipeline_core.datamodel.audit`); the table lives in the database
``settings.LABBOOK_AUDIT_DB`` on the pipeline server.
"""

from __future__ import annotations

import getpass
import uuid
from typing import Any

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit
from pipeline_core.datamodel.values import encode

from .state import PipelineSession

#: Events per page of a history.
HISTORY_PAGE = 50


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def request_id(headers) -> str:
    """The id of an HTTP request for the audit trail: the ``X-Request-ID`` header a proxy
    set (up to 64 characters), else a new one (:func:`new_request_id`)."""
    given = (headers.get("X-Request-ID") or "").strip()
    return given[:64] if given else new_request_id()


def cli_actor() -> str:
    """The actor of the command line: the OS user running it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def act_as(actor: str, source: str, request_id: str | None = None) -> audit.AuditTrail:
    """Record this thread's writes as ``actor`` from ``source`` (``web``, ``api``, ``cli``,
    ``worker``) under ``request_id`` (new if None) until the next call; the audit table is
    created on first use. Returns the trail.

    Raises:
        ValueError: an empty actor or an unknown source.
        LostConnectionError / AccessError: the pipeline server cannot be reached.
    """
    context = audit.AuditContext(actor, source, request_id or new_request_id())
    trail = audit.AuditTrail(settings.LABBOOK_AUDIT_DB, context)
    conn = PipelineSession.current().connection()
    trail.ensure(conn)
    conn.audit = trail
    return trail


def writer() -> dm.Connection:
    """This thread's connection for a write: one that records in the audit trail.

    Raises:
        DataJointError: no actor was set (:func:`act_as`): a write must not go unrecorded.
    """
    conn = PipelineSession.current().connection()
    if conn.audit is None:
        raise dm.DataJointError("a write needs an actor for the audit trail (act_as)")
    return conn


def record(
    action: str,
    table: dm.TableRef | None = None,
    key: dict | None = None,
    changes: dict | None = None,
    batch_id: str | None = None,
) -> None:
    """Record one event of a service-level action (a populate run queued, a grant changed)
    in a transaction of its own.

    Raises:
        DataJointError: no actor (see :func:`writer`).
    """
    conn = writer()
    with conn.transaction():
        conn.audit.record(conn, [audit.Event(action, table, key, changes, batch_id)])


def history(
    *,
    table: dm.TableRef | None = None,
    schema: str | None = None,
    schemas: list[str] | None = None,
    actor: str | None = None,
    key: dict | None = None,
    after: int | None = None,
    limit: int = HISTORY_PAGE,
) -> dict[str, Any]:
    """One page of events, newest first, JSON-safe: ``{"events": [...], "cursor": id or
    None}`` (send the cursor back as ``after`` for the next page). ``key`` (with ``table``)
    holds the row's primary-key values; it is matched as the data model recorded it.
    ``schemas`` limits the events to those schemas (e.g. the ones the reader may view).

    Raises:
        InvalidValueError: a key value that does not fit its attribute.
        ValueError: ``key`` without ``table``.
    """
    conn = PipelineSession.current().connection()
    key_json = None
    if key is not None:
        if table is None:
            raise ValueError("a key filter needs the table")
        heading = dm.FreeTable(conn, table).heading
        names = [n for n in heading.primary_key if n in key]
        key_json = audit.key_of(heading, names, [encode(heading[n], key[n]) for n in names])
    events = audit.read_events(
        conn,
        settings.LABBOOK_AUDIT_DB,
        table=table,
        schema=schema,
        schemas=schemas,
        actor=actor,
        key=key_json,
        after=after,
        limit=limit + 1,
    )
    more = len(events) > limit
    events = events[:limit]
    for event in events:
        event["time"] = event["time"].isoformat(sep=" ")
    return {"events": events, "cursor": events[-1]["event_id"] if more and events else None}
