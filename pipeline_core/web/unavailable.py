"""Answers when a database server cannot be reached: 503 naming the server, not a bare 500.

The pipeline server's loss inside a page is answered by the page's own error handling
(:class:`~pipeline_core.datamodel.LostConnectionError` maps to 503 in
:mod:`pipeline_core.http_errors`). What fails before a view runs (Django's session or user
lookup, when Django's database is on a server that is down) reaches Django's ``handler500``:
:func:`server_error` turns connection failures into a 503 page (JSON under ``/api/``) and
renders the plain 500 page otherwise. Neither page reads a database, and both recover by
themselves: the next request connects again.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.template import loader

from pipeline_core import datamodel as dm

#: MySQL/MariaDB client error numbers meaning "the server cannot be reached": 2002 (socket),
#: 2003 (TCP connect), 2005 (unknown host), 2006 (gone away), 2013 (lost during a query).
UNREACHABLE_ERRNOS = frozenset({2002, 2003, 2005, 2006, 2013})


def unreachable_server(exc: BaseException | None) -> str | None:
    """``"the pipeline database server db:3306"`` (or Django's) when ``exc`` says a database
    server cannot be reached; None for any other error."""
    if isinstance(exc, dm.LostConnectionError):
        db = settings.LABBOOK_PIPELINE_DB
        return f"the pipeline database server {db['host']}:{db['port']}"
    if isinstance(exc, (OperationalError, InterfaceError)):
        errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if errno in UNREACHABLE_ERRNOS or isinstance(exc, InterfaceError):
            db = settings.DATABASES["default"]
            host = db.get("HOST") or "localhost"
            return f"LabBook's database server {host}:{db.get('PORT') or 3306}"
    return None


def unavailable_response(request, server: str):
    """503 saying which server cannot be reached: JSON ``{"detail": ...}`` under ``/api/``,
    else the page ``unavailable.html``; with ``Retry-After: 10``."""
    message = f"{server[0].upper()}{server[1:]} cannot be reached. Try again in a moment."
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=503)
    else:
        page = loader.get_template("unavailable.html").render({"message": message})
        response = _html(page, 503)
    response["Retry-After"] = "10"
    return response


def _html(content: str, status: int):
    from django.http import HttpResponse

    return HttpResponse(content, status=status, content_type="text/html; charset=utf-8")


def server_error(request):
    """Django's ``handler500``: 503 for an unreachable database (see
    :func:`unreachable_server`), else the static ``500.html`` (rendered without a context:
    no session, no database)."""
    server = unreachable_server(sys.exc_info()[1])
    if server is not None:
        return unavailable_response(request, server)
    return _html(loader.get_template("500.html").render(), 500)
