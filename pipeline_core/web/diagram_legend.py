"""The legend of the schema diagram, and the diagram as a file of its own.

The legend is laid out by Graphviz from the very node and edge styles of
:mod:`.diagram` (:func:`.diagram.tier_style`, :func:`.diagram.edge_style`), so its samples
look exactly like the diagram's nodes and edges: one row of the tiers (Manual, Lookup,
Imported, Computed, Part), a table of another schema and a collapsed schema, then one row
of the edge kinds (thick, thin, dashed, bronze).

:func:`standalone_svg` puts a diagram and its legend into one self-contained SVG document
(XML prolog, namespaces, a white background, styles only as attributes): the download.
"""

from __future__ import annotations

import functools
import html
import re

from . import diagram

#: (tier or "collapsed", label, external) of the node samples, in order.
NODE_SAMPLES = (
    *((tier, tier, False) for tier in diagram.TIERS),
    ("Manual", "other schema", True),
    ("collapsed", "collapsed schema", False),
)
#: (primary, multi, aliased, text) of the edge samples, in order (DataJoint 2.3's rules).
EDGE_SAMPLES = (
    (True, False, False, "thick: the foreign key is the child's whole primary key"),
    (True, True, False, "thin: the child adds primary-key attributes"),
    (False, True, False, "dashed: the foreign key is secondary (non-key attributes)"),
    (True, True, True, "bronze: the foreign key renames attributes"),
)
#: Width of the texts of the edge samples, points (at least the longest text's).
TEXT_WIDTH = 320
#: What an underlined name means.
DIMENSION_TEXT = "underlined: the table adds primary-key attributes"


_GRAPH = (
    '  graph [bgcolor="transparent", fontname="Helvetica", nodesep=0.18, ranksep=0.2, '
    'margin=0.05, tooltip="Legend"]\n'
    '  node [fontname="Helvetica", margin="0.11,0.06"]\n'
    "  edge [arrowhead=none]\n"
)
_TEXT = 'shape=plaintext, fontsize=10, fontcolor="#404040", margin="0.02,0.02"'


def nodes_dot() -> str:
    """DOT text of the node samples, in one row, and what an underlined name means."""
    lines = ["digraph legend_nodes {", _GRAPH + "  graph [rankdir=TB]"]
    names = []
    for index, (tier, label, external) in enumerate(NODE_SAMPLES):
        names.append(f"n{index}")
        style = diagram.tier_style(tier, external)
        attrs = diagram.dot_attrs(**style, tooltip=label, label=label)
        lines.append(f"  n{index} {attrs}")
    lines.append("  { rank=same; " + "; ".join(names) + " }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def edges_dot() -> str:
    """DOT text of the edge samples: one under the other, each a line then its text."""
    lines = ["digraph legend_edges {", _GRAPH + "  graph [rankdir=LR, nodesep=0.08, ranksep=0.45]"]

    # Graphviz stacks a left-to-right graph's nodes of one rank bottom up: listed reversed.
    # The texts are cells of one width, left-aligned, so that the lines are equally long.
    def text(name: str, markup: str) -> str:
        cell = f'<td width="{TEXT_WIDTH}" align="left">{markup}</td>'
        table = f'<table border="0" cellpadding="0" cellspacing="0"><tr>{cell}</tr></table>'
        return f"  {name} [{_TEXT}, height=0.22, label=<{table}>]"

    underline = html.escape(DIMENSION_TEXT).replace("underlined", "<u>underlined</u>", 1)
    samples = [(None, underline)]
    samples += [(s[:3], html.escape(s[3])) for s in reversed(EDGE_SAMPLES)]
    for index, (style, markup) in enumerate(samples):
        lines.append(f"  from{index} [shape=point, width=0.01, height=0.01, style=invis]")
        lines.append(text(f"to{index}", markup))
        attrs = diagram.edge_style(*style) if style else {"style": "invis"}
        lines.append(f"  from{index} -> to{index} " + diagram.dot_attrs(**attrs, headport="w"))
    lines.append("}")
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=1)
def legend_svg() -> str | None:
    """SVG markup of the legend (class ``dag-legend``): the node samples above the edge
    samples; None without Graphviz. Drawn once per process (it never changes)."""
    parts = [
        diagram.render_svg(nodes_dot(), keep=24 * 3600),
        diagram.render_svg(edges_dot(), keep=24 * 3600),
    ]
    if None in parts:
        return None
    return stack(parts, css_class="dag-legend", label="Legend of the schema diagram", gap=10)


_ROOT = re.compile(r"<svg\b[^>]*>")
_NUMBER = r"([0-9.]+)"


def _size(svg: str) -> tuple[float, float, str, str]:
    """``(width, height, viewBox, inner markup)`` of a Graphviz SVG (sizes in pt)."""
    root = _ROOT.search(svg).group(0)
    width = float(re.search(rf'width="{_NUMBER}pt"', root).group(1))
    height = float(re.search(rf'height="{_NUMBER}pt"', root).group(1))
    view_box = re.search(r'viewBox="([^"]+)"', root).group(1)
    inner = svg[svg.index(root) + len(root) : svg.rindex("</svg>")]
    return width, height, view_box, inner


def stack(
    svgs: list[str],
    *,
    css_class: str,
    label: str,
    gap: float = 6,
    margin: float = 0,
    prelude: str = "",
) -> str:
    """One SVG of Graphviz SVGs ``svgs`` one under the other (``gap`` pt apart, ``margin``
    pt around), each a nested ``<svg>`` keeping its own coordinates; sizes in pt like
    Graphviz's. ``prelude``: markup put first (a title, a background)."""
    sizes = [_size(svg) for svg in svgs]
    width = max(w for w, *_ in sizes) + 2 * margin
    height = sum(h for _, h, *_ in sizes) + gap * (len(sizes) - 1) + 2 * margin
    out = [
        f'<svg class="{css_class}" role="img" aria-label="{html.escape(label)}" '
        f'width="{width:g}pt" height="{height:g}pt" viewBox="0 0 {width:g} {height:g}" '
        'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">',
        prelude,
    ]
    y = margin
    for w, h, view_box, inner in sizes:
        out.append(
            f'<svg x="{margin:g}" y="{y:g}" width="{w:g}" height="{h:g}" viewBox="{view_box}">'
            f"{inner}</svg>"
        )
        y += h + gap
    out.append("</svg>")
    return "".join(out)


def standalone_svg(svg: str, legend: str | None, *, title: str) -> str:
    """A self-contained SVG document of a diagram (:func:`.diagram.schema_svg`) with its
    legend below it: XML prolog, ``<title>``, a white background, every style an
    attribute (no stylesheet needed), links as they are in ``svg``."""
    prelude = (
        f"<title>{html.escape(title)}</title>"
        '<rect x="0" y="0" width="100%" height="100%" fill="#FFFFFF"/>'
    )
    body = stack(
        [svg, legend] if legend else [svg],
        css_class="dag-file",
        label=title,
        gap=18,
        margin=12,
        prelude=prelude,
    )
    return '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + body + "\n"
