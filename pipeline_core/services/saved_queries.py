"""Saved queries (:class:`~pipeline_core.models.SavedQuery`): named query descriptions,
owned by a user, private or shared with the lab.

A saved query is visible to its owner, and to everybody when shared, but only to users who
may view every schema it reads (otherwise it is "not found", exactly as an unknown one).
Only the owner renames, replaces, shares or deletes it (others: ``PermissionDenied``, 403).
Every write saves the row and records its audit event (``saved_query_*``, no table: the
query is the lab's, not a table's) in one transaction of each database, as a populate run
is recorded (:mod:`.runs`).
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connections, router, transaction

from pipeline_core.datamodel import audit, query_json
from pipeline_core.datamodel.errors import QueryError
from pipeline_core.models import SavedQuery

from .access import NotFoundError, connection, may_view
from .audit import writer
from .query import viewable_resolver

#: Longest name of a saved query (the model's field).
MAX_NAME = SavedQuery._meta.get_field("name").max_length


def schemas_read(description: Any) -> set[str]:
    """Every schema a description names (``from``, ``join``, ``matching``, ``over``,
    ``union``, at any depth)."""
    found: set[str] = set()
    stack = [description]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("schema"), str) and "table" in value:
                found.add(value["schema"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def may_see(user, saved: SavedQuery) -> bool:
    """True when ``user`` owns ``saved`` or it is shared, and ``user`` may view every schema
    it reads (and they are still there); never visitors who are not logged in."""
    if not getattr(user, "is_authenticated", False):
        return False
    if not (saved.shared or saved.owner_id == getattr(user, "pk", None)):
        return False
    return all(may_view(user, schema) for schema in schemas_read(saved.description))


def saved_queries(user) -> list[SavedQuery]:
    """The saved queries ``user`` may see (:func:`may_see`): their own and the shared ones,
    by name, each with ``owner_name`` (its owner's user name); none for visitors who are not
    logged in."""
    if not getattr(user, "is_authenticated", False):
        return []
    alias = router.db_for_read(SavedQuery)
    candidates = SavedQuery.objects.db_manager(alias).raw(_visible_sql(alias), [user.pk, True])
    return [s for s in candidates if may_see(user, s)]


@functools.lru_cache(maxsize=8)
def _visible_sql(alias: str) -> str:
    """The saved queries of one user (first ``%s``, its id) and the shared ones (second
    ``%s``: True), by name then id, each with its owner's user name as ``owner_name``.

    One statement written once from the models' metadata (names quoted by the backend):
    the home page lists saved queries on every request, and the ORM's query with the
    owner joined took about 1 ms to build and read (issue 14)."""
    from django.contrib.auth import get_user_model

    q = connections[alias].ops.quote_name
    saved, users = SavedQuery._meta, get_user_model()._meta
    owner, shared, name = (saved.get_field(f).column for f in ("owner", "shared", "name"))
    columns = ", ".join(f"s.{q(field.column)}" for field in saved.concrete_fields)
    user_name = users.get_field(get_user_model().USERNAME_FIELD).column
    return (
        f"SELECT {columns}, u.{q(user_name)} AS {q('owner_name')} "
        f"FROM {q(saved.db_table)} s JOIN {q(users.db_table)} u "
        f"ON u.{q(users.pk.column)} = s.{q(owner)} "
        f"WHERE s.{q(owner)} = %s OR s.{q(shared)} = %s "
        f"ORDER BY s.{q(name)}, s.{q(saved.pk.column)}"
    )


def saved_query(user, pk: Any) -> SavedQuery:
    """The saved query ``pk`` if ``user`` may see it.

    Raises:
        NotFoundError: no such saved query, or not one ``user`` may see.
    """
    try:
        saved = SavedQuery.objects.select_related("owner").get(pk=int(pk))
    except (SavedQuery.DoesNotExist, TypeError, ValueError):
        saved = None
    if saved is None or not may_see(user, saved):
        raise NotFoundError(f"No saved query {pk}")
    return saved


def _canonical(description: Any, user) -> dict:
    """The description to keep: valid for ``user`` (canonical form, without the page's
    cursor ``after``).

    Raises:
        QueryDescriptionError: an invalid description (a schema the user may not view is
            placed at its path, as on the query page).
    """
    resolve = viewable_resolver(user, placed=True)
    canonical = query_json.validate(description, connection(), resolve=resolve)
    canonical.pop("after", None)
    return canonical


def _name(name: Any) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise QueryError("a saved query needs a name")
    if len(name) > MAX_NAME:
        raise QueryError(f"a saved query's name has at most {MAX_NAME} characters")
    return name


def _owned(user, pk: Any) -> SavedQuery:
    saved = saved_query(user, pk)
    if saved.owner_id != user.pk:
        raise PermissionDenied(
            f"The saved query “{saved.name}” belongs to {saved.owner.get_username()}: only "
            "its owner may change it."
        )
    return saved


def _write(saved: SavedQuery, action: str, changes: dict, fields: list[str] | None) -> None:
    """Save ``saved`` (only ``fields``, or a new row) and record its event (its id first),
    in one transaction of each database.

    Raises:
        QueryError: the owner already has a saved query of that name.
    """
    conn = writer()
    try:
        with transaction.atomic(), conn.transaction():
            saved.save(update_fields=fields)
            event = audit.Event(action, None, None, {"id": saved.pk, **changes})
            conn.audit.record(conn, [event])
    except IntegrityError:
        raise QueryError(f"you already have a saved query named “{saved.name}”") from None


def save_query(user, name: Any, description: Any, shared: bool = False) -> SavedQuery:
    """Save ``description`` (made canonical) as a new query of ``user``.

    Raises:
        QueryError: no name, too long, or one the user already has.
        QueryDescriptionError: an invalid description.
    """
    name = _name(name)
    canonical = _canonical(description, user)
    saved = SavedQuery(name=name, owner=user, description=canonical, shared=bool(shared))
    changes = {"name": [None, name], "shared": [None, saved.shared], "description": canonical}
    _write(saved, "saved_query_create", changes, None)
    return saved


def rename_query(user, pk: Any, name: Any) -> SavedQuery:
    """Rename the saved query ``pk`` of ``user``.

    Raises:
        NotFoundError, PermissionDenied (not the owner), QueryError (bad or taken name).
    """
    saved = _owned(user, pk)
    old, name = saved.name, _name(name)
    saved.name = name
    _write(saved, "saved_query_rename", {"name": [old, name]}, ["name", "updated"])
    return saved


def replace_query(user, pk: Any, description: Any) -> SavedQuery:
    """Keep ``description`` (made canonical) in the saved query ``pk`` of ``user``.

    Raises:
        NotFoundError, PermissionDenied, QueryDescriptionError.
    """
    saved = _owned(user, pk)
    old, canonical = saved.description, _canonical(description, user)
    saved.description = canonical
    changes = {"description": [old, canonical]}
    _write(saved, "saved_query_replace", changes, ["description", "updated"])
    return saved


def share_query(user, pk: Any, shared: bool) -> SavedQuery:
    """Share the saved query ``pk`` of ``user`` with the lab, or make it private again.

    Raises:
        NotFoundError, PermissionDenied.
    """
    saved = _owned(user, pk)
    old = saved.shared
    saved.shared = bool(shared)
    _write(saved, "saved_query_share", {"shared": [old, saved.shared]}, ["shared", "updated"])
    return saved


def delete_query(user, pk: Any) -> str:
    """Delete the saved query ``pk`` of ``user``; returns its name.

    Raises:
        NotFoundError, PermissionDenied.
    """
    saved = _owned(user, pk)
    pk_, name = saved.pk, saved.name
    changes = {"id": pk_, "name": [name, None], "description": saved.description}
    conn = writer()
    with transaction.atomic(), conn.transaction():
        saved.delete()
        conn.audit.record(conn, [audit.Event("saved_query_delete", None, None, changes)])
    return name
