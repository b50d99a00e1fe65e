"""Template context processors of the web UI."""

from __future__ import annotations


def schema_role(request) -> dict:
    """The user's role on the schema of the page, set by :func:`.errors.pipeline_view`:
    ``schema_access`` (:class:`.errors.SchemaAccess`: ``.schema``, ``.role``), ``schema_role``
    (a :class:`~pipeline_core.roles.Role` or None) and ``can`` (action -> bool, e.g.
    ``{% if can.populate %}``). Empty on pages without a schema."""
    access = getattr(request, "labbook_access", None)
    if access is None:
        return {}
    return {"schema_access": access, "schema_role": access.role, "can": access.can}
