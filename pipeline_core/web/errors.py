"""The web front door's one place turning data-model errors into HTTP responses, and the
view decorator every page goes through (login, fresh introspection, error pages, ``Vary``).

Statuses and titles come from the shared mapping :mod:`pipeline_core.http_errors`.
"""

from __future__ import annotations

import functools

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.http_errors import status_of

from .htmx import is_htmx_for, login_required_htmx, to_error_region, vary_on_htmx


def error_response(request, exc: dm.DataJointError):
    """An error page naming the table, the attribute and the reason, with the status of
    :func:`~pipeline_core.http_errors.status_of`. An htmx request gets the partial
    ``error.html#notice`` (same status), retargeted to the page's error region."""
    status, title = status_of(exc)
    context = {
        "title": title,
        "message": str(exc),
        "table": exc.table,
        "attribute": exc.attribute,
        "status": status,
    }
    if is_htmx_for(request):
        return to_error_region(render(request, "error.html#notice", context, status=status))
    return render(request, "error.html", context, status=status)


def pipeline_view(view=None, *, staff: bool = False):
    """Decorate a view: login required (:func:`.htmx.login_required_htmx`; ``is_staff``
    when ``staff``, else 403), the
    catalog refreshed, ``DataJointError`` turned into an error page (:func:`error_response`),
    and ``Vary: HX-Request`` on every response, since any of them may be an htmx partial."""
    if view is None:
        return functools.partial(pipeline_view, staff=staff)

    @vary_on_htmx  # outermost: the login redirect differs for htmx requests too
    @login_required_htmx
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if staff and not request.user.is_staff:
            raise PermissionDenied("Only administrators may do this.")
        try:
            services.begin_request()
            services.act_as(
                request.user.get_username(), "web", services.request_id(request.headers)
            )
            return view(request, *args, **kwargs)
        except dm.DataJointError as exc:
            return error_response(request, exc)

    return wrapper
