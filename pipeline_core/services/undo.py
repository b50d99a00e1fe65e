"""Undo a saved batch, from what the audit trail recorded of it: the rows it inserted are
deleted, the rows it updated get their previous values back, in one transaction recorded
as the batch ``undo-<batch id>``.

Refused (nothing changed) when the batch is not one LabBook can take back (it deleted or
populated rows), was undone already, a row it wrote has changed or gone since, rows were
entered below its rows since (the message names the dependent table), or an old value
cannot be restored from the trail (blobs are recorded as length and MD5 only).
"""

from __future__ import annotations

import json

from django.conf import settings

from pipeline_core import datamodel as dm
from pipeline_core import roles
from pipeline_core.datamodel import audit
from pipeline_core.datamodel.catalog import catalog_of

from .access import NotFoundError, connection
from .audit import writer

#: Prefix of the batch id of an undo (``undo-<batch id>``).
UNDO_PREFIX = "undo-"
#: The largest batch undone (events read).
MAX_EVENTS = 100_000


class UndoRefused(dm.DataJointError):
    """The batch cannot be undone (409); the message says why and names the table."""


def _events(batch_id: str) -> list[dict]:
    return audit.read_events(
        connection(), settings.LABBOOK_AUDIT_DB, batch_id=batch_id, limit=MAX_EVENTS
    )


def _same(attr, recorded, current_raw) -> bool:
    """Whether a value read now (``decode=False``) is the one the trail recorded."""
    now = audit.audit_value(attr, current_raw)
    if isinstance(recorded, float) or isinstance(now, float):
        try:
            a, b = float(recorded), float(now)
        except (TypeError, ValueError):
            return False
        return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))  # float32 rounds to 6 digits
    return json.dumps(recorded, sort_keys=True) == json.dumps(now, sort_keys=True)


def _check_roles(user, events: list[dict]) -> None:
    """Taking back inserts needs ``insert``, restoring updates ``update``, on each schema of
    the batch; another user's batch needs ``undo`` (editor) as well."""
    name = getattr(user, "username", None)
    for event in events:
        action = "insert" if event["action"] == "insert" else "update"
        if event["actor"] != name:
            action = "undo"
        verdict = roles.decide(user, action, event["schema"])
        if verdict.decision is roles.Decision.HIDDEN:
            raise NotFoundError(f"No batch {events[0]['batch_id']!r}")
        if not verdict.allowed:
            raise roles.RoleRequired(verdict)


def undo(batch_id: str, user) -> dict:
    """Undo the saved batch ``batch_id`` for ``user``.

    Returns:
        ``{"undone": batch_id, "batch": "undo-<batch_id>", "deleted": n, "restored": m}``.
    Raises:
        NotFoundError: no such batch (or none in schemas the user may view).
        RoleRequired: the user may not insert (to take back inserts) or update (to restore
            updated rows) in a schema of the batch.
        UndoRefused: see the module docstring.
    """
    events = [e for e in _events(batch_id) if e["table"]]
    if not events or not isinstance(batch_id, str):
        raise NotFoundError(f"No batch {batch_id!r} in the audit trail")
    _check_roles(user, events)
    if _events(UNDO_PREFIX + batch_id):
        raise UndoRefused(f"Batch {batch_id} was undone already")
    other = sorted({e["action"] for e in events} - {"insert", "update"})
    if other:
        raise UndoRefused(
            f"Batch {batch_id} holds {', '.join(other)} events: only saves of new and "
            "updated rows can be undone"
        )
    conn = writer()
    catalog = catalog_of(conn)
    deleted = restored = 0
    with conn.audit.batch(UNDO_PREFIX + batch_id), conn.transaction():
        inserts = sorted(
            (e for e in events if e["action"] == "insert"), key=lambda e: e["event_id"]
        )
        updates = [e for e in events if e["action"] == "update"]
        for event in updates:  # newest first, as read: the oldest value is restored last
            restored += _restore(conn, catalog, event)
        deleted = _take_back(conn, catalog, inserts)
        conn.audit.record(
            conn,
            [
                audit.Event(
                    "undo",
                    None,
                    None,
                    {"batch": batch_id, "deleted": deleted, "restored": restored},
                )
            ],
        )
    return {
        "undone": batch_id,
        "batch": UNDO_PREFIX + batch_id,
        "deleted": deleted,
        "restored": restored,
    }


def _info(catalog, event):
    try:
        return catalog.table(event["schema"], event["table"])
    except dm.MissingTableError:
        raise UndoRefused(
            f"Table `{event['schema']}`.`{event['table']}` of the batch no longer exists"
        ) from None


def _current(conn, info, key: dict) -> dict | None:
    rows = (dm.FreeTable(conn, info.ref) & key).to_dicts(decode=False)
    return rows[0] if rows else None


def _restore(conn, catalog, event: dict) -> int:
    """Give an updated row its old values back (after checking it still holds the new)."""
    info = _info(catalog, event)
    key = event["key"]
    row = _current(conn, info, key)
    if row is None:
        raise UndoRefused(f"{info.full_name}: the row {key} updated by the batch is gone")
    old = {}
    for name, (before, after) in event["changes"].items():
        attr = info.heading[name]
        if not _same(attr, after, row[name]):
            raise UndoRefused(
                f"{info.full_name}: `{name}` of the row {key} has changed since the batch"
            )
        if isinstance(before, dict) and set(before) == {"bytes", "md5"}:
            raise UndoRefused(
                f"{info.full_name}: the old value of `{name}` (a blob) is not in the audit "
                "trail and cannot be restored"
            )
        old[name] = json.dumps(before) if attr.is_json and before is not None else before
    dm.FreeTable(conn, info.ref).update1({**key, **old})
    return 1


def _take_back(conn, catalog, inserts: list[dict]) -> int:
    """Delete the rows the batch inserted, refusing when a row changed since or rows of
    another table now depend on them."""
    by_table: dict = {}
    for event in inserts:
        by_table.setdefault((event["schema"], event["table"]), []).append(event)
    deleted = 0
    # the batch inserted masters before parts and parents before children: take them back
    # in reverse, so that the batch's own rows are not counted as dependents
    for events in reversed(list(by_table.values())):
        info = _info(catalog, events[0])
        keys = []
        for event in events:
            row = _current(conn, info, event["key"])
            if row is None:
                continue  # deleted since (with its master, or by hand): nothing to undo
            for name, (_, after) in (event["changes"] or {}).items():
                if name in row and not _same(info.heading[name], after, row[name]):
                    raise UndoRefused(
                        f"{info.full_name}: `{name}` of the row {event['key']} has changed "
                        "since the batch"
                    )
            keys.append(event["key"])
        if not keys:
            continue
        rows = dm.FreeTable(conn, info.ref) & keys
        for name, count in rows.delete_preview(part_integrity="ignore").items():
            if count and name != info.full_name:
                raise UndoRefused(
                    f"Cannot undo: {count} rows of {name} were entered below rows of "
                    f"{info.full_name} from this batch since; delete them first",
                    table=name,
                )
        deleted += rows.delete(part_integrity="ignore")
    return deleted
