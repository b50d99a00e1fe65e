"""The dependency graph over all tables of a set of schemas (spec §10).

:class:`DependencyGraph` wraps a networkx ``MultiDiGraph`` (composition): nodes are
:class:`~.tableref.TableRef` values with ``tier``, ``database``, ``table_name``, ``master``
and ``primary_key`` attributes; one edge parent -> child per foreign key, keyed by the
child's FK columns, with ``primary``, ``attr_map``, ``aliased``, ``multi``.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from .catalog import catalog_of
from .errors import DataJointError
from .heading import TableInfo
from .sql import introspection
from .tableref import TableRef


def children_of(connection, ref: TableRef) -> list[TableRef]:
    """The tables with foreign keys to ``ref`` (each once, hidden tables left out): those of
    its own database first, then those of other databases, each group ordered by name.

    Read live from the server's own list of foreign keys where it can be
    (:func:`.sql.introspection.referencing_tables`), else from the catalog of ``ref``'s
    database and of the databases referencing it: either way only the direct
    neighbourhood, not the downstream closure a :class:`DependencyGraph` loads.
    """
    found = introspection.referencing_tables(connection, ref.database, ref.table)
    if found is not None:
        refs = [TableRef(database, table) for database, table in found]
    else:
        catalog = catalog_of(connection)
        databases = [ref.database, *introspection.referencing_databases(connection, [ref.database])]
        catalog.load(databases)
        refs = [
            info.ref
            for database in databases
            for info in catalog.tables(database)
            if any(fk.parent == ref for fk in info.foreign_keys)
        ]
    return sorted(set(refs), key=lambda r: (r.database != ref.database, r.database, r.table))


def graph_around(connection, database: str) -> DependencyGraph:
    """The graph of ``database`` and of the databases referencing it directly, with the
    parents of their tables: every parent and child of ``database``'s tables, without
    the whole downstream closure (what a diagram of one schema draws)."""
    referencing = introspection.referencing_databases(connection, [database])
    return DependencyGraph(connection, [database, *referencing], downstream=False)


class DependencyGraph:
    """Tables of ``databases`` and of every database downstream of them, plus the tables
    of other databases that those tables reference directly (their parents).

    Raises:
        DataJointError: the foreign keys form a cycle.
    """

    def __init__(self, connection, databases: Iterable[str], *, downstream: bool = True):
        catalog = catalog_of(connection)
        databases = list(dict.fromkeys(databases))
        if downstream:
            seen = set(databases)
            frontier = list(databases)
            while frontier:
                more = [
                    d
                    for d in introspection.referencing_databases(connection, sorted(seen))
                    if d not in seen
                ]
                seen.update(more)
                frontier = more
            databases = sorted(seen)
        # the parents' databases known from before are checked in the same query
        catalog.load(databases + sorted(catalog.referenced(databases) - set(databases)))
        self._databases = set(databases)
        self._graph = nx.MultiDiGraph()
        own = [t for t in catalog.all_tables() if t.database in self._databases]
        parents = {fk.parent for t in own for fk in t.foreign_keys}
        catalog.load(sorted({p.database for p in parents} - self._databases))
        outside = [t for t in catalog.all_tables() if t.database not in self._databases]
        tables = own + [t for t in outside if t.ref in parents]
        for info in tables:
            self._graph.add_node(
                info.ref,
                tier=info.tier,
                database=info.database,
                table_name=info.table_name,
                master=info.master,
                primary_key=set(info.heading.primary_key),
            )
        for info in tables:
            for fk in info.foreign_keys:
                if fk.parent not in self._graph:
                    continue
                multi = set(fk.columns) != set(info.heading.primary_key)
                self._graph.add_edge(
                    fk.parent,
                    info.ref,
                    key=fk.columns,
                    primary=fk.primary,
                    attr_map=dict(fk.attr_map),
                    aliased=fk.aliased,
                    multi=multi,
                )
        if not nx.is_directed_acyclic_graph(self._graph):
            raise DataJointError("The foreign keys form a cycle")
        self._infos = {t.ref: t for t in tables}

    @property
    def databases(self) -> set[str]:
        """The databases of the graph's tables (its own and its parents')."""
        return {d for _, d in self._graph.nodes(data="database")}

    @property
    def graph(self) -> nx.MultiDiGraph:
        """A copy of the underlying graph."""
        return self._graph.copy()

    def table(self, ref: TableRef | str) -> TableInfo:
        """The introspected table of a node (a TableRef or its full name).

        Raises:
            KeyError: not a table of the graph.
        """
        return self._infos[TableRef.parse(ref)]

    def nodes_of(self, database: str) -> list[TableRef]:
        """The tables of one database."""
        return [n for n, d in self._graph.nodes(data=True) if d["database"] == database]

    def parents(self, ref: TableRef | str) -> list[TableRef]:
        """The tables ``ref`` has foreign keys to (each once)."""
        return list(dict.fromkeys(self._graph.predecessors(TableRef.parse(ref))))

    def children(self, ref: TableRef | str) -> list[TableRef]:
        """The tables with foreign keys to ``ref`` (each once)."""
        return list(dict.fromkeys(self._graph.successors(TableRef.parse(ref))))

    def descendants(self, ref: TableRef | str) -> list[TableRef]:
        """All tables downstream, in topological order."""
        down = nx.descendants(self._graph, TableRef.parse(ref))
        return [n for n in self.topological_order() if n in down]

    def topological_order(self) -> list[TableRef]:
        """Tables in dependency order (parents before children), ties broken by full name."""
        return list(nx.lexicographical_topological_sort(self._graph))

    def subgraph(self, databases: Iterable[str]) -> nx.MultiDiGraph:
        """Copy of the graph restricted to tables of the given databases."""
        keep = set(databases)
        return self._graph.subgraph(
            [n for n, d in self._graph.nodes(data=True) if d["database"] in keep]
        ).copy()
