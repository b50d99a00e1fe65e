"""Populate runs in the browser (issue #13): the run history (``/runs/``, optionally of one
table) and a run's page with its keys' outcomes and a Cancel button for operators. Thin
views over :mod:`pipeline_core.services.runs`."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from pipeline_core import roles, services

from .errors import pipeline_view
from .htmx import login_redirect
from .views import _render


@require_GET
@pipeline_view(action="view")
def run_list(request):
    """Runs newest first in the schemas the user may view (``?schema=&table=`` to narrow,
    ``?after=<run id>`` for the next page)."""
    schema = request.GET.get("schema") or None
    table = request.GET.get("table") or None
    runs, cursor = services.list_runs(
        request.user, schema, table, after=request.GET.get("after") or None
    )
    query = "".join(f"&{k}={v}" for k, v in (("schema", schema), ("table", table)) if v)
    return _render(
        request,
        "runs.html",
        {
            "runs": runs,
            "schema": schema,
            "table": table,
            "next_url": f"{reverse('web:runs')}?after={cursor}{query}" if cursor else None,
        },
    )


@require_GET
@pipeline_view(action="view")
def run_page(request, run):
    """One run: who, what, when, counts, and each key's outcome (the first 1,000)."""
    found = services.get_run(run, request.user)
    return _render(
        request,
        "run.html",
        {
            "run": found,
            "keys": found.key_outcomes.all()[:1000],
            "can_cancel": roles.may(request.user, "cancel", found.schema)
            and found.status in ("queued", "running"),
        },
    )


@require_POST
@pipeline_view(action="view")
def run_cancel(request, run):
    """Cancel a run (operators of its schema; checked by the service). Visitors who are not
    logged in are sent to log in first."""
    if not request.user.is_authenticated:
        return login_redirect(request)
    found = services.cancel_run(run, request.user)
    messages.info(request, f"Run {found.id} cancelled: its running tasks stop after their key.")
    return redirect(reverse("web:run", args=[found.id]))
