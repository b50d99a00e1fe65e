"""htmx idioms of the web UI, in one place: which requests get a partial, the ``Vary``
headers that say so, where error partials are shown, and the events the server signals.

Requests are read through django-htmx's ``request.htmx`` (its middleware is installed).
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

#: Request headers a response may depend on when it is a partial for htmx requests.
HTMX_VARY = ("HX-Request", "HX-History-Restore-Request")
#: Id of the region of ``base.html`` where error partials of htmx requests are shown.
ERROR_REGION = "htmx-errors"
#: Event sent (``HX-Trigger``) when a watched populate run has finished.
POPULATE_DONE = "populate-done"

#: Decorator for views whose response differs for htmx requests (any target).
vary_on_htmx = vary_on_headers(*HTMX_VARY)
#: Decorator for views whose partial also depends on the element targeted (``HX-Target``).
vary_on_htmx_target = vary_on_headers(*HTMX_VARY, "HX-Target")


def is_htmx_for(request, target: str | None = None) -> bool:
    """True when ``request`` is an htmx request that should get a partial: sent by htmx
    (``HX-Request: true``), not a history restore (that needs the full page) and, when
    ``target`` is given, aimed at the element with that id (``HX-Target``).

    Views answering differently when this is true vary on :data:`HTMX_VARY` (and on
    ``HX-Target`` when they pass ``target``).
    """
    htmx = request.htmx
    if not htmx or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def to_error_region(response):
    """Have htmx show ``response`` (an error partial) in the page's error region,
    replacing what is there (``HX-Retarget``/``HX-Reswap``); returns ``response``."""
    return reswap(retarget(response, f"#{ERROR_REGION}"), "innerHTML")


def signal_populate_done(response, full_table_name: str):
    """Add the :data:`POPULATE_DONE` event (detail ``{"table": full_table_name}``) to
    ``response``'s ``HX-Trigger`` header; returns ``response``."""
    return trigger_client_event(response, POPULATE_DONE, {"table": full_table_name})


def login_redirect(request):
    """Send a visitor who is not logged in to the login page, coming back afterwards.

    A plain request gets Django's redirect (302 to ``LOGIN_URL?next=...``). An htmx request
    (e.g. after the session expired) gets ``HX-Redirect`` instead, which moves the whole
    browser to the login page, coming back to the page the request was made from: a plain
    redirect would be followed by htmx and the login page swapped into the element."""
    if is_htmx_for(request):
        page = urlsplit(request.htmx.current_url or request.get_full_path())
        back = page.path + (f"?{page.query}" if page.query else "")
        return HttpResponseClientRedirect(redirect_to_login(back).url)
    return redirect_to_login(request.get_full_path())


def login_required_htmx(view):
    """Only for logged-in users (pages of one's own account, outside the role ladder):
    visitors are sent to log in by :func:`login_redirect`; the answer varies on htmx."""

    @vary_on_htmx
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return login_redirect(request)
        return view(request, *args, **kwargs)

    return wrapper
