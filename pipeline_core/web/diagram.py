"""The schema diagram: a :class:`~pipeline_core.datamodel.DependencyGraph` around one schema
drawn as DOT and laid out by Graphviz (``dot -Tsvg``) into an SVG whose nodes link to the
table pages.

Conventions of DataJoint 2.3 (``src/datajoint/diagram.py`` and ``dependencies.py`` of
datajoint-python after the restyle of issues #1532 and #1543, light theme):

* nodes by tier: Manual green rounded box, Lookup grey rounded box, Imported blue ellipse,
  Computed red ellipse, Part a small neutral rounded box grouped with its master on a
  shaded background, a table of no tier a yellow circle; 12 pt Helvetica, parts 10 pt; a
  table whose primary key adds attributes to those its primary foreign keys bring (a new
  "dimension") has its name underlined;
* one edge per foreign key, parent to child, no arrowhead: **solid** when the foreign key's
  attributes are all in the child's primary key, **dashed** when they are secondary;
  **thick** (2 pt) when they are the child's whole primary key (one-to-one), **thin**
  (0.75 pt) when the child has more key attributes (one-to-many); a foreign key that
  renames attributes (``.proj(new="old")``) is drawn in **bronze**, its renames in the
  tooltip (DataJoint 2.3.2 replaced the orange "alias node" of older versions by this
  colour);
* a collapsed schema is one grey ``box3d`` node (``Diagram.collapse()``).

Parents and children in other schemas are drawn too, in a dashed frame per schema, with
white fill and dashed outlines, or each schema collapsed to one node (``collapsed``) whose
link expands it. :mod:`.diagram_legend` draws the legend with the same node and edge styles.

With a progress ``overlay`` (the schema's progress page, issue #13), each Computed/Imported
table of the schema also shows ``done/keys``, its reserved jobs and, in red with a red
outline, its error jobs.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import subprocess
from collections.abc import Callable, Collection, Mapping

from django.core.cache import cache

DOT = "/usr/bin/dot"

#: tier -> (fill, stroke, text) from DataJoint's light theme ("collapsed": a collapsed schema).
PALETTE = {
    "Manual": ("#E8F0E9", "#3E7A52", "#28513A"),
    "Lookup": ("#F0F0F1", "#808285", "#5A5C5F"),
    "Computed": ("#FFEDE5", "#FF5113", "#B23200"),
    "Imported": ("#E0F4FC", "#00A0DF", "#00537A"),
    "Part": ("#FFFFFF", "#B9BBBE", "#55585C"),
    None: ("#FFFDE7", "#C9BC5B", "#6B6420"),
    "collapsed": ("#EDEEF0", "#808890", "#404040"),
}
#: tier -> (shape, font size in pt, least width and height in inches), DataJoint's.
SHAPES = {
    "Manual": ("box", 12, 0.48),
    "Lookup": ("box", 12, 0.48),
    "Computed": ("ellipse", 12, 0.48),
    "Imported": ("ellipse", 12, 0.48),
    "Part": ("box", 10, 0.12),
    None: ("circle", 10, 0.48),
    "collapsed": ("box3d", 12, 0.6),
}
#: The tiers in the order legends list them.
TIERS = ("Manual", "Lookup", "Imported", "Computed", "Part")
EDGE, EDGE_RENAMED, EDGE_ALPHA = "#171C39", "#C77D3A", "9E"
#: Outline and text of the dashed frame around another schema's tables.
SCHEMA_FRAME = ("#9AA1AC", "#5F6B7A")
ENTITY_FILL = "#F3F5F8"
#: Outline and text of a table with error jobs (progress overlay).
ERROR_COLOR = "#C62828"


def dot_string(text) -> str:
    """``text`` (any value, as ``str``) as a DOT double-quoted string: ``"a \\"b\\""``."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_attrs(**attrs) -> str:
    """A DOT attribute list, ``[name="value", ...]``, of the attributes that are not None."""
    return "[" + ", ".join(f"{k}={dot_string(v)}" for k, v in attrs.items() if v is not None) + "]"


def _url(url: str | None) -> str | None:
    """A URL for a DOT ``URL`` attribute: Graphviz 2.43 copies it into the SVG's
    ``xlink:href`` without escaping ``&`` (newer versions leave an entity as it is)."""
    return None if url is None else url.replace("&", "&amp;")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _progress(label: str, dimension: bool, counts: dict | None) -> tuple[str, str]:
    """``(HTML-like DOT label, tooltip text)`` of a table with its progress: its name, then
    ``done/keys``, reserved jobs, and error jobs in red (``counts`` as
    :func:`pipeline_core.services.job_counts` gives them; None: they could not be read)."""
    name = html.escape(label)
    name = f"<u>{name}</u>" if dimension else name
    if counts is None:
        return f'<{name}<br/><font point-size="9">counts unavailable</font>>', "counts unavailable"
    line = f"{counts['done']}/{counts['keys']}"
    if counts["reserved"]:
        line += f" · {counts['reserved']} reserved"
    if counts["error"]:  # a line of its own: Graphviz misjudges mixed runs' widths
        errors = _plural(counts["error"], "error")
        line += f'<br/><font color="{ERROR_COLOR}">{errors}</font>'
    tooltip = (
        f"{counts['done']} of {counts['keys']} keys computed; {counts['pending']} pending, "
        f"{counts['reserved']} reserved, {_plural(counts['error'], 'error')}, "
        f"{counts['ignore']} ignored, {counts['not_queued']} not yet queued. Click: its jobs"
    )
    return f'<{name}<br/><font point-size="9">{line}</font>>', tooltip


def tier_style(tier: str | None, external: bool = False) -> dict:
    """DOT node attributes of a tier (a key of :data:`SHAPES`; an unknown tier is drawn as
    None): shape, font size and colour, least size, outline, fill and style. ``external``:
    a table of another schema (white fill, dashed outline)."""
    tier = tier if tier in SHAPES else None
    fill, stroke, fontcolor = PALETTE[tier]
    shape, fontsize, size = SHAPES[tier]
    style = "rounded," if shape == "box" else ""
    return {
        "shape": shape,
        "fontsize": fontsize,
        "width": size,
        "height": size,
        "fontcolor": fontcolor,
        "color": stroke,
        "fillcolor": "#FFFFFF" if external else fill,
        "style": style + ("dashed,filled" if external else "filled"),
    }


def _node(
    ref, info, external: bool, url: str | None, label: str, progress: dict | None = None
) -> str:
    """One DOT node statement. ``progress``: ``{"counts": ...}`` of the overlay, or None
    (no progress shown)."""
    tier = info.tier
    style = tier_style(tier, external)
    dimension = adds_dimension(info)
    tooltip = f"{info.class_name} ({tier or 'no tier'})" + (
        f": {info.comment}" if info.comment else ""
    )
    tooltip += "\nkey: " + ", ".join(info.heading.primary_key)
    classes = penwidth = None
    if progress is not None:
        counts = progress["counts"]
        label_text, more = _progress(label, dimension, counts)
        tooltip += "\n" + more
        classes = "dag-progress" + (" dag-error" if counts and counts["error"] else "")
        if counts and counts["error"]:
            style["color"], penwidth = ERROR_COLOR, 2.5
    else:
        label_text = f"<<u>{html.escape(label)}</u>>" if dimension else dot_string(label)
    attrs = dot_attrs(
        **style,
        tooltip=tooltip,
        URL=_url(url),
        target="_top" if url else None,
        id=node_id(info),
        penwidth=penwidth,
        **{"class": classes},
    )
    return f"{dot_string(ref)} {attrs[:-1]}, label={label_text}]"


def adds_dimension(info) -> bool:
    """Whether a table's primary key has attributes beyond those of its primary foreign
    keys (DataJoint's ``introduces_dimension``: its name is underlined)."""
    inherited = {c for fk in info.foreign_keys if fk.primary for c in fk.columns}
    return bool(set(info.heading.primary_key) - inherited)


def edge_style(primary: bool, multi: bool, aliased: bool) -> dict:
    """DOT attributes of a foreign key's edge by DataJoint's rules (module docstring):
    ``primary`` (its attributes are in the child's primary key), ``multi`` (they are not
    the child's whole primary key), ``aliased`` (it renames attributes)."""
    return {
        "style": "solid" if primary else "dashed",
        "penwidth": 0.75 if multi else 2,
        "weight": 1 if multi else 3,
        "color": (EDGE_RENAMED if aliased else EDGE) + EDGE_ALPHA,
    }


#: DOT attributes of an edge standing for several foreign keys to or from a collapsed
#: schema: as DataJoint draws a "bundle", none of one foreign key's properties.
BUNDLE_STYLE = {"style": "solid", "penwidth": 2, "weight": 3, "color": EDGE + EDGE_ALPHA}


def node_id(info) -> str:
    """The SVG id of a table's node: ``dag-<database>-<table>``, other characters as ``-``
    and then (names a legacy database may hold: ``a.b``, ``a`b``) a hash of the names, so
    that ids stay unique."""
    name = info.database + "-" + info.table_name
    plain = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    if plain == name or not re.search(r"[^A-Za-z0-9_#~-]", name):
        return "dag-" + plain
    return f"dag-{plain}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def schema_node_id(database: str) -> str:
    """The SVG id of a collapsed schema's node: ``dag-schema-<database>``."""
    return "dag-schema-" + re.sub(r"[^A-Za-z0-9_-]", "-", database)


def neighbours(graph, schema: str) -> tuple[list, dict[str, list]]:
    """``(tables of schema, {other database: its tables that are parents or children of
    them})``, TableRefs sorted by name, databases sorted: what :func:`schema_dot` draws."""
    own = sorted(graph.nodes_of(schema))
    others = sorted({m for n in own for m in graph.parents(n) + graph.children(n)} - set(own))
    by_database: dict[str, list] = {}
    for ref in others:
        by_database.setdefault(ref.database, []).append(ref)
    return own, dict(sorted(by_database.items()))


def _plural_tables(n: int) -> str:
    return f"({_plural(n, 'table')})"


def _collapsed_node(database: str, tables: list, label: str, url: str | None) -> str:
    """The DOT node of a collapsed schema: its name and its table count."""
    text = f'<{html.escape(label)}<br/><font point-size="10">{_plural_tables(len(tables))}'
    text += "</font>>"
    tooltip = f"Schema {database}: {_plural(len(tables), 'table')} drawn as one" + (
        ". Click: show them" if url else ""
    )
    attrs = dot_attrs(
        **tier_style("collapsed"),
        tooltip=tooltip,
        URL=_url(url),
        target="_top" if url else None,
        id=schema_node_id(database),
        **{"class": "dag-collapsed"},
    )
    return f"{dot_string('schema:' + database)} {attrs[:-1]}, label={text}]"


def schema_dot(
    graph,
    schema: str,
    url_for: Callable[[object], str | None],
    strip_prefix: str = "",
    overlay: Mapping | None = None,
    *,
    collapsed: Collection[str] = (),
    expand_url: Callable[[str], str | None] | None = None,
) -> str:
    """DOT text of the tables of ``schema`` plus their parents and children elsewhere.

    Args:
        graph: a DependencyGraph loaded with ``schema``.
        url_for: TableInfo -> URL of its page, or None (not linked).
        strip_prefix: removed from schema names in labels of other schemas' tables.
        overlay: node (TableRef) -> ``{"counts": job counts or None}`` for the tables
            whose progress is shown (see :func:`_progress`).
        collapsed: other databases drawn as one node each (names not drawn are ignored).
        expand_url: database -> the URL its collapsed node links to (the diagram with it
            expanded), or None.
    """
    overlay = overlay or {}
    g = graph.graph
    own, external = neighbours(graph, schema)
    folded = {d: names for d, names in external.items() if d in set(collapsed)}
    place = {n: n for n in own}  # node -> the DOT node drawing it
    for database, names in external.items():
        for name in names:
            place[name] = ("schema:" + database) if database in folded else name
    lines = [
        f"digraph {dot_string(schema)} {{",
        '  graph [rankdir=TB, bgcolor="transparent", fontname="Helvetica", nodesep=0.35, '
        'ranksep=0.5, tooltip=" "]',
        '  node [fontname="Helvetica", margin="0.11,0.06"]',
        "  edge [arrowhead=none]",
    ]
    groups: dict = {}  # master -> its parts (same schema), TableRefs
    for name in own:
        master = name.master
        if master in own:
            groups.setdefault(master, []).append(name)
    grouped = set(groups) | {p for parts in groups.values() for p in parts}

    def node(name, indent: str = "  ") -> str:
        info = graph.table(name)
        label = info.class_name.rsplit(".", 1)[-1] if info.master else info.class_name
        if name not in own:
            label = info.database.removeprefix(strip_prefix) + "." + info.class_name
        progress = overlay.get(name) if name in own else None
        return indent + _node(name, info, name not in own, url_for(info), label, progress)

    lines.extend(node(name) for name in own if name not in grouped)
    for index, (master, parts) in enumerate(groups.items()):
        lines.append(f"  subgraph cluster_entity_{index} {{")
        lines.append(
            f'    style="rounded,filled"; fillcolor="{ENTITY_FILL}"; '
            f'color="{ENTITY_FILL}"; label=""'
        )
        lines.extend(node(name, "    ") for name in [master, *parts])
        lines.append("  }")
    frame, frame_text = SCHEMA_FRAME
    for index, (database, names) in enumerate(external.items()):
        label = database.removeprefix(strip_prefix)
        if database in folded:
            url = expand_url(database) if expand_url else None
            lines.append("  " + _collapsed_node(database, names, label, url))
            continue
        lines.append(f"  subgraph cluster_schema_{index} {{")
        lines.append(
            f'    style="rounded,dashed"; color="{frame}"; fontcolor="{frame_text}"; '
            f'fontname="Helvetica"; fontsize=10; labeljust="r"; label={dot_string(database)}'
        )
        lines.extend(node(name, "    ") for name in names)
        lines.append("  }")
    # one edge per foreign key; the foreign keys between a table and a collapsed schema
    # share one edge
    edges: dict = {}  # (DOT parent, DOT child, key) -> [(parent, child, data), ...]
    for parent, child, key, data in g.edges(keys=True, data=True):
        if parent not in place or child not in place or (parent not in own and child not in own):
            continue
        ends = (place[parent], place[child])
        bundle = ends != (parent, child)
        edges.setdefault((*ends, None if bundle else key), []).append((parent, child, data))
    for (parent, child, _), fks in edges.items():
        lines.append(f"  {dot_string(parent)} -> {dot_string(child)} " + _edge_attrs(graph, fks))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_attrs(graph, fks: list) -> str:
    """DOT attributes of the edge drawing foreign keys ``fks`` (``(parent, child, data)``
    each): one foreign key's style (:func:`edge_style`), or :data:`BUNDLE_STYLE` when the
    edge stands for several of a collapsed schema with different styles."""
    styles = {(d["primary"], d["multi"], d["aliased"]) for _, _, d in fks}
    if len(fks) == 1:
        renames = "; ".join(f"{c} ← {p}" for c, p in fks[0][2]["attr_map"].items() if c != p)
        return dot_attrs(**edge_style(*styles.pop()), tooltip=renames or " ")
    names = ", ".join(
        f"{graph.table(p).class_name} → {graph.table(c).class_name}" for p, c, _ in fks
    )
    tooltip = f"{len(fks)} foreign keys: {names}"
    style = edge_style(*styles.pop()) if len(styles) == 1 else BUNDLE_STYLE
    return dot_attrs(**style, tooltip=tooltip)


def render_svg(dot_text: str, keep: int = 3600) -> str | None:
    """Lay out DOT text with Graphviz into inline-ready SVG markup (no XML prolog),
    cached by content for ``keep`` seconds; None when Graphviz is missing or fails."""
    cache_key = "labbook:dag:" + hashlib.sha256(dot_text.encode()).hexdigest()
    svg = cache.get(cache_key)
    if svg is not None:
        return svg
    executable = DOT if shutil.which(DOT) else shutil.which("dot")
    if executable is None:
        return None
    try:
        done = subprocess.run(
            [executable, "-Tsvg"],
            input=dot_text.encode(),
            capture_output=True,
            timeout=30,
            check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    svg = done.stdout.decode()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    # a group, not an image: its tables are links that keyboards and screen readers reach
    svg = svg.replace("<svg ", '<svg class="dag" role="group" aria-label="Schema diagram" ', 1)
    cache.set(cache_key, svg, keep)
    return svg


def schema_svg(
    graph,
    schema: str,
    url_for: Callable[[object], str | None],
    strip_prefix: str = "",
    overlay: Mapping | None = None,
    *,
    collapsed: Collection[str] = (),
    expand_url: Callable[[str], str | None] | None = None,
) -> str | None:
    """SVG markup of the schema diagram (see :func:`schema_dot`), or None. With an
    ``overlay`` the layout is cached for a minute only: its labels change while jobs run."""
    dot_text = schema_dot(
        graph,
        schema,
        url_for,
        strip_prefix,
        overlay,
        collapsed=collapsed,
        expand_url=expand_url,
    )
    return render_svg(dot_text, keep=60 if overlay else 3600)
