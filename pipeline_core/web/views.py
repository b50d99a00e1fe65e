"""Views of the web UI: thin, function-based; every use case is in :mod:`pipeline_core.services`.

htmx requests get the page's named partial (``template.html#partial``), other requests the
full page; :func:`.htmx.is_htmx_for` decides which, and every view varies on the headers it
reads (:func:`.errors.pipeline_view` adds ``Vary: HX-Request``). State (page key, watch
time) lives in the URL.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pipeline_core import services
from pipeline_core.datamodel import PopulateError, QueryTimeoutError
from pipeline_core.services import saved_queries

from . import cells, filters, pager, previews, schema_diagram, table_state
from .errors import pipeline_view
from .forms import EntryForms, blockers_of
from .htmx import is_htmx_for, signal_populate_done, vary_on_htmx_target
from .keys import decode_key, encode_key, key_encoder, key_label
from .links import linked, query_url, row_url_prefix, url_for
from .sparkline import CELL_CHART, line_svg
from .table_state import table_description

#: Seconds a page keeps polling after "Populate" while no job is pending or running yet.
WAIT_FOR_WORKER = 120
#: Thumbnail sizes accepted (pixels, largest side).
THUMB_SIZES = (16, 1024)
#: Part of every thumbnail ETag: change it when thumbnails are drawn differently.
THUMB_FORMAT = "png-1"


def table_url(info) -> str:
    """URL of a table's page."""
    return url_for("web:table", info.database, info.table_name)


def _render(request, template: str, context: dict, status: int = 200):
    """Render with every TableInfo of the context linked to its pages (see :mod:`.links`)."""
    return render(request, template, linked(context), status=status)


@require_GET
@pipeline_view(action="view")
def home(request):
    """The schemas the user may view, with their table counts per tier, and the saved
    queries they may see."""
    return _render(
        request,
        "home.html",
        {
            "schemas": services.list_schemas(request.user),
            "prefix": services.schema_prefix(),
            "saved_queries": saved_queries.saved_queries(request.user),
        },
    )


@require_GET
@pipeline_view(action="view")
def schema(request, schema):
    """A schema: tables by tier (parts under masters) and its diagram (pan and zoom, other
    schemas collapsed or expanded by ``?expand=`` / ``?collapse=``, see :mod:`.schema_diagram`)."""
    groups = services.schema_tables(schema)
    prefix = services.schema_prefix()
    figure = schema_diagram.figure_context(request, schema)
    context = {"schema": schema, "groups": groups, "prefix": prefix, "diagram": figure}
    return _render(request, "schema.html", context)


def _value_urls(schema, table, info) -> dict[str, dict[str, str]]:
    """Attribute -> the URLs (without ``?key=``) its cells may link to: ``thumb_url`` for
    blobs and ``<npy@>`` arrays (images and line charts), ``load_url`` for blobs (stored
    ones, and in-table ones too large for the page to decode), ``download_url`` for
    attachments and stored files."""
    urls: dict[str, dict[str, str]] = {}
    for attr in info.heading:
        args = [schema, table, attr.name]
        found = {}
        if attr.is_blob or attr.codec in ("blob", "npy"):
            found["thumb_url"] = url_for("web:thumbnail", *args)
        if attr.is_blob or attr.codec == "blob" or (attr.codec == "hash" and attr.store):
            found["load_url"] = url_for("web:value", *args)
        if services.is_downloadable(attr):
            found["download_url"] = url_for("web:download", *args)
        if found:
            urls[attr.name] = found
    return urls


def row_cells(info, rows: list[dict]) -> list[str]:
    """Rows as table pages show them: one escaped ``"<tr>...</tr>"`` string per row, each
    column's formatter chosen once (:mod:`.cells`), primary-key cells linked to the row's
    page (``web:row``, one key token per row)."""
    schema, table = info.database, info.table_name
    urls = _value_urls(schema, table, info)
    columns = [
        (name, cells.column_formatter(info.heading[name].codec, urls.get(name, {})))
        for name in info.heading.names
    ]
    primary_key = info.heading.primary_key
    columns = cells.link_keys(columns, primary_key, row_url_prefix(schema, table))
    row_token = key_encoder(primary_key)
    shown = []
    for row in rows:
        key = row_token(row)
        shown.append("<tr>" + "".join([show(row[name], key) for name, show in columns]) + "</tr>")
    return shown


def _rows_context(request, schema, table, info, state=None) -> dict:
    """Rows of one page ready for display: the page the URL asks for (restriction, order,
    cursor: :mod:`.table_state`), with its headers, pager and row count (:mod:`.pager`).

    Raises:
        QueryError and its kin (400): a bad ``where``, ``order``, cursor or ``page``.
    """
    base = url_for("web:table", schema, table)  # quoted: lookup names start with '#'
    if state is None:
        state = table_state.read_state(request, info, base)
    found = services.rows_window(
        schema,
        table,
        request.user,
        where=state.where,
        order=state.order,
        after=state.after,
        before=state.before,
        last=state.last,
    )
    rows = found.rows
    names = info.heading.names
    shown = row_cells(info, rows)
    export_query = "?" + urlencode(state.query(), safe=",") if state.query() else ""
    return {
        # the rows of an auto-populated table are fetched again when a populate run ends
        "refresh_url": state.first_url() if info.tier in ("Computed", "Imported") else None,
        "names": names,
        "primary_key": info.heading.primary_key,
        "rows": shown,  # one "<tr>...</tr>" string per row (escaped)
        "rows_html": mark_safe("\n      ".join(shown)),
        "page_size": services.PAGE_SIZE,
        **pager.context(state, info, found, services.PAGE_SIZE),
        # the export menu (outside #rows: swapped out of band with the rows partial)
        "export_query": export_query,
        "export_urls": {
            fmt: url_for("web:export", schema, table, fmt) + export_query
            for fmt in ("csv", "tsv", "jsonl")
        },
        "export_cap": services.export_max_rows(),
        # the query builder started from these rows (outside #rows too: out of band)
        "query_builder_url": query_url(table_description(schema, table, state)),
    }


def _progress_context(request, schema, table, watch=None) -> dict:
    """The populate panel, built from the database only (progress and jobs table)."""
    status = services.populate_status(schema, table)
    for error in status["errors"]:
        error["label"] = key_label(error["key"])
        error["token"] = encode_key(error["key"])
    try:
        watch = int(watch) if watch else None
    except ValueError:
        watch = None
    busy = status["pending"] + status["reserved"] > 0
    waiting = watch is not None and time.time() - watch < WAIT_FOR_WORKER and not status["complete"]
    return {
        "status": status,
        "polling": busy or waiting,
        "watch": watch,
        "stalled": watch is not None and not busy and not waiting and not status["complete"],
        "finished": watch is not None and status["complete"],
        "has_make": services.has_make(schema, table),
        "schema": schema,
        "table": table,
    }


@require_GET
@pipeline_view(action="view")
@vary_on_htmx_target
def table(request, schema, table):
    """A table: heading, rows (100 per page; sorted, filtered and paged as the URL says, see
    :mod:`.table_state`), parts, populate panel; an htmx request aimed at ``#rows`` gets the
    rows partial only. A column filter's form (``filter=<attribute>``) is answered with the
    page of the new restriction: a redirect to its URL, or for htmx its partial with that
    URL pushed (``HX-Push-Url``)."""
    info = services.table_info(schema, table)
    if "filter" in request.GET:
        return _filtered(request, schema, table, info)
    rows = _rows_context(request, schema, table, info)
    if is_htmx_for(request, "rows"):
        swap = _query_changed(request, rows["export_query"])
        return _render(request, "table.html#rows", {"info": info, "rows_swap": swap, **rows})
    context = {
        **services.table_page(schema, table),
        **rows,
        "entry_blockers": blockers_of(info, user=request.user),
    }
    if context["auto"]:
        try:
            context.update(_progress_context(request, schema, table, request.GET.get("watch")))
        except PopulateError as exc:  # e.g. no primary foreign key: nothing to populate from
            context["progress_error"] = str(exc)
    return _render(request, "table.html", context)


def _query_changed(request, export_query: str) -> bool:
    """Whether an htmx request for the rows comes from a page with another ``where`` or
    ``order`` (``HX-Current-URL``), whose export menu must then be swapped too (out of
    band); paging keeps them, and the menu."""
    current = parse_qs(urlsplit(request.headers.get("HX-Current-URL", "")).query)
    asked = parse_qs(export_query.removeprefix("?"))
    return any(current.get(name) != asked.get(name) for name in ("where", "order"))


def _filtered(request, schema, table, info):
    """The answer to a column filter's form: its restriction applied (see
    :func:`.filters.apply_filter`; ``remove=1`` or an empty ``op`` removes the column's
    filter), from the first page."""
    state = table_state.read_state(request, info, url_for("web:table", schema, table))
    get = request.GET
    operator = "" if get.get("remove") else get.get("op", "")
    where = filters.apply_filter(info, state.where, get["filter"], operator, get.get("value", ""))
    state = table_state.TableState(state.base, where, state.order)
    if not is_htmx_for(request, "rows"):
        return redirect(state.first_url())
    rows = _rows_context(request, schema, table, info, state)
    response = _render(request, "table.html#rows", {"info": info, "rows_swap": True, **rows})
    response["HX-Push-Url"] = state.first_url()
    return response


@require_GET
@pipeline_view(action="view")
def row_count(request, schema, table):
    """The exact number of rows of a table restricted by ``where`` (COUNT, under
    ``LABBOOK_QUERY_TIMEOUT``): for htmx the count's partial (the "Count" control is
    swapped for it), else a small page. A count that runs out of time says so."""
    info = services.table_info(schema, table)
    state = table_state.read_state(request, info, url_for("web:table", schema, table))
    try:
        counted = services.count_rows(schema, table, request.user, state.where)
    except QueryTimeoutError:
        counted = None
    context = {
        "info": info,
        "counted": counted,
        "counted_text": None if counted is None else f"{counted:,}",
        "time_limit": settings.LABBOOK_QUERY_TIMEOUT,
        "chips": filters.chips(state),
        "table_url": state.first_url(),
    }
    if is_htmx_for(request):
        return _render(request, "table.html#count", context)
    return _render(request, "count.html", context)


@require_http_methods(["GET", "POST"])
@pipeline_view(action="insert")
def entry(request, schema, table):
    """The entry form of a Manual/Lookup table, with its part tables' rows; one transaction."""
    info = services.table_info(schema, table)
    if info.tier not in ("Manual", "Lookup"):
        return _render(
            request,
            "entry.html",
            {
                "info": info,
                "refused": f"{info.class_name} is {services.tier_phrase(info)}: rows are "
                f"entered only into Manual and Lookup tables.",
            },
            status=409,
        )
    posted = request.method == "POST"
    forms = EntryForms(
        info,
        services.part_tables(schema, table),
        request.POST if posted else None,
        request.FILES if posted else None,
        user=request.user,
    )
    if request.method == "POST" and not forms.blockers and forms.is_valid():
        try:
            key = services.insert_entry(schema, table, forms.form.row(), forms.part_rows())
        except services.EntryError as exc:
            forms.add_problems(exc.problems)
        else:
            count = sum(len(rows) for rows in forms.part_rows().values())
            parts = f" with {count} part row{'s' if count != 1 else ''}" if count else ""
            messages.success(request, f"Inserted {info.class_name} {key_label(key)}{parts}.")
            return redirect(table_url(info))
    return _render(request, "entry.html", {"info": info, "forms": forms})


@require_GET
@pipeline_view(action="view")
def thumbnail(request, schema, table, attribute):
    """A PNG thumbnail of a 2-D (or RGB) array value, or an SVG line chart of a 1-D one
    (:func:`.previews.is_chart`; ``size`` is its width), with caching headers (a stored blob
    or ``<npy@>`` array is read from its store)."""
    key = decode_key(request.GET.get("key", ""))
    try:
        size = min(max(int(request.GET.get("size", "192")), THUMB_SIZES[0]), THUMB_SIZES[1])
    except ValueError:
        size = 192
    # the ETag comes from the stored value's MD5 (computed by the server), so a cached
    # thumbnail costs neither reading the value nor rendering it
    fingerprint = services.value_fingerprint(schema, table, key, attribute)
    etag = (
        '"' + hashlib.sha256(f"{fingerprint}:{size}:{THUMB_FORMAT}".encode()).hexdigest()[:32] + '"'
    )
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        value = services.load_value(schema, table, key, attribute)
        if previews.is_chart(value):
            height = max(THUMB_SIZES[0] // 2, round(size * CELL_CHART[1] / CELL_CHART[0]))
            chart = line_svg(value, (size, height), label=previews.summary(value))
            response = HttpResponse(chart, content_type="image/svg+xml")
        else:
            try:
                png = previews.thumbnail_png(value, size)
            except ValueError as exc:
                return HttpResponse(f"{attribute}: {exc}", status=415, content_type="text/plain")
            response = HttpResponse(png, content_type="image/png")
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@pipeline_view(action="view")
def stored_value(request, schema, table, attribute):
    """The cell of a stored value fully read from its store (the "load" control of a
    stored blob): summary and, for image-like arrays, the thumbnail. htmx swaps it into
    the cell; a plain request gets it as a page of its own."""
    token = request.GET.get("key", "")
    key = decode_key(token)
    value = services.load_value(schema, table, key, attribute)
    thumb = reverse("web:thumbnail", args=[schema, table, attribute]) + f"?key={token}"
    cell = cells.cell_html(previews.cell(value, thumb))
    if is_htmx_for(request):
        return _render(request, "table.html#cell", {"cell": cell})
    context = {
        "cell": cell,
        "attribute": attribute,
        "info": services.table_info(schema, table),
        "key": key_label(key),
    }
    return _render(request, "value.html", context)


@require_GET
@pipeline_view(action="view")
def download(request, schema, table, attribute):
    """An attachment or stored file as a download (``?key=<token>``, and ``&path=`` for a
    file inside an ``<object@>`` folder), streamed with its name and length."""
    key = decode_key(request.GET.get("key", ""))
    file = services.open_download(schema, table, key, attribute, request.GET.get("path") or None)
    response = FileResponse(file.stream, as_attachment=True, filename=file.name)
    if file.size is not None and not response.has_header("Content-Length"):
        response["Content-Length"] = str(file.size)
    response["Cache-Control"] = "private, no-store"
    return response


def _progress_partial(request, schema, table, watch=None):
    """The populate panel as an htmx partial; when it sees a watched run finished, the
    response also signals :data:`.htmx.POPULATE_DONE` (``HX-Trigger``), on which the rows
    are fetched again."""
    context = _progress_context(request, schema, table, watch)
    response = _render(request, "table.html#progress", context)
    if context["finished"]:
        signal_populate_done(response, services.table_info(schema, table).full_name)
    return response


@require_POST
@pipeline_view(action="populate")
def populate(request, schema, table):
    """Start a populate run of the whole table as this user (operators), then watch the
    progress panel (the run is in the history, ``web:runs``)."""
    services.start_run(schema, table, request.user)
    watch = int(time.time())
    if is_htmx_for(request):
        return _progress_partial(request, schema, table, watch)
    messages.info(request, "Populate queued: the page follows its progress.")
    return redirect(reverse("web:table", args=[schema, table]) + f"?watch={watch}#populate")


@require_GET
@pipeline_view(action="view")
def progress(request, schema, table):
    """The populate panel alone (polled by htmx every 2 s while work is under way)."""
    watch = request.GET.get("watch")
    services.table_info(schema, table)  # 404 for a bad name, not a redirect to one
    if not is_htmx_for(request):
        url = reverse("web:table", args=[schema, table])
        return redirect(url + (f"?watch={watch}" if watch else "") + "#populate")
    return _progress_partial(request, schema, table, watch)


@require_POST
@pipeline_view(action="clear_errors")
def clear_errors(request, schema, table):
    """Delete the table's error jobs (operators) so that the next populate retries them."""
    count = services.clear_errors(schema, table)
    if is_htmx_for(request):
        return _progress_partial(request, schema, table)
    messages.success(
        request,
        f"Cleared {count} error job{'s' if count != 1 else ''}; populate again to retry them.",
    )
    return redirect(reverse("web:table", args=[schema, table]) + "#populate")


@require_GET
@pipeline_view(action="view")
def traceback(request, schema, table):
    """The traceback recorded for one failed job."""
    info = services.table_info(schema, table)
    key = decode_key(request.GET.get("key", ""))
    text = services.error_traceback(schema, table, key)
    return _render(
        request,
        "traceback.html",
        {"info": info, "key": key_label(key), "traceback": text},
        status=200 if text is not None else 404,
    )
