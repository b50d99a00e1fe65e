"""The schema diagram (issue #14): DataJoint 2.3's node and edge conventions in the DOT of a
small declared pipeline (tests/web/diagram_pipeline.py), the legend, other schemas
collapsed and expanded (the DOT, the URL state, the page's links), and the SVG download
(content type, attachment, a valid self-contained SVG parsed with xml.etree)."""

from __future__ import annotations

import re
import types
import xml.etree.ElementTree as ET
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse

from pipeline_core.datamodel.dependencies import graph_around
from pipeline_core.datamodel.tableref import TableRef
from pipeline_core.web import diagram, diagram_legend
from pipeline_core.web.diagram_state import COLLAPSE_ABOVE, diagram_state
from tests.web import diagram_pipeline

pytestmark = pytest.mark.integration

SVG = "{http://www.w3.org/2000/svg}"
NAVY, BRONZE = diagram.EDGE + diagram.EDGE_ALPHA, diagram.EDGE_RENAMED + diagram.EDGE_ALPHA


@pytest.fixture(scope="session")
def dgm(demo, pipeline_prefix):
    return diagram_pipeline.declared(demo.Subject.connection, pipeline_prefix)


def ref(cls) -> str:
    return str(TableRef(cls.database, cls.table_name))


_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_EDGE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\]$', re.M)
_NODE = re.compile(r'^\s*"([^"]+)" \[(.*)\]$', re.M)


def dot_edges(dot: str) -> list[tuple[str, str, dict]]:
    """``(parent, child, attributes)`` of every edge statement of DOT text."""
    return [(p, c, dict(_ATTR.findall(a))) for p, c, a in _EDGE.findall(dot)]


def dot_nodes(dot: str) -> dict[str, str]:
    """Node name -> its attribute text (quoted attributes and the label)."""
    return dict(_NODE.findall(dot))


def style_of(attrs: dict) -> tuple[str, str, str]:
    return attrs["style"], attrs["penwidth"], attrs["color"]


def core_dot(dgm, **kwargs) -> str:
    graph = graph_around(dgm.conn, dgm.core)
    return diagram.schema_dot(graph, dgm.core, lambda info: None, **kwargs)


def test_edges_follow_datajoint_2_3(dgm):
    """Solid: the foreign key's attributes are in the child's primary key, dashed: they are
    secondary; thick: they are its whole primary key, thin: the child adds key attributes;
    bronze: the foreign key renames attributes (DataJoint 2.3, module docstring)."""
    edges = dot_edges(core_dot(dgm, collapsed=()))
    found: dict = {}
    for parent, child, attrs in edges:
        found.setdefault((parent, child), []).append(style_of(attrs))
    thick, thin = "2", "0.75"
    session, trial = ref(dgm.Session), ref(dgm.Session.Trial)
    expected = {
        (session, ref(dgm.SessionQC)): [("solid", thick, NAVY)],  # whole primary key
        (ref(dgm.Animal), session): [("solid", thin, NAVY)],  # adds session
        (session, trial): [("solid", thin, NAVY)],  # a part adds trial
        (ref(dgm.Experimenter), session): [("dashed", thin, NAVY)],  # secondary
        (ref(dgm.Animal), ref(dgm.Pairing)): [("solid", thin, BRONZE)] * 2,  # renamed, twice
        (ref(dgm.Animal), ref(dgm.Nickname)): [("solid", thick, BRONZE)],  # renamed whole key
        (ref(dgm.Experimenter), ref(dgm.Animal)): [("dashed", thin, BRONZE)],  # both
        (ref(dgm.Site), ref(dgm.Animal)): [("dashed", thin, NAVY)],  # another schema's
        (session, ref(dgm.Report)): [("solid", thin, NAVY)],
        (ref(dgm.SessionQC), ref(dgm.Summary)): [("solid", thick, NAVY)],
    }
    for pair, styles in expected.items():
        assert found.get(pair) == styles, pair
    # renames are in the tooltip of a renamed foreign key's edge
    tips = {a["tooltip"] for p, c, a in edges if c == ref(dgm.Pairing)}
    assert tips == {"mother ← animal_id", "father ← animal_id"}
    # no edge between two tables of other schemas, every edge once
    assert all(dgm.core in p or dgm.core in c for p, c, _ in edges)
    assert len(edges) == len({(p, c, a["tooltip"]) for p, c, a in edges})


def test_nodes_by_tier_with_parts_grouped_and_dimensions_underlined(dgm):
    dot = core_dot(dgm, collapsed=())
    nodes = dot_nodes(dot)
    expected = {
        dgm.Experimenter: ("box", "12", "rounded,filled", diagram.PALETTE["Lookup"]),
        dgm.Animal: ("box", "12", "rounded,filled", diagram.PALETTE["Manual"]),
        dgm.SessionQC: ("ellipse", "12", "filled", diagram.PALETTE["Computed"]),
        dgm.Session.Trial: ("box", "10", "rounded,filled", diagram.PALETTE["Part"]),
    }
    for cls, (shape, size, style, (fill, stroke, text)) in expected.items():
        attrs = dict(_ATTR.findall(nodes[ref(cls)]))
        assert (attrs["shape"], attrs["fontsize"], attrs["style"]) == (shape, size, style)
        assert (attrs["fillcolor"], attrs["color"], attrs["fontcolor"]) == (fill, stroke, text)
    # another schema's table: white, dashed outline, in a frame labelled with its schema
    site = dict(_ATTR.findall(nodes[ref(dgm.Site)]))
    assert (site["fillcolor"], site["style"]) == ("#FFFFFF", "rounded,dashed,filled")
    assert f"label={diagram.dot_string(dgm.side)}" in dot
    # Session adds `session` to its key: underlined; SessionQC's key is Session's: not
    assert nodes[ref(dgm.Session)].endswith("label=<<u>Session</u>>")
    assert nodes[ref(dgm.SessionQC)].endswith('label="SessionQC"')
    # the part is grouped with its master, labelled by its own name
    entity = re.search(r"subgraph cluster_entity_\d+ \{(.*?)\n  \}", dot, re.S).group(1)
    assert ref(dgm.Session) in entity and ref(dgm.Session.Trial) in entity
    assert nodes[ref(dgm.Session.Trial)].endswith("label=<<u>Trial</u>>")


def test_collapsed_schemas_are_one_node_each_and_expand_again(dgm):
    links = {}
    dot = core_dot(
        dgm,
        collapsed={dgm.bigdb, dgm.down},
        expand_url=lambda d: links.setdefault(d, f"/expand/{d}"),
    )
    nodes = dot_nodes(dot)
    big_node, down_node = "schema:" + dgm.bigdb, "schema:" + dgm.down
    for name, database, tables in (
        (big_node, dgm.bigdb, 1 + diagram_pipeline.BIG_USERS),
        (down_node, dgm.down, 2),
    ):
        attrs = dict(_ATTR.findall(nodes[name]))
        assert attrs["shape"] == "box3d" and attrs["fillcolor"] == diagram.PALETTE["collapsed"][0]
        assert attrs["URL"] == f"/expand/{database}"
        assert attrs["id"] == diagram.schema_node_id(database)
        assert f"({tables} tables)" in nodes[name]
    # their tables are not drawn; the expanded schema's are
    assert ref(dgm.Report) not in nodes and ref(dgm.big[0]) not in nodes
    assert ref(dgm.Site) in nodes
    edges = dot_edges(dot)
    by_ends = {(p, c): a for p, c, a in edges}
    # 14 secondary foreign keys to one collapsed schema: one edge, their common style
    users = by_ends[(ref(dgm.Experimenter), big_node)]
    assert style_of(users) == ("dashed", "0.75", NAVY)
    assert users["tooltip"].startswith(f"{diagram_pipeline.BIG_USERS} foreign keys")
    assert style_of(by_ends[(ref(dgm.Animal), big_node)]) == ("solid", "0.75", NAVY)
    # one edge per table of this schema and collapsed schema
    assert style_of(by_ends[(ref(dgm.Session), down_node)]) == ("solid", "0.75", NAVY)
    assert style_of(by_ends[(ref(dgm.SessionQC), down_node)]) == ("solid", "2", NAVY)
    assert sum(1 for p, c, _ in edges if big_node in (p, c)) == 2
    # expanded again: no schema nodes
    assert "schema:" not in core_dot(dgm, collapsed=())


def test_several_styles_to_one_collapsed_schema_are_a_bundle(dgm):
    """A collapsed parent schema keeps one edge per child table, in its foreign key's style;
    foreign keys of different styles drawn as one edge claim none of them (DataJoint's
    "bundle" edge: thick, solid, navy)."""
    graph = graph_around(dgm.conn, dgm.down)
    dot = diagram.schema_dot(graph, dgm.down, lambda info: None, collapsed={dgm.core})
    edges = [(p, c, a) for p, c, a in dot_edges(dot) if p == "schema:" + dgm.core]
    # Report (thin) and Summary (thick) each have one edge from the collapsed core
    assert {(c, style_of(a)) for _, c, a in edges} == {
        (ref(dgm.Report), ("solid", "0.75", NAVY)),
        (ref(dgm.Summary), ("solid", "2", NAVY)),
    }
    fks = [(None, None, {"primary": True, "multi": m, "aliased": False}) for m in (True, False)]
    graph_stub = types.SimpleNamespace(table=lambda r: types.SimpleNamespace(class_name="T"))
    attrs = dict(_ATTR.findall(diagram._edge_attrs(graph_stub, fks)))
    assert style_of(attrs) == ("solid", "2", NAVY) and attrs["tooltip"].startswith("2 foreign")


def _state(dgm, schema: str, query: str):
    graph = graph_around(dgm.conn, schema)
    _, others = diagram.neighbours(graph, schema)
    return diagram_state(schema, {d: len(t) for d, t in others.items()}, QueryDict(query))


def test_collapsed_by_default_when_other_schemas_bring_many_tables(dgm):
    core = _state(dgm, dgm.core, "")
    assert dict(core.others) == {
        dgm.bigdb: 1 + diagram_pipeline.BIG_USERS,
        dgm.down: 2,
        dgm.side: 1,
    }
    assert sum(core.others.values()) > COLLAPSE_ABOVE
    assert core.collapsed == {dgm.bigdb, dgm.down, dgm.side}
    big = _state(dgm, dgm.bigdb, "")  # Animal and Experimenter only: expanded
    assert dict(big.others) == {dgm.core: 2} and big.collapsed == set()
    # the URL overrides the default, one schema or all
    assert _state(dgm, dgm.core, f"expand={dgm.down}").collapsed == {dgm.bigdb, dgm.side}
    assert _state(dgm, dgm.core, "expand=all").collapsed == set()
    assert _state(dgm, dgm.core, f"expand=all&collapse={dgm.side}").collapsed == {dgm.side}
    assert _state(dgm, dgm.bigdb, "collapse=all").collapsed == {dgm.core}
    # links: canonical, flipping one schema
    assert core.query == "?collapse=all"
    toggled = parse_qs(core.toggled(dgm.down)[1:])
    assert toggled == {"collapse": ["all"], "expand": [dgm.down]}
    assert _state(dgm, dgm.core, core.toggled(dgm.down)[1:]).collapsed == {dgm.bigdb, dgm.side}
    assert big.toggled(dgm.core) == "?collapse=all"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("expand=nope_zz", "?expand=nope_zz: not a schema drawn in the diagram"),
        ("collapse=%3Cb%3E", "?collapse=<b>: not a schema drawn"),
        ("expand=all&collapse=all", "opposite"),
    ],
)
def test_bad_collapse_parameters_are_400_naming_them(lab_client, dgm, query, message):
    for name in ("web:schema", "web:schema_diagram", "web:schema_progress"):
        response = lab_client.get(reverse(name, args=[dgm.core]) + "?" + query)
        assert response.status_code == 400, (name, response.content[:300])
        assert message in unescape(response.content.decode()), name
    both = f"expand={dgm.side}&collapse={dgm.side}"
    response = lab_client.get(reverse("web:schema", args=[dgm.core]) + "?" + both)
    assert response.status_code == 400
    assert f"{dgm.side} is both expanded and collapsed" in unescape(response.content.decode())


def test_legend_shows_every_tier_and_edge_kind_as_the_diagram_draws_them(dgm):
    nodes = diagram_legend.nodes_dot()
    for tier in diagram.TIERS:
        style = diagram.tier_style(tier)
        assert diagram.dot_attrs(**style)[1:-1] in nodes, tier
    assert diagram.dot_attrs(**diagram.tier_style("collapsed"))[1:-1] in nodes
    assert diagram.dot_attrs(**diagram.tier_style("Manual", external=True))[1:-1] in nodes
    edges = diagram_legend.edges_dot()
    for primary, multi, aliased, _ in diagram_legend.EDGE_SAMPLES:
        assert diagram.dot_attrs(**diagram.edge_style(primary, multi, aliased))[1:-1] in edges
    svg = diagram_legend.legend_svg()
    root = ET.fromstring(svg)
    texts = " ".join("".join(t.itertext()) for t in root.iter(SVG + "text"))
    for tier in diagram.TIERS:
        assert tier in texts
    for *_, text in diagram_legend.EDGE_SAMPLES:
        assert text in texts
    assert "the table adds primary-key attributes" in texts
    # the drawn edges: thick, thin, dashed and bronze
    paths = [p.attrib for p in root.iter(SVG + "path") if p.get("fill") == "none"]
    assert {p["stroke-width"] for p in paths} >= {"2", "0.75"}
    assert any("stroke-dasharray" in p for p in paths)
    assert {p["stroke"] for p in paths} == {"#171c39", "#c77d3a"}
    assert len(list(root.iter(SVG + "ellipse"))) == 2  # Imported and Computed


def test_schema_page_links_other_schemas_collapsed_and_expanded(lab_client, dgm):
    url = reverse("web:schema", args=[dgm.core])
    html = unescape(lab_client.get(url).content.decode())
    # the default: collapsed (many tables elsewhere), each node links to its expansion
    for database in (dgm.bigdb, dgm.down, dgm.side):
        assert f'id="{diagram.schema_node_id(database)}"' in html.replace("&#45;", "-")
        assert f'href="{url}?collapse=all&expand={database}"' in html
    assert 'class="dag-legend"' in html and 'class="dag-viewport"' in html
    assert f'href="{reverse("web:schema_diagram", args=[dgm.core])}?collapse=all"' in html
    # expanding one schema: its tables drawn and linked, the others still collapsed
    html = unescape(lab_client.get(f"{url}?collapse=all&expand={dgm.down}").content.decode())
    report = reverse("web:table", args=[dgm.down, dgm.Report.table_name])
    assert f'href="{report}"' in html
    assert diagram.schema_node_id(dgm.down) not in html.replace("&#45;", "-")
    assert diagram.schema_node_id(dgm.side) in html.replace("&#45;", "-")
    assert f'href="{url}?collapse=all"' in html  # collapse it again


def test_diagram_download_is_a_self_contained_svg_file(lab_client, dgm):
    url = reverse("web:schema_diagram", args=[dgm.core])
    response = lab_client.get(url + "?expand=all")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{dgm.core}.diagram.svg"'
    body = response.content.decode()
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"')
    root = ET.fromstring(response.content)
    assert root.tag == SVG + "svg"
    assert root.find(SVG + "title").text == f"Schema {dgm.core}"
    assert float(root.get("width").removesuffix("pt")) > 100
    # no stylesheet: no <style>, no class-dependent look; the legend comes along
    assert not list(root.iter(SVG + "style")) and "<link" not in body
    texts = " ".join("".join(t.itertext()) for t in root.iter(SVG + "text"))
    assert "Session" in texts and "Report" in texts and "Computed" in texts
    # links are absolute, to the table pages
    xlink = "{http://www.w3.org/1999/xlink}href"
    hrefs = {a.get(xlink) for a in root.iter(SVG + "a") if a.get(xlink)}
    session = "http://testserver" + reverse("web:table", args=[dgm.core, "session"])
    assert session in hrefs
    # the same collapse parameters as the page
    collapsed = lab_client.get(url + "?collapse=all")
    ids = {g.get("id") for g in ET.fromstring(collapsed.content).iter(SVG + "g")}
    assert diagram.schema_node_id(dgm.down) in ids
    assert diagram.schema_node_id(dgm.down) not in {g.get("id") for g in root.iter(SVG + "g")}
    expand = urlsplit(
        next(
            a.get(xlink)
            for a in ET.fromstring(collapsed.content).iter(SVG + "a")
            if dgm.down in (a.get(xlink) or "") and "expand=" in a.get(xlink)
        )
    )
    assert expand.path == reverse("web:schema", args=[dgm.core])


def test_the_svg_is_kept_per_collapse_state(lab_client, dgm):
    """diagram_cache keys the SVG by the collapsed schemas too: two states, two SVGs."""
    url = reverse("web:schema_diagram", args=[dgm.core])
    first = lab_client.get(url + "?collapse=all").content
    assert lab_client.get(url + "?expand=all").content != first
    assert lab_client.get(url + "?collapse=all").content == first


def test_big_schema_diagram_is_drawn_at_its_natural_size(lab_client, dgm):
    """The 44-table schema: its SVG keeps Graphviz's natural size (the page no longer squeezes
    it to the column; the browser test measures the labels on screen)."""
    html = lab_client.get(reverse("web:schema", args=[dgm.bigdb])).content.decode()
    svg = re.search(r"<svg[^>]*class=\"dag\"[^>]*>", html).group(0)
    width = float(re.search(r'width="([0-9.]+)pt"', svg).group(1))
    assert width > 2000  # a wide diagram, laid out at 12 pt labels
    assert html.count('class="node"') >= diagram_pipeline.BIG + 2
