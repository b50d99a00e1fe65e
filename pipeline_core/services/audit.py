"""The audit trail as LabBook's front doors use it (issue #11): who acts on this thread's
connection, service-level events (a populate run queued), and the history pages' reads.

The events themselves are written by the data model, on the write's connection and in its
transaction (:mod:`pipeline_core.datamodel.audit`); the table lives in the database
``settings.LABBOOK_AUDIT_DB`` on the pipeline server.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import audit
from pipeline_core.datamodel.values import encode
from pipeline_core.principal import current_actor

from .state import PipelineSession

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Events per page of a history.
HISTORY_PAGE = 50


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def request_id(headers) -> str:
    """The id of an HTTP request for the audit trail: the ``X-Request-ID`` header a proxy
    set, when it is 1-64 letters, digits, ``.``, ``_``, ``-``; else a new one
    (:func:`new_request_id`). It correlates log lines; it proves nothing (clients may
    send it)."""
    given = (headers.get("X-Request-ID") or "").strip()
    return given if _REQUEST_ID.fullmatch(given) else new_request_id()


def attach() -> audit.AuditTrail | None:
    """Make this thread's connection record its writes as the current actor
    (:func:`pipeline_core.principal.current_actor`: name, source, request id); without an
    actor (outside requests, commands and tasks) it records nothing. Returns the trail, or
    None. The audit table is made (if missing) by :func:`writer`, not here: reading pages
    needs no privilege on the audit database.

    Raises:
        LostConnectionError / AccessError: the pipeline server cannot be reached.
    """
    conn = PipelineSession.current().connection()
    actor = current_actor()
    if actor is None:
        conn.audit = None
        return None
    context = audit.AuditContext(actor.name, actor.source, actor.request_id)
    if conn.audit is None or conn.audit.context != context:
        conn.audit = audit.AuditTrail(settings.LABBOOK_AUDIT_DB, context)
    return conn.audit


def detach() -> None:
    """Stop recording on this thread's connection (the end of a request, command or task):
    a later write without an actor is refused rather than recorded as the last one."""
    session = PipelineSession.current()
    if session.is_open():
        session.connection().audit = None


def writer() -> dm.Connection:
    """This thread's connection for a write, recording as the current actor (:func:`attach`;
    the audit table is created on the first write if the database account may, else it
    must exist: see README).

    Raises:
        DataJointError: no actor: a write must not go unrecorded.
    """
    trail = attach()
    if trail is None:
        raise dm.DataJointError(
            "a write needs an actor for the audit trail (pipeline_core.principal.acting_as)"
        )
    conn = PipelineSession.current().connection()
    trail.ensure(conn)
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


def grant_state(grant) -> dict[str, str] | None:
    """What a :class:`~pipeline_core.models.RoleGrant` grants, for :func:`record_grant`:
    ``{"holder", "schema_pattern", "role"}`` (None for no grant)."""
    if grant is None:
        return None
    return {"holder": grant.principal, "schema_pattern": grant.schema_pattern, "role": grant.role}


def record_grant(before: dict | None, after: dict | None) -> None:
    """One ``grant`` event (no schema: grants are site-wide) for a grant made (``before``
    None), changed, or revoked (``after`` None), states from :func:`grant_state`:
    ``{"holder": [old, new], "schema_pattern": [old, new], "role": [old, new]}``. Written
    right after the grant is saved in Django's database (another database: not in its
    transaction).

    Raises:
        DataJointError: no actor.
    """
    names = ("holder", "schema_pattern", "role")
    changes = {n: [(before or {}).get(n), (after or {}).get(n)] for n in names}
    record("grant", changes=changes)


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
