"""The API's permission class: every view declares the action it performs
(``labbook_action``, see :class:`RolePermission`), checked against the role ladder of
:mod:`pipeline_core.roles` for the schema in the URL (``schema`` keyword), or site-wide
when the URL names none (the view then filters what it returns, or checks inside the
service, as the query view does)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from pipeline_core import roles, services


def action_of(view, method: str) -> str | None:
    """The action ``view`` declares for HTTP ``method``: ``view.labbook_action`` is an action
    name (every method) or a dict ``{method: action}``; HEAD and OPTIONS count as GET.
    None: the view has no handler for the method (DRF answers 405).

    Raises:
        ImproperlyConfigured: the view handles the method but declares no action for it.
    """
    declared = getattr(view, "labbook_action", None)
    method = method.upper()
    if isinstance(declared, str):
        return declared
    if isinstance(declared, dict):
        action = declared.get(method) or (
            declared.get("GET") if method in ("HEAD", "OPTIONS") else None
        )
        if action is not None:
            return action
    if not hasattr(view, method.lower()) or method.lower() not in view.http_method_names:
        return None
    raise ImproperlyConfigured(
        f"{type(view).__name__} declares no labbook_action for {method}: every API view says "
        "which action (pipeline_core.roles.ACTIONS) each method performs."
    )


class RolePermission(BasePermission):
    """Allow a request if the user's role allows the view's action (``labbook_action``) on
    the URL's ``schema`` (site-wide without one). A refusal is 401/403 for anonymous
    requests (``NotAuthenticated``; DRF picks the status by authentication scheme), 404
    exactly like an unknown schema when the user may not view the schema, and 403
    otherwise, with the reason in ``detail``."""

    def has_permission(self, request, view) -> bool:
        action = action_of(view, request.method)
        if action is None:
            return True  # no handler: DRF answers 405
        verdict = roles.decide(request.user, action, view.kwargs.get("schema"))
        if verdict.allowed:
            return True
        if verdict.decision is roles.Decision.LOGIN:
            raise NotAuthenticated()
        if verdict.decision is roles.Decision.HIDDEN:
            raise services.NotFoundError(verdict.message)
        raise PermissionDenied(verdict.message)
