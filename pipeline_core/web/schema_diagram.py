"""The schema diagram as the pages show it and as a file (issue #14): the figure's context
(SVG, legend, which other schemas are collapsed and the links flipping them, the download
link) shared by the schema page and the progress page, and ``/schemas/<schema>/diagram.svg``,
the same diagram with its legend as one self-contained SVG file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from pipeline_core import roles, services

from . import diagram, diagram_cache, diagram_legend
from .diagram_state import diagram_state
from .errors import pipeline_view


def figure_context(
    request,
    schema: str,
    *,
    page: str = "web:schema",
    url_for: Callable[[object], str | None] | None = None,
    overlay: Mapping | None = None,
    absolute: bool = False,
) -> dict:
    """What a page's diagram figure shows, for ``_diagram.html``.

    Args:
        page: the URL name of the page drawn on (``web:schema``, ``web:schema_progress``):
            the links collapsing and expanding other schemas lead back to it.
        url_for: TableInfo -> URL of its node, or None; default: its table page where the
            user may view its schema.
        overlay: the progress overlay (:func:`.diagram.schema_dot`); such a diagram is not
            kept by :mod:`.diagram_cache` (its counts change).
        absolute: links with scheme and host (a downloaded file).

    Returns:
        dict with ``svg`` (markup, or None without Graphviz), ``legend`` (markup or None),
        ``state`` (:class:`.diagram_state.DiagramState`), ``page_url``, ``query`` (the
        state's canonical query string), ``download_url`` and ``key`` (names the view for
        the script keeping pan and zoom across refreshes).

    Raises:
        QueryError: bad ``?expand=`` / ``?collapse=`` (see :func:`.diagram_state.diagram_state`).
    """
    graph = services.dependency_graph(schema)
    prefix = services.schema_prefix()
    _, others = diagram.neighbours(graph, schema)
    state = diagram_state(schema, {d: len(t) for d, t in others.items()}, request.GET)
    base = request.build_absolute_uri("/")[:-1] if absolute else ""
    page_url = reverse(page, args=[schema])
    # tables of other schemas are linked only where the user may view them
    linked = {
        d for d in graph.databases if d.startswith(prefix) and roles.may(request.user, "view", d)
    }

    def table_link(info):
        if info.database not in linked:
            return None
        return base + reverse("web:table", args=[info.database, info.table_name])

    def expand_url(database: str) -> str:
        return base + page_url + state.toggled(database)

    if overlay is None:
        svg = diagram_cache.schema_svg(
            graph,
            schema,
            url_for or table_link,
            strip_prefix=prefix,
            version=services.graph_version(graph),
            linked=linked,
            collapsed=state.collapsed,
            expand_url=expand_url,
            links=repr((base, page_url)),
        )
    else:
        svg = diagram.schema_svg(
            graph,
            schema,
            url_for or table_link,
            prefix,
            overlay,
            collapsed=state.collapsed,
            expand_url=expand_url,
        )
    return {
        "svg": svg,
        "legend": diagram_legend.legend_svg(),
        "state": state,
        "page_url": page_url,
        "query": state.query,
        "download_url": reverse("web:schema_diagram", args=[schema]) + state.query,
        "key": f"{page}:{schema}{state.query}",
    }


@require_GET
@pipeline_view(action="view")
def schema_diagram(request, schema):
    """``/schemas/<schema>/diagram.svg``: the schema's diagram with its legend as a
    self-contained SVG file (``image/svg+xml``, an attachment named
    ``<schema>.diagram.svg``), with the page's ``?expand=`` / ``?collapse=`` and absolute
    links to the table pages; 503 when Graphviz is missing."""
    figure = figure_context(request, schema, absolute=True)
    if figure["svg"] is None:
        return HttpResponse(
            "The diagram needs Graphviz (dot), which is not available on the server.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    body = diagram_legend.standalone_svg(figure["svg"], figure["legend"], title=f"Schema {schema}")
    response = HttpResponse(body, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{schema}.diagram.svg")
    return response
