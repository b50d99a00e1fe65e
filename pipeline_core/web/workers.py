"""The workers page of the populate console (issue #13): Celery nodes (online or offline,
queues, concurrency, active tasks) and the LabBook worker processes with their current run,
table and key, online or offline. htmx refreshes the list every few seconds
(``#workers-panel``); without JavaScript the page has a Refresh link. A thin view over
:func:`pipeline_core.services.list_workers`."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.views.decorators.http import require_GET

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.services.recovery import stale_after

from .errors import pipeline_view
from .htmx import is_htmx_for, login_redirect, vary_on_htmx_target
from .keys import key_label
from .views import _render

#: Seconds between two refreshes of the list (htmx polling).
REFRESH_SECONDS = 3


def _table_links(item: dict) -> None:
    """Add ``table_label`` and ``jobs_url`` (the table's jobs page) to a process or task,
    ``run_url`` when its run has a page, and ``key_label`` for a process's key."""
    item["run_url"] = reverse("web:run", args=[item["run"]]) if item.get("run_recorded") else None
    item["jobs_url"] = item["table_label"] = None
    if item.get("table"):
        try:
            ref = dm.TableRef.parse(item["table"])
        except dm.DataJointError:
            ref = None
        if ref is not None:
            item["table_label"] = f"{ref.database}.{ref.table}"
            item["jobs_url"] = reverse("web:jobs", args=[ref.database, ref.table])
    if item.get("key") is not None:
        item["key_label"] = key_label(item["key"]) if isinstance(item["key"], dict) else ""
    for name in ("first_seen", "last_seen", "started"):
        if item.get(name):
            item[name + "_at"] = datetime.datetime.fromisoformat(item[name])


@require_GET
@pipeline_view(action="view")
@vary_on_htmx_target
def workers(request):
    """The workers page (logged-in users: it names hosts and pids); an htmx request aimed
    at ``#workers-panel`` gets the list alone (polled)."""
    if not request.user.is_authenticated:
        return login_redirect(request)
    data = services.list_workers(request.user)
    for process in data["processes"]:
        _table_links(process)
    for node in data["nodes"]:
        node["last_seen_at"] = datetime.datetime.fromisoformat(node["last_seen"])
        for task in node["active"]:
            _table_links(task)
    context = {
        **data,
        "online_processes": sum(p["online"] for p in data["processes"]),
        "online_nodes": sum(n["online"] for n in data["nodes"]),
        "stale_after": stale_after(),
        "refresh": REFRESH_SECONDS,
        "this_url": reverse("web:workers"),
    }
    if is_htmx_for(request, "workers-panel"):
        return _render(request, "workers.html#panel", context)
    return _render(request, "workers.html", context)
