"""The jobs console of a Computed/Imported table (issue #13): counts per status and "not
yet queued" with a progress bar (refreshed every few seconds), the jobs in keyset pages
filtered by status, host and error text (all in the URL: deep links), and the operator's
actions (retry selected / all errors / errors matching a text, ignore, unignore,
reprioritise, reset stale reservations), each first answered with its dry-run count and a
confirmation form, then done; htmx swaps the parts, and every page works without it. The
counts also show the throughput (keys computed in the last 5 minutes) and the ETA."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from pipeline_core import services
from pipeline_core.datamodel import QueryError
from pipeline_core.datamodel.jobs import JOB_STATUSES

from .errors import pipeline_view
from .htmx import is_htmx_for, vary_on_htmx_target
from .keys import decode_key, encode_key, key_label
from .progress import rate_context
from .views import _render

#: Actions of the console: (form value, label, role action of the service).
ACTIONS = {
    "retry": "Retry",
    "ignore": "Ignore",
    "unignore": "Unignore",
    "priority": "Set priority",
}
#: How an action names its jobs.
SCOPES = ("selected", "all_errors", "matching")
#: The action resetting stale reservations (its own button: it takes no scope).
RECOVER = "recover"
#: Event sent (``HX-Trigger``) after an action changed jobs: the counts refresh at once.
JOBS_CHANGED = "jobs-changed"


def _filters(request) -> dict:
    """The list's filters from the query string (only those given)."""
    found = {}
    status = request.GET.get("status", "")
    if status in JOB_STATUSES:
        found["status"] = status
    for name in ("host", "error"):
        value = request.GET.get(name, "").strip()
        if value:
            found[name] = value[:200]
    return found


def _context(request, schema: str, table: str, filters: dict, after: str | None) -> dict:
    info = services.table_info(schema, table)
    page = services.list_jobs(schema, table, after=decode_key(after) if after else None, **filters)
    base = reverse("web:jobs", args=[schema, table])
    jobs = []
    for job in page["jobs"]:
        token = encode_key(job["key"])
        jobs.append({**job, "label": key_label(job["key"]), "token": token})
    next_url = (
        base + "?" + urlencode({**filters, "after": encode_key(page["next"])})
        if page["next"]
        else None
    )
    return {
        **rate_context(schema, table, page["counts"]),
        "info": info,
        "schema": schema,
        "table": table,
        "jobs": jobs,
        "filters": filters,
        "statuses": JOB_STATUSES,
        "base_url": base,
        "this_url": base + ("?" + urlencode(filters) if filters else ""),
        "first_url": base + ("?" + urlencode(filters) if filters else "") if after else None,
        "next_url": next_url,
        "actions": ACTIONS,
    }


@require_GET
@pipeline_view(action="view")
@vary_on_htmx_target
def jobs(request, schema, table):
    """The jobs page (``?status=&host=&error=&after=``); an htmx request aimed at
    ``#job-counts`` gets the counts alone (polled), one aimed at ``#jobs-panel`` the list."""
    filters = _filters(request)
    after = request.GET.get("after") or None
    if is_htmx_for(request, "job-counts"):
        counts = services.job_counts(schema, table)
        context = {**rate_context(schema, table, counts), "schema": schema, "table": table}
        return _render(request, "jobs.html#counts", context)
    context = _context(request, schema, table, filters, after)
    if is_htmx_for(request, "jobs-panel"):
        return _render(request, "jobs.html#panel", context)
    return _render(request, "jobs.html", context)


def _posted(request) -> dict:
    """The action form: ``action``, ``scope``, ``keys`` (tokens), ``error_text``,
    ``priority``, ``confirm``.

    Raises:
        QueryError: an unknown action or scope, no keys for ``selected``, no text for
            ``matching``, a priority that is not an integer.
    """
    data = request.POST
    action = data.get("action", "")
    scope = data.get("scope", "selected")
    if action == RECOVER:  # every stale reservation of the table: no scope, no keys
        blank = {"tokens": [], "keys": [], "error_text": "", "priority": None}
        return {"action": action, "scope": "stale", **blank, "confirm": data.get("confirm") == "1"}
    if action not in ACTIONS:
        raise QueryError(f"unknown action {action!r}")
    if scope not in SCOPES or (scope != "selected" and action not in ("retry", "priority")):
        raise QueryError(f"{ACTIONS[action]}: unknown scope {scope!r}")
    tokens = data.getlist("key")
    text = data.get("error_text", "").strip()
    if scope == "selected" and not tokens:
        raise QueryError("select the jobs first")
    if scope == "matching" and not text:
        raise QueryError("give the error text to match")
    priority = None
    if action == "priority":
        try:
            priority = int(data.get("priority", ""))
        except ValueError:
            raise QueryError("the priority is an integer (lower runs sooner)") from None
    return {
        "action": action,
        "scope": scope,
        "tokens": tokens,
        "keys": [decode_key(t) for t in tokens],
        "error_text": text,
        "priority": priority,
        "confirm": data.get("confirm") == "1",
    }


def _run(schema: str, table: str, user, form: dict, dry_run: bool) -> int:
    """The service call of one posted action; returns the count (for ``recover``, also
    kept in ``form["lost"]``: how many become ``error`` "worker lost")."""
    keys = form["keys"] if form["scope"] == "selected" else None
    if form["action"] == RECOVER:
        found = services.reset_stale_jobs(schema, table, user, dry_run=dry_run)
        form["lost"] = found["error"]
        return found["count"]
    if form["action"] == "retry":
        return services.retry_jobs(
            schema,
            table,
            user,
            keys=keys,
            all_errors=form["scope"] == "all_errors",
            error_contains=form["error_text"] if form["scope"] == "matching" else None,
            dry_run=dry_run,
        )
    if form["action"] in ("ignore", "unignore"):
        return services.ignore_jobs(
            schema, table, user, keys=keys, unignore=form["action"] == "unignore", dry_run=dry_run
        )
    if form["scope"] == "matching":
        raise QueryError("Set priority: select jobs, or all")
    return services.reprioritize_jobs(
        schema, table, user, priority=form["priority"], keys=keys, dry_run=dry_run
    )


def _describe(form: dict, count: int) -> str:
    jobs = f"{count} job{'s' if count != 1 else ''}"
    action = form["action"]
    if action == RECOVER:
        lost = form.get("lost") or 0
        more = (
            f' ({lost} of them returned too often before: they become error "worker lost")'
            if lost
            else ""
        )
        return (
            f"Reset {count} stale reservation{'s' if count != 1 else ''}: reserved jobs whose "
            f"worker is gone go back to pending{more}."
        )
    if action == "retry":
        return f"Retry {jobs}: back to pending, computed by the next populate."
    if action == "ignore":
        return f"Ignore {jobs}: populate skips them until they are unignored."
    if action == "unignore":
        return f"Unignore {jobs}: the next populate queues them again."
    return f"Set the priority of {jobs} to {form['priority']} (lower runs sooner)."


@require_POST
@pipeline_view(action="retry")
def jobs_action(request, schema, table):
    """An action on jobs (operators). Without ``confirm=1``: the dry-run count and a
    confirmation form (htmx: into ``#jobs-confirm``); with it: done, then the refreshed
    list with what was done (htmx: ``#jobs-panel``; else the whole page)."""
    filters = {k: v for k, v in _filters_from_post(request).items() if v}
    try:
        form = _posted(request)
    except QueryError as exc:
        context = _context(request, schema, table, filters, None)
        context["problem"] = str(exc)
        if is_htmx_for(request):  # into #jobs-confirm (htmx sends 4xx to the error region)
            return _render(request, "jobs.html#confirm", context)
        return _render(request, "jobs.html", context, status=400)
    if not form["confirm"]:
        count = _run(schema, table, request.user, form, dry_run=True)
        context = {
            **_context(request, schema, table, filters, None),
            "form": form,
            "count": count,
            "question": _describe(form, count),
        }
        return _render(
            request, "jobs.html#confirm" if is_htmx_for(request) else "jobs.html", context
        )
    count = _run(schema, table, request.user, form, dry_run=False)
    context = _context(request, schema, table, filters, None)
    context["done"] = _describe(form, count).replace(":", " done:", 1)
    response = _render(request, "jobs.html#panel" if is_htmx_for(request) else "jobs.html", context)
    return trigger_client_event(response, JOBS_CHANGED) if count else response


def _filters_from_post(request) -> dict:
    """The list's filters carried by an action form (hidden fields), as in the URL."""
    found = {}
    status = request.POST.get("f_status", "")
    if status in JOB_STATUSES:
        found["status"] = status
    for name in ("host", "error"):
        value = request.POST.get(f"f_{name}", "").strip()
        if value:
            found[name] = value[:200]
    return found
