"""Rows of Manual and Lookup tables for the grid and the rows API: keyset pages, a batch of
new rows (with part rows) and ``update1`` calls checked whole and saved in one transaction,
deletes with their cascade preview.

Checks are :mod:`pipeline_core.datamodel.batch_check`'s (the rules ``insert`` applies,
one implementation); writes are the data model's ``insert``/``update1``/``delete`` on the
audited connection (:func:`.audit.writer`), inside one audit batch
(:meth:`~pipeline_core.datamodel.audit.AuditTrail.batch`) so that ``undo`` can take a save
back whole. Roles: the caller (view) checks the action of the request; updates inside a
save need ``update`` too, checked here.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pipeline_core import datamodel as dm
from pipeline_core import roles
from pipeline_core.datamodel import batch_check, batch_updates, fk_search
from pipeline_core.datamodel.batch_check import BatchError, Problem, RowSet, Update
from pipeline_core.datamodel.heading import TableInfo
from pipeline_core.datamodel.values import encode_for_write
from pipeline_core.keys import decode_key, encode_key

from .access import NotFoundError, check_viewable, connection, require, table_info, tier_phrase
from .audit import writer
from .browse import part_tables, rows_page
from .query import heading_json, json_value, viewable_resolver

#: Largest page of the rows API.
MAX_PAGE = 1000


#: Tiers whose rows people enter (the others are filled by populate, or are parts).
ENTERABLE_TIERS = ("Manual", "Lookup")


class NotEnterableError(dm.DataJointError):
    """Rows of this table are not entered by people (Computed, Imported, Part on its own)."""


class DeleteRefused(dm.DataJointError):
    """A delete that the grid and the API do not do (part rows without their master)."""


def enterable(schema: str, table: str) -> TableInfo:
    """TableInfo of a Manual or Lookup table (the tiers people enter rows into).

    Raises:
        NotFoundError: no such visible table.
        NotEnterableError: another tier (409): Computed and Imported rows come from
            ``populate``; part rows are entered with their master.
    """
    info = table_info(schema, table)
    if info.tier not in ENTERABLE_TIERS:
        raise NotEnterableError(
            f"{info.full_name} is {tier_phrase(info)}: rows are entered into Manual and "
            "Lookup tables only" + (" (part rows with their master)" if info.master else ""),
            table=info.full_name,
        )
    return info


def page_of_rows(schema: str, table: str, limit: int = 100, after: str | None = None) -> dict:
    """One keyset page of a table's rows in primary-key order (never COUNT or OFFSET).

    Args:
        limit: rows per page, 1..:data:`MAX_PAGE`.
        after: the ``next`` token of the previous page (a key token), or None.
    Returns:
        ``{"rows": [{attribute: JSON value}], "next": token or None, "heading": [...]}``
        (values as the query API encodes them, :func:`.query.json_value`).
    Raises:
        NotFoundError: no such visible table. QueryError: a bad ``after`` or ``limit``.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise dm.QueryError(f"limit must be between 1 and {MAX_PAGE} (got {limit})")
    info = table_info(schema, table)
    rows, next_after = rows_page(schema, table, decode_key(after) if after else None, limit)
    heading = info.heading
    return {
        "rows": [{n: json_value(heading[n], v) for n, v in row.items()} for row in rows],
        "next": None
        if next_after is None
        else encode_key({n: json_value(heading[n], v) for n, v in next_after.items()}),
        "heading": heading_json(info.heading),
    }


def _rowsets(info: TableInfo, rows: list[dict], parts: dict[str, list[dict]]) -> list[RowSet]:
    """The master rows and each part's rows (parts named by class or table name).

    Raises:
        NotFoundError: a name that is not a part of the table.
    """
    sets = [RowSet("rows", info, list(rows))]
    known = part_tables(info.database, info.table_name)
    for name, part_rows in parts.items():
        part = next(
            (p for p in known if name in (p.table_name, p.class_name, p.class_name.split(".")[-1])),
            None,
        )
        if part is None:
            raise NotFoundError(
                f"{info.full_name} has no part table {name!r} (its parts: "
                f"{', '.join(p.class_name for p in known) or 'none'})",
                table=info.full_name,
            )
        sets.append(RowSet(f"parts.{name}", part, list(part_rows)))
    return sets


def _resolver(user):
    """The foreign-key text resolver for ``user``: parents in schemas they may view only
    (:func:`pipeline_core.datamodel.fk_search.resolve_parents`)."""

    def resolve(conn, fk, texts):
        if not roles.may(user, "view", fk.parent.database):
            return {}
        return fk_search.resolve_parents(conn, fk, texts)

    return resolve


def check(info: TableInfo, rows, parts, updates: list[Update], user) -> batch_check.CheckResult:
    """Check a whole save without writing: the new rows and part rows
    (:func:`~pipeline_core.datamodel.batch_check.check_rows`) and the updates
    (:func:`~pipeline_core.datamodel.batch_updates.check_updates`)."""
    conn = connection()
    result = batch_check.check_rows(conn, _rowsets(info, rows, parts), _resolver(user))
    if updates:
        result.problems.extend(batch_updates.check_updates(conn, info, updates))
    return result


def _parent_schemas_viewable(info: TableInfo, user) -> None:
    """Every parent of the table and its parts lies in a schema ``user`` may view (the
    check reads parent keys; they must not be probed through it).

    Raises:
        NotFoundError: a parent in a schema the user may not view (named as unknown).
    """
    for table in [info, *part_tables(info.database, info.table_name)]:
        for fk in table.foreign_keys:
            check_viewable(fk.parent.database, user)


def save_rows(
    schema: str,
    table: str,
    user,
    rows: list[dict],
    parts: dict[str, list[dict]] | None = None,
    updates: list[dict] | None = None,
    dry_run: bool = False,
) -> dict:
    """Check, then save new rows (and part rows) and ``update1`` calls in ONE transaction
    and one audit batch: every row or none.

    Args:
        rows: new rows of the table, attribute -> value as typed or pasted (text is
            converted by the attribute's type; blank cells are "not given"; a foreign-key
            cell may hold a parent's label, resolved against the parent).
        parts: part name (class, e.g. ``"Trial"``, or table name) -> rows, each holding
            its master's key.
        updates: ``[{"key": {...}, "set": {...}}]`` (needs the ``update`` action).
        dry_run: check only.
    Returns:
        dry run: ``{"errors": [problem JSON], "resolved": [...]}``; saved:
        ``{"inserted": n, "updated": m, "batch": id, "keys": [primary key of each row]}``.
    Raises:
        BatchError: any problem (every one listed), nothing written.
        NotEnterableError: not a Manual/Lookup table. NotFoundError, RoleRequired.
    """
    parts = parts or {}
    info = enterable(schema, table)
    update_list = [
        Update(dict(u.get("key") or {}), dict(u.get("set") or {})) for u in updates or []
    ]
    if update_list:
        require(user, "update", schema)
    _parent_schemas_viewable(info, user)
    result = check(info, rows, parts, update_list, user)
    if dry_run:
        return {
            "errors": [p.as_json() for p in result.problems],
            "resolved": [r.as_json() for r in result.resolved],
        }
    if result.problems:
        raise BatchError(result.problems)
    return _write(info, result, update_list, user, rows, parts)


def _write(info: TableInfo, result, updates: list[Update], user, rows, parts) -> dict:
    conn = writer()
    sets = {s.list: s for s in _rowsets(info, rows, parts)}
    inserted = 0
    try:
        with _batch(conn) as batch, conn.transaction():
            for name, clean in result.rows.items():
                if clean:
                    inserted += dm.FreeTable(conn, sets[name].info.ref).insert(clean)
            for update in updates:
                dm.FreeTable(conn, info.ref).update1({**update.key, **update.set})
    except (dm.DuplicateError, dm.IntegrityError) as exc:
        raise BatchError(_late_problems(info, rows, parts, updates, user, exc)) from exc
    return {
        "inserted": inserted,
        "updated": len(updates),
        "batch": batch,
        "keys": [_written_key(info, row) for row in result.rows.get("rows", [])],
    }


def _written_key(info: TableInfo, row: dict) -> dict:
    """The primary key of a row as written (canonical JSON: ``"2024-05-01 10:00:00"`` for
    ``"2024-05-01 10:00"``, the enum member as declared)."""
    heading = info.heading
    return {
        k: dm.audit.audit_value(
            heading[k], encode_for_write(heading[k], row.get(k), info.full_name)
        )
        for k in heading.primary_key
    }


@contextlib.contextmanager
def _batch(conn):
    """One audit batch for the writes in the block (a fresh id when nothing records)."""
    if conn.audit is None:
        yield dm.audit.new_batch_id()
        return
    with conn.audit.batch() as batch:
        yield batch


def _late_problems(info, rows, parts, updates, user, exc: dm.DataJointError) -> list[Problem]:
    """The problems of a save that the server refused although the check passed: another
    writer saved the same key (or deleted a parent) in between. Checked again, now that
    the other transaction has committed; when nothing shows, the server's refusal itself,
    naming the table."""
    again = check(info, rows, parts, updates, user).problems
    if again:
        return again
    return [Problem("rows", 0, exc.table or info.full_name, exc.attribute, str(exc))]


def update_row(schema: str, table: str, user, key: dict, values: dict) -> dict:
    """``update1`` of one row's secondary attributes (spec §8.2), checked first.

    Returns:
        ``{"updated": 1, "batch": id}``.
    Raises:
        BatchError: the key names no row, a primary-key attribute in ``values``, a value
            that does not fit, a foreign key naming no parent.
    """
    result = save_rows(schema, table, user, [], {}, [{"key": key, "set": values}])
    return {"updated": result["updated"], "batch": result["batch"]}


def _restricted(info: TableInfo, user, restriction: Any, keys: list[dict] | None):
    """The table restricted by a JSON condition (the query description's ``where``) or by
    a list of primary keys.

    Raises:
        QueryError / QueryDescriptionError: neither or both given, or an invalid condition.
    """
    from pipeline_core.datamodel import query_json

    table = dm.FreeTable(connection(), info.ref)
    if (restriction is None) == (keys is None):
        raise dm.QueryError("give either `restriction` (a condition) or `keys` (a list of keys)")
    if keys is not None:
        if not keys or not all(isinstance(k, dict) for k in keys):
            raise dm.QueryError("`keys` must be a non-empty list of primary keys (objects)")
        missing = [n for n in info.heading.primary_key if any(n not in k for k in keys)]
        if missing:
            raise dm.QueryError(
                f"{info.full_name}: each key needs the whole primary key (missing `{missing[0]}`)"
            )
        return table & [{n: k[n] for n in info.heading.primary_key} for k in keys]
    description = {
        "from": {"schema": info.database, "table": info.table_name},
        "where": restriction,
    }
    query = query_json.to_query(description, connection(), resolve=viewable_resolver(user))
    return table & query.expression.proj()


def delete_rows(
    schema: str, table: str, user, restriction: Any = None, keys=None, dry_run: bool = True
) -> dict:
    """Delete rows with everything that depends on them (cascading, across schemas, part
    rows with their masters), in one transaction; or, ``dry_run``, the cascade preview.

    Returns:
        ``{"counts": {full table name: n}}`` (tables with rows to delete, and the table
        itself); deleted: also ``"deleted"`` (rows of this table) and ``"batch"``.
    Raises:
        DeleteRefused: rows of a part table (delete its master row instead).
        RoleRequired / NotFoundError: the user may not delete in a schema the cascade
            reaches.
    """
    info = table_info(schema, table)
    if info.master:
        raise DeleteRefused(
            f"{info.full_name} is a part table: delete its master row in "
            f"{info.master} (its part rows go with it)",
            table=info.full_name,
        )
    rows = _restricted(info, user, restriction, keys)
    preview = rows.delete_preview()
    counts = {t: n for t, n in preview.items() if n or t == info.full_name}
    for name in counts:
        require(user, "delete", dm.TableRef.parse(name).database)
    if dry_run:
        return {"counts": counts}
    conn = writer()  # the same connection as ``rows``', now recording
    with _batch(conn) as batch:
        deleted = rows.delete()
    return {"deleted": deleted, "counts": counts, "batch": batch}
