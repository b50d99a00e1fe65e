"""What the query builder needs besides the rows: the tables a user may start from, the
headings of each stage of the queries it edits, and the tables it may join, restrict by or
aggregate over (offered by the dependency graph, each offer checked by building it).

Everything is computed by the data model from descriptions (:mod:`pipeline_core.datamodel.
query_json`): the builder edits a description, the server says what it means. Nothing here
runs a query on the rows.
"""

from __future__ import annotations

from typing import Any

from pipeline_core import datamodel as dm
from pipeline_core.datamodel import query_json
from pipeline_core.datamodel import types as dm_types
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.errors import QueryDescriptionError
from pipeline_core.datamodel.heading import Heading

from .access import connection, may_view, viewable_schemas
from .browse import dependency_graph
from .query import heading_json, viewable_resolver

#: Keys of a query that only the top level has.
_TOP_ONLY = ("order", "limit", "after")
#: The aggregate used to check that a table can be aggregated over.
_PROBE = {"n": {"function": "count"}}


def builder_heading(heading: Heading) -> list[dict]:
    """A heading for the builder's widgets: the API's (:func:`.query.heading_json`) plus
    ``family`` (:func:`~pipeline_core.datamodel.types.type_family`'s: ``integer``,
    ``float``, ``date``, ``text`` ... ``expression`` for computed attributes),
    ``comparable`` and ``enum`` (the allowed values of an enum, else None)."""
    return [
        {
            **shown,
            "family": dm_types.type_family(attr.type),
            "comparable": dm_types.comparable(attr),
            "enum": (
                dm_types.enum_values(attr.type) if dm_types.base_name(attr.type) == "enum" else None
            ),
        }
        for attr, shown in zip(heading, heading_json(heading))
    ]


def viewable_tables(user) -> list[dict]:
    """The tables ``user`` may query: ``[{"schema", "tables": [{"table", "class_name",
    "tier"}]}]``, schemas by name, tables by class name (hidden tables left out)."""
    catalog = catalog_of(connection())
    result = []
    for schema in viewable_schemas(user):
        tables = [
            {"table": t.table_name, "class_name": t.class_name, "tier": t.tier}
            for t in sorted(catalog.tables(schema), key=lambda t: t.class_name)
            if t.tier is not None
        ]
        if tables:
            result.append({"schema": schema, "tables": tables})
    return result


def builder_context(description: Any, user) -> dict:
    """What the builder shows for ``description`` (which may be invalid or incomplete).

    Returns:
        ``{"queries": {path: {"input", "projected", "over", "result"}}, "offers": {path:
        {"join", "matching", "aggr"}}, "error": {"path", "message"} or None}``, for the top
        query (path ``""``) and each query in its ``union`` (``union[0]``, ...). Headings are
        :func:`builder_heading` lists (None when that stage does not build): ``input`` after
        ``from`` and ``join`` (what ``where`` and ``proj`` name), ``projected`` after
        ``proj`` (what ``aggr`` keeps), ``over`` the heading of the aggregation's source,
        ``result`` the query's own. Offers are tables next to the query's tables in the
        dependency graph (parents and children, in any schema the user may view) that
        would be valid there: ``{"schema", "table", "class_name", "primary_key",
        "relation"}``.
    """
    if not isinstance(description, dict) or "from" not in description:
        return {"queries": {}, "offers": {}, "error": None}
    resolve = viewable_resolver(user, placed=True)
    queries = {"": description}
    for i, item in enumerate(description.get("union") or []):
        if isinstance(item, dict) and "from" in item:
            queries[f"union[{i}]"] = item
    context: dict = {"queries": {}, "offers": {}, "error": None}
    for path, q in queries.items():
        context["queries"][path] = _stages(q, resolve)
        context["offers"][path] = _offers(q, resolve, user)
    try:
        query_json.to_query(description, connection(), resolve=resolve)
    except QueryDescriptionError as exc:
        context["error"] = {"path": exc.path, "message": exc.reason}
    return context


def _heading(description: dict, resolve) -> list[dict] | None:
    try:
        expr = query_json.to_query(description, connection(), resolve=resolve).expression
    except dm.DataJointError:
        return None
    return builder_heading(expr.heading)


def _stages(q: dict, resolve) -> dict:
    base = {k: q[k] for k in ("from", "join") if k in q}
    over = (q.get("aggr") or {}).get("over") if isinstance(q.get("aggr"), dict) else None
    return {
        "input": _heading(base, resolve),
        "projected": _heading({**base, **({"proj": q["proj"]} if "proj" in q else {})}, resolve),
        "over": _heading({"from": over}, resolve) if isinstance(over, dict) else None,
        "result": _heading({k: v for k, v in q.items() if k not in _TOP_ONLY}, resolve),
    }


def _offers(q: dict, resolve, user) -> dict:
    """Tables that may be joined to ``q``'s ``from``/``join``, restrict it, or be
    aggregated over, among the neighbours of its tables in the dependency graph."""
    offers: dict[str, list] = {"join": [], "matching": [], "aggr": []}
    sources = [q.get("from"), *(q.get("join") or [])]
    try:
        names = [
            resolve(s["schema"], s["table"])
            for s in sources
            if isinstance(s, dict) and isinstance(s.get("schema"), str) and "table" in s
        ]
    except (dm.DataJointError, TypeError):
        return offers
    base = {k: q[k] for k in ("from", "join") if k in q}
    try:
        query_json.to_query(base, connection(), resolve=resolve)
    except dm.DataJointError:
        return offers
    own = {info.ref for info in names}
    for ref, relation in _neighbours(names, user):
        if ref in own:
            continue
        table = {"schema": ref.database, "table": ref.table}
        offer = {**table, **_names(ref), "relation": relation}
        trials = {
            "join": {**base, "join": [*base.get("join", []), table]},
            "matching": {**base, "where": {"matching": table}},
            "aggr": {
                **base,
                **({"proj": q["proj"]} if "proj" in q else {}),
                "aggr": {"over": table, "compute": _PROBE},
            },
        }
        for kind, trial in trials.items():
            try:
                query_json.to_query(trial, connection(), resolve=resolve)
            except dm.DataJointError:
                continue
            offers[kind].append(offer)
    return offers


#: Relations of an offered table to the query's tables, in the order offers are listed.
RELATIONS = ("parent", "child", "ancestor", "descendant")


def _neighbours(infos, user) -> list[tuple[dm.TableRef, str]]:
    """``(table, relation)`` for the tables related to any of ``infos`` in the dependency
    graph of their schemas and the schemas around them (:func:`.browse.dependency_graph`):
    parents, children, then further ancestors and descendants (``Session - Detection``: the
    sessions with no detection), in schemas ``user`` may view, each once."""
    found: dict[dm.TableRef, str] = {}
    graphs = {}
    for info in infos:
        if info.database not in graphs:
            graphs[info.database] = dependency_graph(info.database)
        graph = graphs[info.database]
        parents, children = graph.parents(info.ref), graph.children(info.ref)
        ancestors, frontier = [], list(parents)
        while frontier:
            ref = frontier.pop(0)
            for parent in graph.parents(ref):
                if parent not in ancestors and parent not in parents:
                    ancestors.append(parent)
                    frontier.append(parent)
        for relation, refs in zip(
            RELATIONS, (parents, children, ancestors, graph.descendants(info.ref))
        ):
            for ref in refs:
                if ref.table.startswith("~") or not may_view(user, ref.database):
                    continue
                found.setdefault(ref, relation)
    return sorted(
        found.items(),
        key=lambda item: (RELATIONS.index(item[1]), item[0].database, item[0].table),
    )


def _names(ref: dm.TableRef) -> dict:
    """``{"class_name", "primary_key"}`` of a table (for the builder's labels and defaults)."""
    try:
        info = catalog_of(connection()).get(ref)
    except dm.DataJointError:
        return {"class_name": ref.table, "primary_key": []}
    return {"class_name": info.class_name, "primary_key": info.heading.primary_key}
