"""The web front door's one place turning data-model errors and role refusals into HTTP
responses, and the view decorator every page goes through (its action checked against the
role ladder, the acting user, fresh introspection, error pages, ``Vary``).

Statuses and titles come from the shared mapping :mod:`pipeline_core.http_errors`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.shortcuts import render

from pipeline_core import datamodel as dm
from pipeline_core import roles, services
from pipeline_core.http_errors import status_of
from pipeline_core.principal import Actor

from .htmx import is_htmx_for, login_redirect, to_error_region, vary_on_htmx


def _error_page(request, status: int, title: str, message: str, table=None, attribute=None):
    """The error page (``error.html``), or for an htmx request its partial
    ``error.html#notice`` (same status) retargeted to the page's error region."""
    context = {
        "title": title,
        "message": message,
        "table": table,
        "attribute": attribute,
        "status": status,
    }
    if is_htmx_for(request):
        return to_error_region(render(request, "error.html#notice", context, status=status))
    return render(request, "error.html", context, status=status)


def error_response(request, exc: dm.DataJointError):
    """An error page naming the table, the attribute and the reason, with the status of
    :func:`~pipeline_core.http_errors.status_of` (htmx: the partial, see :func:`_error_page`)."""
    status, title = status_of(exc)
    return _error_page(request, status, title, str(exc), exc.table, exc.attribute)


def refusal_response(request, verdict: roles.Verdict):
    """The answer to a refused :class:`~pipeline_core.roles.Verdict`: the login page for
    visitors (:func:`.htmx.login_redirect`), exactly the unknown-schema page (404) when the
    user may not view the schema, else 403 naming their role and the role needed."""
    if verdict.decision is roles.Decision.LOGIN:
        return login_redirect(request)
    if verdict.decision is roles.Decision.HIDDEN:
        return error_response(request, services.NotFoundError(verdict.message))
    return _error_page(request, 403, "Not allowed", verdict.message)


@dataclass(frozen=True)
class SchemaAccess:
    """The user's role on the schema of the page (``request.labbook_access``), shown by
    the templates (context processor :func:`.context.schema_role`).

    Attributes:
        schema: the schema of the URL; role: the user's role on it (None: none).
    """

    schema: str
    role: roles.Role | None

    @property
    def can(self) -> dict[str, bool]:
        """Action -> whether the role allows it (``can.populate`` in templates)."""
        return {
            action: self.role is not None and self.role >= needed
            for action, needed in roles.ACTIONS.items()
        }


def pipeline_view(*, action: str):
    """Decorate a view performing ``action`` (one of :data:`pipeline_core.roles.ACTIONS`).

    Before the view runs, the user's role on the URL's ``schema`` (site-wide without one)
    is checked with :func:`pipeline_core.roles.decide`; a refusal is answered by
    :func:`refusal_response` (login, 404 or 403). Then the view runs as the request's
    :class:`~pipeline_core.principal.Actor` (source ``web``), with the catalog refreshed,
    ``DataJointError`` turned into an error page (:func:`error_response`), and
    ``Vary: HX-Request`` on every response, since any of them may be an htmx partial.
    ``request.labbook_access`` (:class:`SchemaAccess`) holds the user's role for the page.

    Raises:
        ValueError: at decoration time, for an unknown action.
    """
    roles.least_role(action)

    def decorate(view):
        @vary_on_htmx  # outermost: the login redirect differs for htmx requests too
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            schema = kwargs.get("schema")
            verdict = roles.decide(request.user, action, schema)
            if not verdict.allowed:
                return refusal_response(request, verdict)
            if schema is not None:
                request.labbook_access = SchemaAccess(schema, verdict.role)
            request_id = services.request_id(request.headers)
            with services.serving(Actor.of_user(request.user, "web", request_id)):
                try:
                    return view(request, *args, **kwargs)
                except dm.DataJointError as exc:
                    return error_response(request, exc)

        wrapper.labbook_action = action
        return wrapper

    return decorate
