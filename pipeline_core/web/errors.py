"""The web front door's one place turning data-model errors into HTTP responses, and the
view decorator every page goes through (login, fresh introspection, error pages).

Statuses and titles come from the shared mapping :mod:`pipeline_core.http_errors`.
"""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.http_errors import status_of


def error_response(request, exc: dm.DataJointError):
    """An error page naming the table, the attribute and the reason, with the status of
    :func:`~pipeline_core.http_errors.status_of`."""
    status, title = status_of(exc)
    context = {
        "title": title,
        "message": str(exc),
        "table": exc.table,
        "attribute": exc.attribute,
        "status": status,
    }
    template = "error.html#error" if getattr(request, "htmx", False) else "error.html"
    return render(request, template, context, status=status)


def pipeline_view(view=None, *, staff: bool = False):
    """Decorate a view: login required (and ``is_staff`` when ``staff``, else 403), the
    catalog refreshed, and DataJointError turned into an error page."""
    if view is None:
        return functools.partial(pipeline_view, staff=staff)

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if staff and not request.user.is_staff:
            raise PermissionDenied("Only administrators may do this.")
        try:
            services.begin_request()
            return view(request, *args, **kwargs)
        except dm.DataJointError as exc:
            return error_response(request, exc)

    return wrapper
