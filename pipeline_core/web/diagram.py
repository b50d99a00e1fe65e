"""The schema diagram: a :class:`~pipeline_core.datamodel.DependencyGraph` around one schema
drawn as DOT and laid out by Graphviz (``dot -Tsvg``) into an SVG whose nodes link to the
table pages.

Styling follows DataJoint 2.x (``datajoint/diagram.py``, light theme): Manual green rounded
box, Lookup grey rounded box, Imported blue ellipse, Computed red ellipse, Part a small
neutral box grouped with its master; primary dependencies solid, secondary dashed; one-to-one
thick, one-to-many thin; renamed foreign keys amber; tables that add primary-key attributes
("dimensions") underlined. Parents and children in other schemas are drawn too, in a
dashed frame per schema, with white fill and dashed outlines.

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
from collections.abc import Callable, Mapping

from django.core.cache import cache

DOT = "/usr/bin/dot"

#: tier -> (fill, stroke, text) from DataJoint's light theme.
PALETTE = {
    "Manual": ("#E8F0E9", "#3E7A52", "#28513A"),
    "Lookup": ("#F0F0F1", "#808285", "#5A5C5F"),
    "Computed": ("#FFEDE5", "#FF5113", "#B23200"),
    "Imported": ("#E0F4FC", "#00A0DF", "#00537A"),
    "Part": ("#FFFFFF", "#B9BBBE", "#55585C"),
    None: ("#FFFDE7", "#C9BC5B", "#6B6420"),
}
SHAPES = {
    "Manual": ("box", 12),
    "Lookup": ("box", 12),
    "Computed": ("ellipse", 12),
    "Imported": ("ellipse", 12),
    "Part": ("box", 10),
    None: ("circle", 10),
}
EDGE, EDGE_RENAMED, EDGE_ALPHA = "#171C39", "#C77D3A", "9E"
ENTITY_FILL = "#F3F5F8"
#: Outline and text of a table with error jobs (progress overlay).
ERROR_COLOR = "#C62828"


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(text: str) -> str:
    """Text inside an HTML-like DOT label: ``&``, ``<`` and ``>`` as entities (a table
    named ``<b>x`` is text, not markup)."""
    return html.escape(str(text), quote=False)


def _attrs(**attrs) -> str:
    return "[" + ", ".join(f"{k}={_q(v)}" for k, v in attrs.items() if v is not None) + "]"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _progress(label: str, dimension: bool, counts: dict | None) -> tuple[str, str]:
    """``(HTML-like DOT label, tooltip text)`` of a table with its progress: its name, then
    ``done/keys``, reserved jobs, and error jobs in red (``counts`` as
    :func:`pipeline_core.services.job_counts` gives them; None: they could not be read)."""
    name = _h(label)
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


def _node(
    ref, info, external: bool, url: str | None, label: str, progress: dict | None = None
) -> str:
    """One DOT node statement. ``progress``: ``{"counts": ...}`` of the overlay, or None
    (no progress shown)."""
    tier = info.tier
    fill, stroke, fontcolor = PALETTE.get(tier, PALETTE[None])
    shape, fontsize = SHAPES.get(tier, SHAPES[None])
    inherited = {c for fk in info.foreign_keys if fk.primary for c in fk.columns}
    dimension = bool(set(info.heading.primary_key) - inherited)
    tooltip = f"{info.class_name} ({tier or 'no tier'})" + (
        f": {info.comment}" if info.comment else ""
    )
    tooltip += "\nkey: " + ", ".join(info.heading.primary_key)
    style = "rounded," if shape == "box" else ""
    style += "dashed,filled" if external else "filled"
    classes = penwidth = None
    if progress is not None:
        counts = progress["counts"]
        label_text, more = _progress(label, dimension, counts)
        tooltip += "\n" + more
        classes = "dag-progress" + (" dag-error" if counts and counts["error"] else "")
        if counts and counts["error"]:
            stroke, penwidth = ERROR_COLOR, 2.5
    else:
        label_text = f"<<u>{_h(label)}</u>>" if dimension else _q(label)
    attrs = _attrs(
        shape=shape,
        fontsize=fontsize,
        fontcolor=fontcolor,
        color=stroke,
        fillcolor="#FFFFFF" if external else fill,
        style=style,
        tooltip=tooltip,
        URL=url,
        target="_top" if url else None,
        id=node_id(info),
        penwidth=penwidth,
        **{"class": classes},
    )
    return f"{_q(ref)} {attrs[:-1]}, label={label_text}]"


def node_id(info) -> str:
    """The SVG id of a table's node: ``dag-<database>-<table>``, other characters as ``-``
    and then (names a legacy database may hold: ``a.b``, ``a`b``) a hash of the names, so
    that ids stay unique."""
    name = info.database + "-" + info.table_name
    plain = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    if plain == name or not re.search(r"[^A-Za-z0-9_#~-]", name):
        return "dag-" + plain
    return f"dag-{plain}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def schema_dot(
    graph,
    schema: str,
    url_for: Callable[[object], str | None],
    strip_prefix: str = "",
    overlay: Mapping | None = None,
) -> str:
    """DOT text of the tables of ``schema`` plus their parents and children elsewhere.

    Args:
        graph: a DependencyGraph loaded with ``schema``.
        url_for: TableInfo -> URL of its page, or None (not linked).
        strip_prefix: removed from schema names in labels of other schemas' tables.
        overlay: node (TableRef) -> ``{"counts": job counts or None}`` for the tables
            whose progress is shown (see :func:`_progress`).
    """
    overlay = overlay or {}
    g = graph.graph
    own = sorted(n for n, d in g.nodes(data=True) if d["database"] == schema)
    others = sorted(
        {m for n in own for m in list(g.predecessors(n)) + list(g.successors(n))} - set(own)
    )
    keep = set(own) | set(others)
    lines = [
        f"digraph {_q(schema)} {{",
        '  graph [rankdir=TB, bgcolor="transparent", fontname="Helvetica", nodesep=0.35, '
        'ranksep=0.5, tooltip=" "]',
        '  node [fontname="Helvetica", margin="0.11,0.06", height=0.4, width=0.4]',
        "  edge [arrowhead=none]",
    ]
    groups: dict = {}  # master -> its parts (same schema), TableRefs
    for name in own:
        master = name.master
        if master in keep and master in own:
            groups.setdefault(master, []).append(name)
    grouped = set(groups) | {p for parts in groups.values() for p in parts}
    external: dict[str, list] = {}
    for name in others:
        external.setdefault(graph.table(name).database, []).append(name)

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
    for index, (database, names) in enumerate(sorted(external.items())):
        lines.append(f"  subgraph cluster_schema_{index} {{")
        lines.append(
            '    style="rounded,dashed"; color="#9AA1AC"; fontcolor="#5F6B7A"; '
            f'fontname="Helvetica"; fontsize=10; labeljust="r"; label={_q(database)}'
        )
        lines.extend(node(name, "    ") for name in names)
        lines.append("  }")
    for parent, child, data in g.edges(data=True):
        if parent not in keep or child not in keep or (parent not in own and child not in own):
            continue
        renames = "; ".join(f"{c} ← {p}" for c, p in data["attr_map"].items() if c != p)
        color = (EDGE_RENAMED if data["aliased"] else EDGE) + EDGE_ALPHA
        lines.append(
            f"  {_q(parent)} -> {_q(child)} "
            + _attrs(
                style="solid" if data["primary"] else "dashed",
                penwidth=0.75 if data["multi"] else 2,
                weight=1 if data["multi"] else 3,
                color=color,
                tooltip=renames or " ",
            )
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


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
    svg = svg.replace("<svg ", '<svg class="dag" role="img" aria-label="Schema diagram" ', 1)
    cache.set(cache_key, svg, keep)
    return svg


def schema_svg(
    graph,
    schema: str,
    url_for: Callable[[object], str | None],
    strip_prefix: str = "",
    overlay: Mapping | None = None,
) -> str | None:
    """SVG markup of the schema diagram (see :func:`schema_dot`), or None. With an
    ``overlay`` the layout is cached for a minute only: its labels change while jobs run."""
    dot_text = schema_dot(graph, schema, url_for, strip_prefix, overlay)
    return render_svg(dot_text, keep=60 if overlay else 3600)
