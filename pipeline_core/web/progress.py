"""Live populate progress (issue #13): a schema's diagram with each Computed/Imported table
showing ``done/keys``, its reserved and (in red) error jobs, each linked to its jobs
console, refreshed in place every few seconds (htmx polls the figure, with the page's
``?expand=`` / ``?collapse=``; no inline script; pan and zoom are kept across refreshes);
and the throughput/ETA text the jobs console shows with its counts."""

from __future__ import annotations

from django.urls import reverse
from django.views.decorators.http import require_GET

from pipeline_core import roles, services

from . import diagram, schema_diagram
from .errors import pipeline_view
from .htmx import is_htmx_for, vary_on_htmx_target
from .views import _render, table_url

#: Seconds between two refreshes of the progress figure.
REFRESH_SECONDS = 5


def duration_text(seconds: float | None) -> str:
    """A duration for people: ``45 s``, ``3 min 20 s``, ``2 h 5 min``, ``3 d 4 h``; ``—``
    for None (unknown)."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def rate_context(schema: str, table: str, counts: dict) -> dict:
    """Template context of the counts with their rate: ``counts``, ``rate``
    (:func:`pipeline_core.services.job_rate`), ``rate_text`` ("12.3 keys/min over the last
    5 min") and ``eta_text`` (:func:`duration_text`)."""
    rate = services.job_rate(schema, table, counts)
    per_minute = rate["keys_per_minute"]
    shown = f"{per_minute:.1f}" if per_minute >= 0.1 or not per_minute else f"{per_minute:.2g}"
    return {
        "counts": counts,
        "rate": rate,
        "rate_text": f"{shown} keys/min over the last {duration_text(rate['window_seconds'])}",
        "eta_text": duration_text(rate["eta_seconds"]),
    }


def _figure_context(request, schema: str) -> dict:
    progress = services.schema_progress(schema)
    prefix = services.schema_prefix()

    def url_for(info):
        if info.ref in progress:
            return reverse("web:jobs", args=[info.database, info.table_name])
        if info.database.startswith(prefix) and roles.may(request.user, "view", info.database):
            return table_url(info)
        return None

    figure = schema_diagram.figure_context(
        request,
        schema,
        page="web:schema_progress",
        url_for=url_for,
        overlay={ref: {"counts": entry["counts"]} for ref, entry in progress.items()},
    )
    rows = sorted(progress.values(), key=lambda e: e["info"].class_name)
    return {
        "schema": schema,
        "prefix": prefix,
        "diagram": figure,
        "rows": [{**row, "node_id": diagram.node_id(row["info"])} for row in rows],
        "refresh_seconds": REFRESH_SECONDS,
        "caption": (
            "Each Computed and Imported table shows keys computed / keys of its key_source, "
            "its reserved jobs and, in red, its errors; click it for its jobs. Refreshed "
            f"every {REFRESH_SECONDS} s."
        ),
    }


@require_GET
@pipeline_view(action="view")
@vary_on_htmx_target
def schema_progress(request, schema):
    """``/schemas/<schema>/progress/``: the schema's diagram with the progress of every
    auto-populated table, and the same counts as a table; an htmx request aimed at
    ``#schema-progress`` (the page polls it) gets the figure alone."""
    context = _figure_context(request, schema)
    if is_htmx_for(request, "schema-progress"):
        return _render(request, "progress.html#figure", context)
    return _render(request, "progress.html", context)
