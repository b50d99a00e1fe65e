"""The schema diagram's SVG kept while the schemas it draws are unchanged: building the DOT
text of a diagram takes longer than the rest of the schema page, and Graphviz lays a diagram
out only when its DOT text changes (:func:`.diagram.render_svg`), so an unchanged diagram
is neither built nor laid out again (issue 14). A wrapper around :mod:`.diagram`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection

from django.core.cache import cache

from . import diagram

#: Part of every key: change it when diagrams are drawn differently.
FORMAT = "schema-svg-2"
#: Seconds a diagram is kept (as the laid-out SVG is).
TIMEOUT = 3600


def schema_svg(
    graph,
    schema: str,
    url_for: Callable[[object], str | None],
    *,
    strip_prefix: str,
    version: tuple | None,
    linked: set[str],
    collapsed: Collection[str] = (),
    expand_url: Callable[[str], str | None] | None = None,
    links: str = "",
) -> str | None:
    """:func:`.diagram.schema_svg`, kept in Django's cache under the state of the schemas
    drawn and everything else that changes the SVG.

    Args:
        version: the fingerprints of every database of ``graph``
            (:func:`pipeline_core.services.graph_version`); None: not cached.
        linked: the databases whose tables ``url_for`` links (the user's view), part of
            the key since the links are in the SVG.
        collapsed: the other databases drawn collapsed (:mod:`.diagram_state`).
        expand_url: database -> URL of a collapsed schema's node (see
            :func:`.diagram.schema_dot`).
        links: whatever else ``url_for`` and ``expand_url`` depend on (the page they link
            back to, an absolute URL's scheme and host), part of the key.
    """

    def draw():
        return diagram.schema_svg(
            graph,
            schema,
            url_for,
            strip_prefix=strip_prefix,
            collapsed=collapsed,
            expand_url=expand_url,
        )

    if version is None:
        return draw()
    key = repr((FORMAT, schema, strip_prefix, version, sorted(linked), sorted(collapsed), links))
    key = "labbook:schema-svg:" + hashlib.sha256(key.encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = draw()
        if svg is not None:
            cache.set(key, svg, TIMEOUT)
    return svg
