"""JSON query descriptions: queries as data, so that no user of the web or the API writes SQL.

A *description* is a JSON object that names tables and attributes and holds values; it is
validated against the tables' headings and turned into a :class:`~.expression.QueryExpression`
(:func:`to_query`), and any expression built from a description turns back into the same
description (:func:`to_description`). Values only ever reach SQL as parameters and names
only as attributes found in a heading, quoted by the compiler.

Format (``?`` marks optional keys; ``order``, ``limit`` and ``after`` only at the top)::

    query     := {"from": source, "join"?: [source, ...], "where"?: condition,
                  "proj"?: proj, "aggr"?: aggr | "group"?: group, "union"?: [source, ...],
                  "order"?: [order, ...], "limit"?: int | null, "after"?: {attribute: value} | null}
    source    := {"schema": str, "table": str}      -- a table, by raw name ("session__trial",
                                                       "#species") or class name ("Session.Trial")
               | query                              -- a nested query (no order/limit/after)
                 (in "join", either may add "cross": true, see below)
    condition := {"attribute": str, "operator": op, "value"?: value}
               | {"and": [condition, ...]} | {"or": [condition, ...]} | {"not": condition}
               | {"matching": source}               -- rows with a match in source (semijoin,
                                                       on the attributes both have: at least one);
                                                       {"not": {"matching": ...}} is the antijoin
    op        := "=" | "!=" | "<" | "<=" | ">" | ">=" | "like"      value: a scalar
               | "in" | "not in"                                     value: [scalar, ...]
               | "between"                                           value: [low, high]
               | "is null" | "is not null"                           no value
    proj      := {"keep"?: [attribute, ...], "rename"?: {new name: attribute},
                  "compute"?: {new name: computation}}
    computation := {"attribute": str} | {"value": number}
               | {"function": "+" | "-" | "*" | "/"                  two arguments
                              | "abs" | "floor" | "ceil" | "round"   a number (round: and digits)
                              | "lower" | "upper" | "length"         text
                              | "year" | "month" | "day"             a date or datetime
                              | "concat" | "coalesce",               two or more
                  "args": [computation, ...]}
    aggr      := {"over": source, "compute": {new name: aggregate}, "keep"?: [attribute, ...],
                  "exclude_nonmatching"?: bool}
    group     := {"by"?: [attribute, ...], "compute"?: {new name: aggregate}}
    aggregate := {"function": "count" | "sum" | "avg" | "min" | "max",
                  "attribute"?: str (required except for count: count(*)), "distinct"?: bool}
    order     := {"attribute": str, "descending"?: bool}

The stages of one query apply in this order, as DataJoint operators:
``from * join[0] * join[1] ... & where``, then ``.proj(*keep, **rename)``, then
``.aggr(over, *keep, **compute)`` (one row per row so far, aggregates over its matching rows
of ``over``) or ``U(*by).aggr(..., **compute)`` (one row per distinct ``by``; without
``compute``: the distinct values), then ``+ union[0] + union[1] ...``. To restrict, join or
project *after* an aggregation or a union, nest the query in ``from`` of another.

* Joins are natural joins on the shared attributes, with DataJoint's semantic check: every
  shared attribute must come from the same origin (spec §7), which in practice means along
  foreign keys; rename with ``proj`` to join otherwise. A join item with *no* shared
  attribute is refused (a cross product is rarely meant) unless it says ``"cross": true``;
  ``"cross": true`` on operands that do share attributes is refused as well.
* The primary key is always kept by ``proj``; ``keep`` names secondary attributes only.
  ``compute`` adds attributes computed row by row from a fixed set of functions
  (:class:`~.condition.Computation`; no SQL text): attributes of the heading and JSON
  numbers, e.g. ``{"duration": {"function": "-", "args": [{"attribute": "stop_time"},
  {"attribute": "start_time"}]}}``; arithmetic takes numbers, ``lower``/``upper``/``length``
  text, ``year``/``month``/``day`` dates, ``round``'s second argument is its digits (0-30).
* A union (DataJoint's ``+``, spec §9.6) needs operands with the same primary key and no
  common secondary attribute; rows of either, the other operand's attributes NULL.
* Scalars are JSON strings, numbers and booleans (never null: use ``is null``); they are
  encoded by the attribute's type (dates and datetimes as ISO strings, uuids as text).
  ``like`` takes a string and a text attribute (``%`` and ``_`` are its wildcards). Blob,
  stored and json attributes cannot be compared or ordered by.
* New names (rename targets, computed attributes) match ``[a-z][a-z0-9_]*`` (at most 64
  characters) and are not ``self``, ``group`` or ``exclude_nonmatching``.
* ``order`` is completed by the primary key, so that it is total; ``limit`` (1 to
  :data:`MAX_LIMIT`) is the page size; ``after`` is the ``cursor`` returned with the previous
  page (the ordering attributes' values of its last row): keyset paging, see
  :func:`.paging.page`.
* Limits keep a hostile description small: :data:`MAX_DEPTH`, :data:`MAX_TABLES`,
  :data:`MAX_CONDITIONS`, :data:`MAX_LIST`, :data:`MAX_STRING`; and, checked before
  anything else, JSON nesting (:data:`.structure.MAX_NESTING`, beyond what MAX_DEPTH allows)
  and size (:data:`.structure.MAX_VALUES` JSON values).

Validation has two halves. The structure (keys, types, operators and aggregate functions,
names, the value each operator takes, sizes) is a JSON Schema, :data:`.schema.SCHEMA`
(draft 2020-12), checked by :func:`.structure.check_structure`; what depends on the tables
(attributes, values against their types, new names against the heading, lineage of joins,
the cursor's attributes) and the counts over the whole description are checked in
:mod:`.parse` and :mod:`.checks`. Every canonical description validates against the schema.

Canonical form: what :func:`to_description` gives back. It omits optional keys at their
default (false, empty), writes ``keep`` in heading order and ``rename`` in result-heading
order, names tables by their raw names, and flattens ``{"from": {"from": A, "join": [B]},
"join": [C]}`` into ``{"from": A, "join": [B, C]}``; a canonical description round-trips
exactly. Example (sessions of mice after 2026-02-01 with their trial count, newest first)::

    {"from": {"schema": "lab", "table": "Session"},
     "join": [{"schema": "lab", "table": "Subject"}],
     "where": {"and": [{"attribute": "species", "operator": "=", "value": "mouse"},
                       {"attribute": "session_date", "operator": ">", "value": "2026-02-01"},
                       {"not": {"matching": {"schema": "lab", "table": "Recording"}}}]},
     "proj": {"keep": ["session_date"], "rename": {"animal": "species"}},
     "aggr": {"over": {"schema": "lab", "table": "Session.Trial"},
              "compute": {"trials": {"function": "count", "attribute": "trial_id"}}},
     "order": [{"attribute": "session_date", "descending": true}],
     "limit": 50}

Errors: :class:`~.errors.QueryDescriptionError` with ``path`` (``where.and[2].attribute``)
naming the offending element (a missing or unknown key by its own path: ``from``,
``aggr.compute.n.attribute``), the attribute or operator and what is allowed. Of several
structural errors the one highest up in the description is reported.
"""

from __future__ import annotations

from typing import Any

from .describe import to_description
from .parse import DescribedQuery, Resolver, catalog_resolver, restrict, to_query
from .schema import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_LIMIT,
    MAX_LIST,
    MAX_STRING,
    MAX_TABLES,
)

__all__ = [
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_LIMIT",
    "MAX_LIST",
    "MAX_STRING",
    "MAX_TABLES",
    "DescribedQuery",
    "Resolver",
    "catalog_resolver",
    "restrict",
    "to_description",
    "to_query",
    "validate",
]


def validate(description: Any, connection=None, *, resolve: Resolver | None = None) -> dict:
    """The canonical form of a valid description (see the module docstring).

    Raises:
        QueryDescriptionError: as :func:`to_query`.
    """
    return to_description(to_query(description, connection, resolve=resolve))
