"""The web front door's one mapping of data-model errors to HTTP responses, and the view
decorator every page goes through (login, fresh introspection, error pages)."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel.stores import StoreError

#: (error class, HTTP status, page title), most specific first.
ERROR_STATUS = (
    (services.NotFoundError, 404, "Not found"),
    (dm.MissingTableError, 404, "Table not found"),
    (dm.AccessError, 403, "Access denied by the database"),
    (dm.LostConnectionError, 503, "Pipeline database unavailable"),
    (services.NotDownloadableError, 415, "Not downloadable"),
    (StoreError, 503, "Stored value unavailable"),
    (services.NoMakeError, 409, "No make() registered"),
    (dm.PopulateError, 409, "Cannot populate"),
    (dm.QueryTimeoutError, 504, "Query took too long"),
    (dm.QueryError, 400, "Bad request"),
    (dm.UnknownAttributeError, 400, "Unknown attribute"),
    (dm.InvalidValueError, 400, "Invalid value"),
    (dm.DuplicateError, 409, "Duplicate entry"),
    (dm.IntegrityError, 409, "Dependency error"),
    (dm.DataJointError, 500, "Pipeline error"),
)


def status_of(exc: dm.DataJointError) -> tuple[int, str]:
    """(HTTP status, title) for a data-model error."""
    for cls, status, title in ERROR_STATUS:
        if isinstance(exc, cls):
            return status, title
    return 500, "Pipeline error"


def error_response(request, exc: dm.DataJointError):
    """An error page naming the table, the attribute and the reason."""
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
