"""Roles per schema: the one place that decides who may do what where.

The ladder, lowest first (each role may do everything the roles below it may):

=============  ==================================================================
``viewer``     ``view``: browse, query, download
``entry``      ``insert``: enter new rows
``editor``     ``update``, ``delete``, ``undo``
``operator``   ``populate``, ``retry``, ``ignore``, ``cancel``, ``clear_errors``
``admin``      ``grant``, ``declare``, ``alter``, ``gc`` (store garbage collection)
=============  ==================================================================

A user's role on a schema (:func:`role_of`) is the highest role of the
:class:`~pipeline_core.models.RoleGrant` rows that match the schema's name (the user's own
grants and those of their groups; patterns as in :mod:`pipeline_core.schema_patterns`),
else ``settings.LABBOOK_DEFAULT_ROLE``; superusers are ``admin`` everywhere, inactive
users have no role, and anonymous visitors have ``settings.LABBOOK_ANONYMOUS_ROLE``
(``viewer`` at most), which is also a floor for everybody (logging in never loses a right).

Every action is a django-rules permission ``pipeline_core.<action>`` whose object is the
schema name: ``user.has_perm("pipeline_core.populate", "lab_ephys")``. Front doors ask
:func:`decide`, which also says how a refusal looks (see :class:`Decision`): anonymous
visitors are sent to log in, a schema the user may not view is "not found" (its existence
is not revealed), and a schema the user may view but not act on is "forbidden".

The ladder and the actions themselves live in :mod:`pipeline_core.ladder` (no Django
models, so settings and models can read them) and are re-exported here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import rules
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied

from .display import shown
from .ladder import (
    ACTIONS,
    ANONYMOUS_ROLES,
    DESCRIPTIONS,
    PERMISSION_PREFIX,
    ROLE_CHOICES,
    ROLE_NAMES,
    Role,
    least_role,
    parse_role_setting,
    permission,
)
from .schema_patterns import matches

__all__ = [
    "ACTIONS",
    "ANONYMOUS_ROLES",
    "DESCRIPTIONS",
    "HIDDEN_SCHEMA",
    "PERMISSION_PREFIX",
    "PREDICATES",
    "ROLE_CHOICES",
    "ROLE_NAMES",
    "Decision",
    "Role",
    "RoleRequired",
    "Verdict",
    "anonymous_role",
    "check",
    "decide",
    "default_role",
    "forget_grants",
    "grants_of",
    "least_role",
    "may",
    "parse_role_setting",
    "permission",
    "register_permissions",
    "role_of",
    "viewable",
]

#: What a schema the user may not view looks like: exactly an unknown schema.
HIDDEN_SCHEMA = "Schema {schema} does not exist or is not visible here"
#: Attribute of a user object caching its grants for the life of that object (a request).
_CACHE = "_labbook_role_grants"


def _setting_role(name: str, default: str | None) -> Role | None:
    """The role of setting ``name`` (read now, so tests may override it)."""
    value = getattr(settings, name, default)
    return None if value in (None, "", "none") else Role.parse(value)


def default_role() -> Role | None:
    """``settings.LABBOOK_DEFAULT_ROLE``: the role of a logged-in user on a schema no grant
    of theirs matches (None: no role, the schema is hidden from them)."""
    return _setting_role("LABBOOK_DEFAULT_ROLE", "viewer")


def anonymous_role() -> Role | None:
    """``settings.LABBOOK_ANONYMOUS_ROLE``: the role of visitors who are not logged in,
    on every schema (None: they must log in)."""
    return _setting_role("LABBOOK_ANONYMOUS_ROLE", None)


# --- who has which role where ----------------------------------------------------------------


def grants_of(user) -> tuple[tuple[str, Role], ...]:
    """``(schema pattern, role)`` of every grant to ``user`` or to one of their groups,
    read once per user object (a request's user) and cached on it."""
    cached = getattr(user, _CACHE, None)
    if cached is None:
        remember_grants(user, _grant_rows(user.pk))
        cached = getattr(user, _CACHE)
    return cached


def _grant_rows(user_id) -> list[tuple[str, str]]:
    """``(schema_pattern, role)`` of the grants to the user ``user_id`` and to their
    groups, in one parameterised statement (:func:`grants_sql`)."""
    from django.db import connections, router

    from .models import RoleGrant

    connection = connections[router.db_for_read(RoleGrant)]
    with connection.cursor() as cursor:
        cursor.execute(grants_sql(connection), [user_id, user_id])
        return list(cursor.fetchall())


def grants_sql(connection) -> str:
    """``SELECT schema_pattern, role`` of the grants to one user and to their groups, with
    two ``%s`` parameters, both the user's id.

    Written once here rather than built by the ORM: it runs on every request, and building
    the ORM's query took three times as long as running it (issue 14). Table and column
    names come from the models' metadata, quoted by ``connection`` (a Django database
    connection)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from .models import RoleGrant

    members = get_user_model().groups.through._meta
    member_user = next(f.column for f in members.fields if f.related_model is get_user_model())
    member_group = next(f.column for f in members.fields if f.related_model is Group)
    q = connection.ops.quote_name
    grants = RoleGrant._meta
    pattern, role = q(grants.get_field("schema_pattern").column), q(grants.get_field("role").column)
    table, members_table = q(grants.db_table), q(members.db_table)
    return (
        f"SELECT g.{pattern}, g.{role} FROM {table} g "
        f"WHERE g.{q(grants.get_field('user').column)} = %s "
        f"UNION ALL SELECT g.{pattern}, g.{role} FROM {table} g "
        f"JOIN {members_table} m ON m.{q(member_group)} = g.{q(grants.get_field('group').column)} "
        f"WHERE m.{q(member_user)} = %s"
    )


def remember_grants(user, rows) -> None:
    """Keep ``rows`` (``(schema pattern, role name)`` pairs, as :func:`grants_sql` reads
    them) as ``user``'s grants for :func:`grants_of`, e.g. when they were read together
    with the user (:mod:`pipeline_core.auth_backend`).

    Raises:
        ValueError: a role name that is not a :class:`Role`."""
    setattr(user, _CACHE, tuple((pattern, Role.parse(role)) for pattern, role in rows))


def forget_grants(user) -> None:
    """Drop the grants cached on ``user`` (after changing them within one request)."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def _higher(a: Role | None, b: Role | None) -> Role | None:
    return a if b is None or (a is not None and a >= b) else b


def role_of(user, schema: str) -> Role | None:
    """The role of ``user`` (a Django user, an ``AnonymousUser`` or None) on ``schema``.

    Superusers: ``admin``. Inactive users: None. Anonymous: :func:`anonymous_role`. Others:
    the highest role of the grants matching ``schema`` (:func:`grants_of`), or
    :func:`default_role` when none matches; never below :func:`anonymous_role`.
    """
    if user is None or not user.is_authenticated:
        return anonymous_role()
    if not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    matched = [role for pattern, role in grants_of(user) if matches(pattern, schema)]
    role = max(matched) if matched else default_role()
    return _higher(role, anonymous_role())


def may(user, action: str, schema: str) -> bool:
    """True if ``user``'s role on ``schema`` is at least the one ``action`` needs."""
    role = role_of(user, schema)
    return role is not None and role >= least_role(action)


def viewable(user, schemas) -> list[str]:
    """The names among ``schemas`` that ``user`` may view, in their order."""
    return [name for name in schemas if may(user, "view", name)]


# --- decisions for the front doors -----------------------------------------------------------


class Decision(enum.Enum):
    """How a check ends, and how each front door answers it."""

    ALLOW = "allow"
    #: not logged in and the anonymous role does not allow it: log in (web 302, API 401/403)
    LOGIN = "login"
    #: the user may not even view the schema: answered exactly as an unknown schema (404)
    HIDDEN = "hidden"
    #: the user may view the schema but their role is too low for the action (403)
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`decide` with what explains it.

    Attributes:
        decision: the :class:`Decision`.
        action: the action asked for; needed: the least role it needs.
        schema: the schema (None for site-wide actions such as the list of schemas).
        role: the user's role on the schema (None: none, or a site-wide check).
    """

    decision: Decision
    action: str
    needed: Role
    schema: str | None
    role: Role | None

    @property
    def allowed(self) -> bool:
        """True if the action may go ahead."""
        return self.decision is Decision.ALLOW

    @property
    def message(self) -> str:
        """Why it was refused, in words for the person refused."""
        if self.decision is Decision.LOGIN:
            return "Log in to do this."
        if self.decision is Decision.HIDDEN:
            return HIDDEN_SCHEMA.format(schema=shown(self.schema))
        if self.schema is None:
            return f"{self.action} needs the role {self.needed} or higher."
        return (
            f"Your role on schema `{self.schema}` is {self.role}: {self.action} needs "
            f"{self.needed} or higher. Ask an administrator for a grant."
        )


class RoleRequired(PermissionDenied):
    """A refusal by the role system (a Django ``PermissionDenied``, so pages and the API
    answer 403 by default); ``verdict`` says why."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.message)
        self.verdict = verdict


def decide(user, action: str, schema: str | None) -> Verdict:
    """Decide whether ``user`` may do ``action`` on ``schema``.

    The check goes through Django's permission API (``user.has_perm("pipeline_core.<action>",
    schema)``, answered by the django-rules predicates built on :func:`role_of`).
    ``schema=None`` is a site-wide check (e.g. the list of schemas, which is then filtered
    with :func:`viewable`): any active logged-in user may ``view``; other site-wide actions
    are for superusers only.

    Raises:
        ValueError: an unknown action.
    """
    needed = least_role(action)
    authenticated = user is not None and user.is_authenticated
    if schema is None:
        role = None
        if authenticated:
            ok = user.is_active and (needed is Role.VIEWER or user.is_superuser)
        else:
            anon = anonymous_role()
            ok = anon is not None and anon >= needed
    else:
        role = role_of(user, schema)
        ok = user.has_perm(permission(action), schema) if user is not None else False
    if ok:
        decision = Decision.ALLOW
    elif not authenticated:
        decision = Decision.LOGIN
    elif schema is not None and role is None:
        decision = Decision.HIDDEN
    else:
        decision = Decision.FORBIDDEN
    return Verdict(decision, action, needed, schema, role)


def check(user, action: str, schema: str | None) -> Verdict:
    """:func:`decide`, raising when refused.

    Raises:
        RoleRequired: refused (any decision but ALLOW); ``exc.verdict`` says which.
    """
    verdict = decide(user, action, schema)
    if not verdict.allowed:
        raise RoleRequired(verdict)
    return verdict


# --- django-rules ------------------------------------------------------------------------------


def _has_role(role: Role) -> rules.Predicate:
    """The predicate "the user's role on the schema (the object) is at least ``role``"."""

    def has_role(user, schema) -> bool:
        if not isinstance(schema, str):
            return False  # a schema name is required: no site-wide grant by accident
        found = role_of(user, schema)
        return found is not None and found >= role

    return rules.predicate(has_role, name=f"has_{role.label}_role")


#: One predicate per role: ``PREDICATES[Role.OPERATOR](user, "lab_x")``.
PREDICATES = {role: _has_role(role) for role in Role}


def register_permissions() -> None:
    """Register ``pipeline_core.<action>`` for every action with django-rules (idempotent;
    called by the app's ``ready()``). Needs ``rules.permissions.ObjectPermissionBackend`` in
    ``AUTHENTICATION_BACKENDS``.

    Raises:
        ImproperlyConfigured: that backend is missing.
    """
    backend = "rules.permissions.ObjectPermissionBackend"
    if backend not in settings.AUTHENTICATION_BACKENDS:
        raise ImproperlyConfigured(f"AUTHENTICATION_BACKENDS must include {backend!r}.")
    for action, role in ACTIONS.items():
        rules.set_perm(PERMISSION_PREFIX + action, PREDICATES[role])
