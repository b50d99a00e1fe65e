"""Django's ``ModelBackend`` whose ``get_user`` reads the user's role grants in the same
statement (``AUTHENTICATION_BACKENDS``, in its place).

Every request of a logged-in user loads the user (``get_user``, from the session) and then
its role grants (:func:`pipeline_core.roles.grants_of`, for the role check every page and
API call makes): two round trips to Django's database, about 0.3 ms each (issue 14). Here
one statement joins the user's row with its grants (``LEFT JOIN``: a user without grants is
one row with NULL grant columns), and the grants are kept on the user object
(:func:`pipeline_core.roles.remember_grants`), so the role check reads no more.

Authentication, permissions and ``user_can_authenticate`` are Django's, unchanged. A session
made by Django's own ``ModelBackend`` (before this one was configured) names that backend:
migration ``0004`` renames it in the stored sessions, so nobody is logged out.
"""

from __future__ import annotations

import functools

from django.contrib.auth import backends, get_user_model
from django.db import connections, router

from . import roles

#: Names of the grant columns added to the user's row (not fields of the user model).
_PATTERN, _ROLE = "labbook_grant_pattern", "labbook_grant_role"


class ModelBackend(backends.ModelBackend):
    """``ModelBackend`` with a ``get_user`` that also reads the user's grants."""

    def get_user(self, user_id):
        """The active user with primary key ``user_id`` (its grants kept on it), or None
        when there is none or it may not authenticate (inactive), as Django's backend."""
        model = get_user_model()
        alias = router.db_for_read(model)
        sql = _user_with_grants_sql(alias)
        found = list(model._default_manager.db_manager(alias).raw(sql, [user_id, user_id, user_id]))
        if not found:
            return None
        user = found[0]
        rows = [(getattr(u, _PATTERN), getattr(u, _ROLE)) for u in found]
        roles.remember_grants(user, [row for row in rows if row[0] is not None])
        return user if self.user_can_authenticate(user) else None


@functools.lru_cache(maxsize=8)
def _user_with_grants_sql(alias: str) -> str:
    """The user's columns and its grants' (``labbook_grant_pattern``,
    ``labbook_grant_role``), three ``%s``: the user's id (for the user and both parts of
    :func:`pipeline_core.roles.grants_sql`)."""
    from .models import RoleGrant

    connection = connections[alias]
    q = connection.ops.quote_name
    meta, grant = get_user_model()._meta, RoleGrant._meta
    columns = ", ".join(f"u.{q(field.column)}" for field in meta.concrete_fields)
    pattern, role = (q(grant.get_field(name).column) for name in ("schema_pattern", "role"))
    return (
        f"SELECT {columns}, g.{pattern} AS {q(_PATTERN)}, g.{role} AS {q(_ROLE)} "
        f"FROM {q(meta.db_table)} u LEFT JOIN ({roles.grants_sql(connection)}) g ON 1 = 1 "
        f"WHERE u.{q(meta.pk.column)} = %s"
    )
