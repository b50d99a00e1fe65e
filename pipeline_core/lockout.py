"""The answer to a locked-out client (django-axes' ``AXES_LOCKOUT_CALLABLE``): HTTP 429 with
``Retry-After`` (seconds of the cool-off left at most), as the API's JSON error
(``{"detail": ...}``) under ``/api/`` and as the page ``locked_out.html`` elsewhere."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off, get_failure_limit
from django.http import JsonResponse
from django.shortcuts import render

#: The answer's HTTP status (Too Many Requests).
STATUS = 429
#: The message of the API's answer.
MESSAGE = "Too many failed logins from this address: locked out."


def lockout_response(request, original_response=None, credentials=None):
    """The 429 answer to ``request`` from a locked-out client.

    Args:
        request: the Django ``HttpRequest`` (login form, admin login or an API request).
        original_response: the response the view gave, if any (unused).
        credentials: the credentials axes recorded (``{"username": ...}``).
    Returns:
        ``JsonResponse`` for paths under ``/api/``, else the rendered ``locked_out.html``;
        both with ``Retry-After`` when a cool-off is set.
    """
    cool_off = get_cool_off(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": MESSAGE}, status=STATUS)
    else:
        context = {
            "failure_limit": get_failure_limit(request, credentials),
            "cooloff_timedelta": cool_off,
        }
        response = render(request, "locked_out.html", context, status=STATUS)
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response
