"""Which other schemas a schema diagram draws collapsed, as the URL says (issue #14).

A schema's diagram draws the parents and children of its tables that live in other schemas;
each such schema is drawn either expanded (its tables in a dashed frame) or collapsed (one
node, as DataJoint's ``Diagram.collapse()``). The state travels in the query string, so
that links work without JavaScript and a view can be bookmarked:

* ``?collapse=all`` / ``?expand=all``: every other schema collapsed / expanded;
* ``?expand=<database>`` / ``?collapse=<database>`` (repeatable): that schema expanded /
  collapsed, the others as ``all`` or the default say;
* neither: the default, every other schema collapsed when they bring more than
  :data:`COLLAPSE_ABOVE` tables in all, else all expanded.

Database names are full names (with the deployment's prefix). Links are written in one
canonical form (:meth:`DiagramState.query_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from pipeline_core import datamodel as dm

#: Other schemas are collapsed by default when they bring more tables than this in all.
COLLAPSE_ABOVE = 12
#: The query parameters read.
PARAMETERS = ("expand", "collapse")


@dataclass(frozen=True)
class DiagramState:
    """The other schemas of one diagram and which of them are collapsed.

    Attributes:
        others: other database -> number of its tables the diagram draws (sorted by name).
        collapsed: the databases drawn as one node each.
    """

    others: Mapping[str, int]
    collapsed: frozenset[str]

    def query_for(self, collapsed) -> str:
        """The canonical query string (``?...``) of a set of collapsed databases: ``all``
        plus the exceptions, whichever is shorter; ``""`` when there is no other schema."""
        collapsed = set(collapsed) & set(self.others)
        expanded = set(self.others) - collapsed
        if not self.others:
            return ""
        if len(collapsed) <= len(expanded):
            pairs = [("expand", "all"), *(("collapse", d) for d in sorted(collapsed))]
        else:
            pairs = [("collapse", "all"), *(("expand", d) for d in sorted(expanded))]
        return "?" + urlencode(pairs)

    @property
    def query(self) -> str:
        """The canonical query string of this state."""
        return self.query_for(self.collapsed)

    def toggled(self, database: str) -> str:
        """The query string of this state with ``database`` collapsed or expanded."""
        return self.query_for(self.collapsed ^ {database})

    @property
    def schemas(self) -> list[dict]:
        """One dict per other schema for the page: ``database``, ``tables`` (count drawn),
        ``collapsed`` (bool) and ``toggle`` (the query string flipping it)."""
        return [
            {
                "database": d,
                "tables": n,
                "collapsed": d in self.collapsed,
                "toggle": self.toggled(d),
            }
            for d, n in self.others.items()
        ]


def _names(params, name: str, schema: str, others) -> set[str]:
    values = set(params.getlist(name)) - {"all"}
    unknown = sorted(values - set(others))
    if unknown:
        drawn = ", ".join(others) or "none"
        raise dm.QueryError(
            f"?{name}={unknown[0]}: not a schema drawn in the diagram of {schema} "
            f"(other schemas drawn: {drawn})"
        )
    return values


def diagram_state(schema: str, others: Mapping[str, int], params) -> DiagramState:
    """The state that query parameters ``params`` (a Django ``QueryDict``) ask for.

    Args:
        schema: the diagram's schema (for messages).
        others: other database -> number of its tables drawn.

    Raises:
        QueryError: ``expand`` or ``collapse`` names a database the diagram does not draw,
            names one database both ways, or both say ``all``.
    """
    others = dict(sorted(others.items()))
    expand = _names(params, "expand", schema, others)
    collapse = _names(params, "collapse", schema, others)
    both = sorted(expand & collapse)
    if both:
        raise dm.QueryError(f"{both[0]} is both expanded and collapsed in the diagram")
    expand_all = "all" in params.getlist("expand")
    collapse_all = "all" in params.getlist("collapse")
    if expand_all and collapse_all:
        raise dm.QueryError("?expand=all and ?collapse=all ask for opposite diagrams")
    if collapse_all:
        collapsed = set(others)
    elif expand_all:
        collapsed = set()
    else:
        collapsed = set(others) if sum(others.values()) > COLLAPSE_ABOVE else set()
    collapsed = (collapsed - expand) | collapse
    return DiagramState(others=others, collapsed=frozenset(collapsed))
