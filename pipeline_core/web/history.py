"""History pages of the audit trail: a table's (or one row's, ``?key=``) and a user's.

Thin views over :func:`pipeline_core.services.history`; pages of events, newest first,
``?after=<event id>`` for the next page (keyset, like the table pages).
"""

from __future__ import annotations

import json

from django.http import Http404
from django.urls import reverse
from django.views.decorators.http import require_GET

from pipeline_core import services

from .errors import pipeline_view
from .htmx import login_redirect
from .keys import decode_key, key_label
from .views import _render


def _after(request) -> int | None:
    """The ``after`` query parameter: an event id, or None (a malformed one: the first page)."""
    try:
        return int(request.GET["after"])
    except (KeyError, ValueError):
        return None


def _shown(events: list[dict]) -> list[dict]:
    """Events with their key and changes as short text for the page."""
    for event in events:
        event["key_label"] = key_label(event["key"]) if event["key"] else ""
        event["changes_shown"] = [
            (name, _text(change[0]), _text(change[1]))
            if isinstance(change, list) and len(change) == 2
            else (name, "", _text(change))
            for name, change in (event["changes"] or {}).items()
        ]
    return events


def _text(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


@require_GET
@pipeline_view(action="view")
def table_history(request, schema, table):
    """The events of one table, newest first; with ``?key=<token>`` those of one row (for
    logged-in users: the trail names people)."""
    if not request.user.is_authenticated:
        return login_redirect(request)
    info = services.table_info(schema, table)
    token = request.GET.get("key") or None
    key = decode_key(token) if token else None
    page = services.history(table=info.ref, key=key, after=_after(request))
    base = reverse("web:history", args=[schema, table])
    more = f"{base}?{'key=' + token + '&' if token else ''}after={page['cursor']}"
    context = {
        "info": info,
        "row": key_label(key) if key else None,
        "events": _shown(page["events"]),
        "next_url": more if page["cursor"] else None,
        "first_url": base + (f"?key={token}" if token else "") if _after(request) else None,
    }
    return _render(request, "history.html", context)


@require_GET
@pipeline_view(action="view")
def actor_history(request, actor):
    """The events of one user, newest first, in the schemas the reader may view (all of
    them, grant changes included, for superusers); for logged-in users."""
    if not request.user.is_authenticated:
        return login_redirect(request)
    if not actor:
        raise Http404("no user named")
    schemas = None if request.user.is_superuser else services.viewable_schemas(request.user)
    page = services.history(actor=actor, schemas=schemas, after=_after(request))
    base = reverse("web:actor_history", args=[actor])
    context = {
        "actor": actor,
        "events": _shown(page["events"]),
        "next_url": f"{base}?after={page['cursor']}" if page["cursor"] else None,
        "first_url": base if _after(request) else None,
    }
    return _render(request, "history.html", context)
