"""The schema diagram's conventions against DataJoint 2.3's own (issue #14): for the tables
of tests/web/diagram_pipeline.py, every foreign key's edge (solid/dashed, thick/thin,
navy/bronze) and every node of the schema (shape, size, colours, underlined name) are those
``datajoint.Diagram.make_dot()`` draws."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from pipeline_core.datamodel.dependencies import graph_around
from pipeline_core.web import diagram
from tests.web import diagram_pipeline

pytestmark = [pytest.mark.oracle, pytest.mark.integration]

_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
NODE_ATTRS = ("shape", "fontsize", "width", "height", "fillcolor", "color", "fontcolor", "style")


def _plain(value) -> str:
    return str(value).strip('"')


@pytest.fixture(scope="module")
def both(dj, dj_conn, dm_conn, pipeline_prefix):
    """``(our DOT of dgm_core with every schema expanded, DataJoint's pydot graph of
    dgm_core, dgm_side and dgm_down)``."""
    ns = diagram_pipeline.declared(dm_conn, pipeline_prefix)
    theirs = None
    for database in (ns.core, ns.side, ns.down):
        schema = dj.Schema(database, connection=dj_conn, create_schema=False)
        theirs = dj.Diagram(schema) if theirs is None else theirs + dj.Diagram(schema)
    graph = graph_around(dm_conn, ns.core)
    ours = diagram.schema_dot(graph, ns.core, lambda info: None, collapsed=())
    return ns, ours, theirs.make_dot()


def test_edges_are_drawn_as_datajoint_draws_them(both):
    _, ours, theirs = both
    names = set(_their_nodes(theirs))
    expected = Counter(
        (
            _plain(e.get_source()),
            _plain(e.get_destination()),
            _plain(e.get("style")),
            _plain(e.get("penwidth")),
            _plain(e.get("color")),
        )
        for e in theirs.get_edges()
    )
    drawn = Counter(
        (parent, child, a["style"], a["penwidth"], a["color"])
        for parent, child, text in re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\]$', ours, re.M)
        for a in [dict(_ATTR.findall(text))]
        if parent in names and child in names  # DataJoint's diagram has no dgm_big
    )
    assert drawn == expected
    assert sum(expected.values()) == 11 and {k[3] for k in expected} == {"2", "0.75"}


def _their_nodes(graph) -> dict:
    found = {}
    for node in graph.get_nodes():
        found[_plain(node.get_name())] = node
    for sub in graph.get_subgraphs():
        found.update(_their_nodes(sub))
    return found


def test_nodes_are_drawn_as_datajoint_draws_them(both):
    ns, ours, theirs = both
    their_nodes = _their_nodes(theirs)
    our_nodes = dict(re.findall(r'^\s*"([^"]+)" \[(.*)\]$', ours, re.M))
    own = [name for name in our_nodes if name.startswith(f"`{ns.core}`.")]
    assert len(own) == 7
    for name in own:
        mine = dict(_ATTR.findall(our_nodes[name]))
        node = their_nodes[name]
        for attr in NODE_ATTRS:
            assert mine[attr] == _plain(node.get(attr)), (name, attr)
        underlined = str(node.get("label")).startswith("<<u>")
        assert ("label=<<u>" in our_nodes[name]) == underlined, name
