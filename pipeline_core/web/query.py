"""The query builder (``/query/``): one page whose whole state is the JSON query description
in its URL (``?q=<token>``, :mod:`pipeline_core.querystate`), so every result is a link.

The server runs the description (:func:`pipeline_core.services.run_query`) and renders the
first page of rows (keyset "next" links carry the description's ``after``), the errors with
the path of the part that caused them, the query as Python ("Copy as Python") and the
export links; the page works without JavaScript. ``static/labbook/query_builder.js`` edits
the description and navigates to its new URL, asking :func:`query_context` for headings and
the tables it may offer. Saved queries are kept, listed, renamed, shared and deleted here
(:mod:`pipeline_core.services.saved_queries`).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import query_json
from pipeline_core.datamodel.errors import QueryDescriptionError
from pipeline_core.datamodel.query_json.python_code import python_code
from pipeline_core.querystate import decode_description, encode_description
from pipeline_core.services import connection, run_query
from pipeline_core.services import query_builder as builder
from pipeline_core.services import saved_queries as saved
from pipeline_core.services.query import viewable_resolver

from .errors import pipeline_view
from .htmx import login_redirect
from .links import query_url
from .views import _render

#: Keys of a description that only say which page of rows is shown.
PAGING = ("after",)


def _error(path: str, message: str, kind: str = "description") -> dict:
    return {"path": path, "message": message, "kind": kind}


def _decoded(token: str | None) -> tuple[Any, list[dict]]:
    """``(description or None, errors)`` of a ``q`` parameter."""
    if not token:
        return None, []
    try:
        return decode_description(token), []
    except dm.QueryError as exc:
        return None, [_error("", str(exc), "token")]


def _cell(value: Any) -> tuple[str, str]:
    """``(text, css class)`` of a JSON value of :func:`~pipeline_core.services.json_value`."""
    if value is None:
        return "NULL", "null"
    if isinstance(value, bool):
        return ("true" if value else "false"), ""
    if isinstance(value, dict) and "kind" in value:
        details = [str(value[k]) for k in ("dtype", "type", "name", "store") if value.get(k)]
        if value.get("shape") is not None:
            details.append("(" + ", ".join(map(str, value["shape"])) + ")")
        if value.get("size") is not None:
            details.append(f"{value['size']} bytes")
        return f"<{value['kind']} {' '.join(details)}>".replace(" >", ">"), "summary"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False), "mono"
    return str(value), ""


def _results(result: dict, description: dict) -> dict:
    """What the page shows of one page of rows: heading, cells, paging links."""
    key = set(result["primary_key"])
    names = [h["name"] for h in result["heading"]]
    rows = [[_cell(row[n]) for n in names] for row in result["rows"]]
    first = {k: v for k, v in description.items() if k not in PAGING}
    cursor = result["cursor"]
    return {
        "heading": [{**h, "key": h["name"] in key} for h in result["heading"]],
        "rows": rows,
        "next_url": query_url({**first, "after": cursor}) if cursor else None,
        "first_url": query_url(first) if description.get("after") else None,
        "limit": description.get("limit") or 100,
    }


def _exports(description: dict) -> list[tuple[str, str]]:
    """``(label, URL)`` of the API's export of every row of the description."""
    token = encode_description({k: v for k, v in description.items() if k not in PAGING})
    return [
        (label, reverse("api:query_export", args=[fmt]) + f"?q={token}")
        for fmt, label in (("csv", "CSV"), ("tsv", "TSV"), ("jsonl", "JSON Lines"))
    ]


def _run(description: Any, user) -> tuple[dict | None, dict | None, list[dict]]:
    """``(canonical description, run_query's result, errors)``; errors carry the path of
    the part at fault (``""``: the whole query) and their kind (``description``,
    ``timeout``, ``refused``)."""
    try:
        canonical = query_json.validate(
            description, connection(), resolve=viewable_resolver(user, placed=True)
        )
    except QueryDescriptionError as exc:
        return None, None, [_error(exc.path, exc.reason)]
    try:
        return canonical, run_query(description, user, placed=True), []
    except QueryDescriptionError as exc:  # e.g. a cursor that does not fit
        return canonical, None, [_error(exc.path, exc.reason)]
    except dm.QueryTimeoutError:
        limit = settings.LABBOOK_QUERY_TIMEOUT
        message = (
            f"The query ran longer than the time limit ({limit:g} s) and was stopped. Restrict "
            "it further (or export it: exports have no time limit)."
        )
        return canonical, None, [_error("", message, "timeout")]
    except dm.DataJointError as exc:
        return canonical, None, [_error("", f"The database refused the query: {exc}", "refused")]


def _status(errors: list[dict]) -> int:
    if not errors:
        return 200
    return 504 if errors[0]["kind"] == "timeout" else 400


@require_GET
@pipeline_view(action="view")
def query_page(request):
    """``/query/?q=<description token>[&saved=<id>]``: the builder, the description's rows
    (first page; "next" links), its errors beside their parts, Copy as Python, exports and
    the saved queries; 400 for an invalid description, 504 for one past the time limit (the
    page is shown either way)."""
    description, errors = _decoded(request.GET.get("q"))
    canonical = result = None
    if description is not None:
        canonical, result, errors = _run(description, request.user)
    return _page(request, description, canonical, result, errors)


def _page(request, description, canonical, result, errors, status: int | None = None):
    user = request.user
    current = None
    if request.GET.get("saved"):
        try:
            current = saved.saved_query(user, request.GET["saved"])
        except dm.DataJointError:
            current = None
    context = {
        "description": description,
        "description_text": json.dumps(description, indent=2, ensure_ascii=False)
        if description is not None
        else "",
        "token": request.GET.get("q") or request.POST.get("q") or "",
        "errors": errors,
        "results": _results(result, description) if result is not None else None,
        "python": {f: python_code(canonical, f) for f in ("datamodel", "datajoint")}
        if canonical
        else None,
        "exports": _exports(canonical) if canonical else [],
        "saved_queries": saved.saved_queries(user),
        "current": current,
        "owner": current is not None and current.owner_id == user.pk,
        "builder": {
            "description": description if isinstance(description, dict) else None,
            "errors": errors,
            "tables": builder.viewable_tables(user),
            "context": builder.builder_context(description, user),
            "urls": {"page": reverse("web:query"), "context": reverse("web:query_context")},
        },
    }
    return _render(request, "query.html", context, status=status or _status(errors))


@require_GET
@pipeline_view(action="view")
def query_context(request):
    """``/query/context/?q=<token>``: JSON for the builder (:func:`services.query_builder.
    builder_context`): the headings of each stage, the tables it may offer, and the
    description's first error with its path. A bad token is 400 ``{"error"}``."""
    description, errors = _decoded(request.GET.get("q"))
    if errors:
        return JsonResponse({"error": errors[0]}, status=400)
    return JsonResponse(builder.builder_context(description, request.user))


@require_POST
@pipeline_view(action="view")
def query_save(request):
    """Save the description of ``q`` as a new query named ``name`` (``shared``: for the
    lab); then the page of the saved query. Logged-in users only; an invalid name or
    description shows the page again with the error (400)."""
    if not request.user.is_authenticated:
        return login_redirect(request)
    description, errors = _decoded(request.POST.get("q"))
    if description is None:
        errors = errors or [_error("", "nothing to save: the query is empty")]
        return _page(request, None, None, None, errors)
    try:
        row = saved.save_query(
            request.user, request.POST.get("name"), description, bool(request.POST.get("shared"))
        )
    except QueryDescriptionError as exc:
        return _page(request, description, None, None, [_error(exc.path, exc.reason)])
    except dm.QueryError as exc:
        return _page(request, description, None, None, [_error("", str(exc), "save")])
    messages.success(request, f"Saved the query “{row.name}”.")
    return redirect(query_url(row.description, saved=row.pk))


@require_http_methods(["GET", "POST"])
@pipeline_view(action="view")
def saved_query(request, pk):
    """A saved query. GET: its page (the query page with its description). POST (its
    owner): ``action`` = ``rename`` (``name``), ``replace`` (with ``q``), ``share``,
    ``unshare`` or ``delete``; others get 403, and a query they may not see 404."""
    if not request.user.is_authenticated:
        return login_redirect(request)
    if request.method == "GET":
        row = saved.saved_query(request.user, pk)
        return redirect(query_url(row.description, saved=row.pk))
    action = request.POST.get("action")
    user = request.user
    try:
        if action == "rename":
            row = saved.rename_query(user, pk, request.POST.get("name"))
            messages.success(request, f"Renamed to “{row.name}”.")
        elif action == "replace":
            description, _ = _decoded(request.POST.get("q"))
            if description is None:
                raise dm.QueryError("nothing to keep: the query is empty")
            row = saved.replace_query(user, pk, description)
            messages.success(request, f"Kept this query as “{row.name}”.")
        elif action in ("share", "unshare"):
            row = saved.share_query(user, pk, action == "share")
            messages.success(
                request,
                f"“{row.name}” is {'shared with the lab' if row.shared else 'private'} now.",
            )
        elif action == "delete":
            name = saved.delete_query(user, pk)
            messages.success(request, f"Deleted the saved query “{name}”.")
            return redirect(reverse("web:query"))
        else:
            raise dm.QueryError(f"unknown action {str(action)[:40]!r}")
    except QueryDescriptionError as exc:
        description, _ = _decoded(request.POST.get("q"))
        return _page(request, description, None, None, [_error(exc.path, exc.reason)])
    except dm.QueryError as exc:
        row = saved.saved_query(user, pk)
        messages.error(request, str(exc))
        return redirect(query_url(row.description, saved=row.pk))
    return redirect(query_url(row.description, saved=row.pk))
