"""Template context processors of the web UI."""

from __future__ import annotations

from .links import url_for


def schema_role(request) -> dict:
    """The user's role on the schema of the page, set by :func:`.errors.pipeline_view`:
    ``schema_access`` (:class:`.errors.SchemaAccess`: ``.schema``, ``.role``), ``schema_role``
    (a :class:`~pipeline_core.roles.Role` or None) and ``can`` (action -> bool, e.g.
    ``{% if can.populate %}``). Empty on pages without a schema."""
    access = getattr(request, "labbook_access", None)
    if access is None:
        return {}
    return {"schema_access": access, "schema_role": access.role, "can": access.can}


def site_links(request) -> dict:
    """``nav``: the paths of the site menu and account links of ``base.html`` (``query``,
    ``my_writes``, ``runs``, ``workers``, ``api_docs``, ``api_token``, ``logout``) for a
    logged-in user, from :func:`.links.url_for` (reversed once per process, not per page);
    empty for anyone else (``base.html`` then links only the login page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav": {
            "query": url_for("web:query"),
            "my_writes": url_for("web:actor_history", user.get_username()),
            "runs": url_for("web:runs"),
            "workers": url_for("web:workers"),
            "api_docs": url_for("api:docs"),
            "api_token": url_for("web:api_token"),
            "logout": url_for("logout"),
        }
    }
