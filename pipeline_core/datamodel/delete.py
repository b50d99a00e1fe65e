"""Cascading delete (spec §8.3) built on the query algebra (spec §9.1) over the dependency
graph (spec §10).

A *cascade* holds, for a restricted seed table and every table downstream of it (across
databases: the graph loads every database that references the seed's, repeatedly), the
restricted query of the rows a delete removes. The restriction is
propagated along each foreign key in topological order: a child gets the semijoin
``parent_restricted.proj(child_column='parent_column', ...)`` (the rows referencing a
deleted parent row through that foreign key; NULL foreign keys reference nothing), and a
child reached by several foreign keys gets the OR of them. The semantic check is not
applied: the foreign key itself says which attributes match (spec §7).

Restrictions are evaluated by the server when each DELETE runs, leaves first (reverse
topological order), so every restriction must only read tables deleted *after* it. The
propagated ones read ancestors only; a seed restricted by ``Top`` or by a query over a table
of the cascade (``(Session & Recording).delete()``) is therefore first materialised to its
primary keys, as are the masters pulled in by ``part_integrity="cascade"`` (spec §8.3).
SQL string restrictions are trusted text and are not inspected: one that reads a table of
the cascade is evaluated when its DELETE runs.

``part_integrity="enforce"`` is checked row by row: a delete is refused when any part row
to delete belongs to a master row that is not deleted. DataJoint 2.3.5 checks per table
(it refuses only when a part loses rows and its master loses none), so it lets through a
delete that removes part rows of *other* masters along with some master rows; LabBook
refuses that one too (a deliberate deviation: such a delete leaves masters incomplete).

Not touched: jobs tables (``~~name``), ``~lineage``, and stored objects of deleted rows
(``manage.py pipeline gc`` collects those; DataJoint does not delete them either).
"""

from __future__ import annotations

import itertools
import re

import networkx as nx

from . import audit, operators
from .catalog import catalog_of
from .condition import AndList, Not, RawSQL
from .dependencies import DependencyGraph
from .errors import DataJointError, IntegrityError
from .expression import QueryExpression, U, table_expression
from .nodes import RestrictNode, TableNode, TopNode, tables_read
from .sql import dml
from .tableref import TableRef

#: The values of ``part_integrity`` (spec §8.3).
PART_INTEGRITY = ("enforce", "ignore", "cascade")

_SAVEPOINT = "labbook_delete"
_FK_CHILD = re.compile(r"fails \(`((?:[^`]|``)+)`\.`((?:[^`]|``)+)`")


class Cascade:
    """The rows a cascading delete of a seed removes, per table (DataJoint's
    ``Diagram.cascade(expr)``). Built by :func:`cascade`.

    Attributes:
        seed: the seed table.
        tables: the seed and every table it cascades to, in topological order (parents
            first, each part right after its master); deletes run in reverse.
        part_integrity: the policy it was built with.
    """

    def __init__(
        self,
        connection,
        seed: TableRef,
        tables: list[TableRef],
        restricted: dict,
        graph: nx.MultiDiGraph,
        part_integrity: str,
    ):
        self._connection = connection
        self.seed = seed
        self.tables = tables
        self._restricted = restricted
        self._graph = graph
        self.part_integrity = part_integrity

    def __getitem__(self, table: TableRef | str) -> QueryExpression:
        """The restricted table of the rows deleted from ``table`` (a TableRef or the full
        name :meth:`counts` uses).

        Raises:
            KeyError: the table is not in the cascade.
        """
        return self._restricted[TableRef.parse(table)]

    def __iter__(self):
        return iter(self.tables)

    def counts(self) -> dict[str, int]:
        """``{full table name: rows to delete}`` for every table of the cascade, zeros
        included, in :attr:`tables` order (DataJoint's ``Diagram.cascade(expr).counts()``)."""
        return {str(ref): len(self._restricted[ref]) for ref in self.tables}

    def check_part_integrity(self) -> None:
        """Refuse part rows whose master rows are not deleted with them (spec §8.3,
        ``part_integrity="enforce"``).

        Raises:
            DataJointError: "Attempt to delete part table `db`.`m__p` before its master
                `db`.`m`. ..." for the first such part.
        """
        for part in self.tables:
            master = _master(part, self._graph)
            if master is None:
                continue
            if _orphans_exist(self._graph, self._restricted, part, master):
                raise DataJointError(
                    f"Attempt to delete part table {part} before its master {master}. Delete "
                    "from the master first, or use part_integrity='ignore' or 'cascade'.",
                    table=part,
                )

    def execute(self) -> dict[str, int]:
        """Run one DELETE per table, leaves first; the caller owns the transaction. With an
        audit trail on the connection, each table's deleted keys are recorded in it
        (:func:`.audit.delete_events`, one batch id for the whole cascade).

        Returns:
            ``{table: rows deleted}`` in deletion order.
        Raises:
            IntegrityError: a table outside the cascade still references a row ("Delete
                blocked by table ... in an unloaded schema" when its database is not
                visible to this connection).
        """
        deleted = {}
        trail = self._connection.audit
        batch = trail.batch_id() if trail is not None else audit.new_batch_id()
        for ref in reversed(self.tables):
            rows = self._restricted[ref]
            # keys read before the DELETE, in its transaction (its ancestors still present)
            events = audit.delete_events(rows, "delete", batch) if trail is not None else []
            # a table without a primary key (made outside DataJoint): rows matched on every
            # column, NULL-safe
            columns = rows.primary_key or rows.heading.names
            keys = None if isinstance(rows.node, TableNode) else (U(*columns) & rows).node
            sql, params = dml.delete_cascade_step(
                ref, keys, columns, null_safe=not rows.primary_key
            )
            try:
                deleted[ref] = self._connection.query(sql, params, table=ref).rowcount
            except IntegrityError as error:
                raise _blocked(error, self._graph) from error
            if trail is not None:
                trail.record(self._connection, audit.deleted(events, deleted[ref]))
        return deleted


def cascade(seed: QueryExpression, part_integrity: str = "enforce") -> Cascade:
    """The :class:`Cascade` of ``seed``: a base table, optionally restricted (spec §8.3).

    Reads the server (introspection; materialised keys) but changes nothing. With
    ``part_integrity="cascade"`` the masters of part rows in the cascade join it with
    everything downstream of them, until no new master row appears.

    Raises:
        ValueError: ``part_integrity`` is not one of :data:`PART_INTEGRITY`.
        DataJointError: ``seed`` is not a restricted base table; the foreign keys form a
            cycle.
    """
    _check_mode(part_integrity)
    seed = _instance(seed)
    conn = seed.connection
    seed_name, conditions, top = _seed_parts(seed)
    catalog_of(conn).revalidate()  # tables declared elsewhere since the last look
    graph = DependencyGraph(conn, [seed_name.database]).graph
    order = _order(graph)
    if top or tables_read(tuple(conditions)) & _reachable(graph, seed_name, part_integrity):
        keys = seed.proj().to_dicts(decode=False)
        first = _literal(seed.primary_key, [[row[k] for k in seed.primary_key] for row in keys])
    else:
        first = AndList(conditions) if conditions else None
    seeds = {seed_name: [first]}
    while True:
        restricted = _propagate(conn, graph, order, seeds)
        if part_integrity != "cascade":
            break
        grew = False
        for part in [n for n in order if n in restricted]:
            master = _master(part, graph)
            if master is None:
                continue
            columns, keys = _missing_masters(conn, graph, restricted, part, master)
            if keys:
                seeds.setdefault(master, []).append(_literal(columns, keys))
                grew = True
        if not grew:
            break
    return Cascade(
        conn, seed_name, [n for n in order if n in restricted], restricted, graph, part_integrity
    )


def preview(seed: QueryExpression, part_integrity: str = "enforce") -> dict[str, int]:
    """Rows a delete of ``seed`` would remove, per table, without deleting: DataJoint's
    ``dj.Diagram.cascade(seed, part_integrity).counts()`` (spec §8.3) — the seed and every
    table downstream, zeros included. Counted in one consistent snapshot (a read-only
    transaction, or the caller's).

    Returns:
        ``{full table name: count}`` in topological order.
    Raises:
        ValueError, DataJointError: as :func:`cascade`.
    """
    seed = _instance(seed)
    conn = seed.connection
    if conn.in_transaction:
        return cascade(seed, part_integrity).counts()
    conn.start_transaction()
    try:
        return cascade(seed, part_integrity).counts()
    finally:
        conn.rollback()


def delete(seed: QueryExpression, part_integrity: str = "enforce", dry_run: bool = False) -> int:
    """Delete the rows of ``seed`` and every row depending on them, across databases
    (spec §8.3), in one transaction: ``START TRANSACTION WITH CONSISTENT SNAPSHOT``, or a
    savepoint inside the caller's transaction. Nothing is kept when anything fails, when
    the seed loses no row, or with ``dry_run`` (which deletes, counts and rolls back).

    Args:
        seed: a base table (a table class instance, ``FreeTable``), optionally restricted.
        part_integrity: ``"enforce"``: refuse deleting part rows whose master rows are not
            deleted too (and refuse a Part class outright, as DataJoint's ``Part.delete``);
            ``"ignore"``: allow it; ``"cascade"``: also delete those masters and everything
            downstream of them.
        dry_run: roll back instead of committing.
    Returns:
        the number of rows of the seed table deleted (or that would be, with ``dry_run``).
    Raises:
        ValueError: bad ``part_integrity``.
        DataJointError: "Cannot delete from a Part directly..."; "Attempt to delete part
            table ... before its master ..."; a seed that is not a restricted base table.
        IntegrityError: "Delete blocked by table ... in an unloaded schema" (a database
            this connection cannot see references the rows).
    """
    _check_mode(part_integrity)
    seed = _instance(seed)
    if part_integrity == "enforce" and getattr(type(seed), "_tier_", None) == "Part":
        raise DataJointError(
            "Cannot delete from a Part directly. Delete from master instead, or use "
            "part_integrity='ignore' to break integrity, or part_integrity='cascade' to also "
            "delete master.",
            table=getattr(seed, "full_table_name", None),
        )
    conn = seed.connection
    nested = conn.in_transaction
    if nested:
        conn.query(dml.savepoint(_SAVEPOINT))
    else:
        conn.start_transaction()
    try:
        plan = cascade(seed, part_integrity)
        if part_integrity == "enforce":
            plan.check_part_integrity()
        count = plan.execute()[plan.seed]
    except BaseException:
        _undo(conn, nested)
        raise
    if dry_run or count == 0:
        _undo(conn, nested)
    elif nested:
        conn.query(dml.release_savepoint(_SAVEPOINT))
    else:
        conn.commit()
    return count


# --- building the cascade ---------------------------------------------------------------------
def _check_mode(part_integrity: str) -> None:
    if part_integrity not in PART_INTEGRITY:
        raise ValueError(
            f"part_integrity must be 'enforce', 'ignore', or 'cascade', got {part_integrity!r}"
        )


def _instance(seed):
    """A table class stands for its (unrestricted) instance."""
    return seed() if isinstance(seed, type) and hasattr(seed, "heading") else seed


def _seed_parts(seed) -> tuple[TableRef, list, bool]:
    """``(table, restriction conditions, has a Top)`` of a restricted base table.

    Raises:
        DataJointError: ``seed`` is another kind of expression.
    """
    node = getattr(seed, "node", None)
    conditions, top = [], False
    while isinstance(node, (RestrictNode, TopNode)):
        if isinstance(node, TopNode):
            top = True
        else:
            conditions.append(node.condition)
        node = node.child
    if not isinstance(node, TableNode):
        raise DataJointError(
            "delete needs a base table, optionally restricted (not a join, "
            "projection, aggregation or union)"
        )
    return node.ref, conditions[::-1], top


def _master(part: TableRef, graph) -> TableRef | None:
    """A part table's master when it is in the graph."""
    master = part.master
    return master if master in graph else None


def _reachable(graph, seed: TableRef, part_integrity: str) -> set[TableRef]:
    """Tables a cascade from ``seed`` may delete from (masters too, in cascade mode)."""
    reach = {seed} | nx.descendants(graph, seed)
    while part_integrity == "cascade":
        masters = {m for m in (_master(n, graph) for n in reach) if m and m not in reach}
        if not masters:
            break
        for master in masters:
            reach |= {master} | nx.descendants(graph, master)
    return reach


def _order(graph) -> list[TableRef]:
    """Topological order, ties by name, each part right after its master (DataJoint's
    ``topo_sort``, spec §10); plain topological order when that arrangement is not one."""
    plain = list(nx.lexicographical_topological_sort(graph))
    masters = {n: _master(n, graph) for n in graph}
    augmented = nx.DiGraph(graph)
    for part, master in masters.items():
        if master is not None:
            for parent in graph.predecessors(part):
                if master not in (parent, masters.get(parent)):
                    augmented.add_edge(parent, master)
    if not nx.is_directed_acyclic_graph(augmented):
        return plain
    base = list(nx.lexicographical_topological_sort(augmented))
    parts: dict[TableRef, list[TableRef]] = {}
    for node in base:
        if masters[node] is not None:
            parts.setdefault(masters[node], []).append(node)
    order: list[TableRef] = []

    def emit(node: TableRef) -> None:
        order.append(node)
        for part in parts.get(node, []):
            emit(part)

    for node in base:
        if masters[node] is None:
            emit(node)
    position = {n: i for i, n in enumerate(order)}
    if len(order) != len(plain) or any(position[u] >= position[v] for u, v in graph.edges()):
        return plain
    return order


def _literal(columns, rows) -> RawSQL:
    """The restriction to literal keys (stored values), materialised (spec §8.3)."""
    sql, params = dml.key_in(list(columns), [list(r) for r in rows])
    return RawSQL(sql, params)


def _propagate(
    conn, graph, order: list[TableRef], seeds: dict[TableRef, list]
) -> dict[TableRef, QueryExpression]:
    """Restricted queries of the seeds' tables and every table downstream: each gets the
    OR of its seed conditions (None: all rows) and of one semijoin per foreign key from a
    restricted parent (spec §8.3)."""
    conditions = {name: list(items) for name, items in seeds.items()}
    restricted = {}
    for node in order:
        items = conditions.get(node)
        if items is None:
            continue
        expr = table_expression(conn, node)
        if all(c is not None for c in items):
            expr = expr.restrict(tuple(items), semantic_check=False)
        restricted[node] = expr
        for _, child, data in graph.out_edges(node, data=True):
            renames = {c: p for c, p in data["attr_map"].items() if c != p}
            conditions.setdefault(child, []).append(_renamed(expr, renames))
    return restricted


def _renamed(expr: QueryExpression, renames: dict[str, str]) -> QueryExpression:
    """``expr.proj(**renames)`` for a foreign key's renames (child column -> parent
    column): the new names are the child's columns, however odd (``x%y``)."""
    return expr._derive(operators.projection(expr._node, (), renames, columns=True))


def _edge(graph, parent: TableRef, child: TableRef) -> dict | None:
    """The child's foreign key to the parent (the non-renamed one when there are several,
    e.g. a part's ``-> master``); None when there is none."""
    edges = list((graph.get_edge_data(parent, child) or {}).values())
    plain = [e for e in edges if not e["aliased"]]
    return (plain or edges or [None])[0]


def _orphans(
    graph, restricted, part: TableRef, master: TableRef
) -> tuple[QueryExpression, dict] | None:
    """The part rows to delete whose master row is not deleted, and the part's foreign key
    to its master; None when the part has no direct foreign key to it."""
    edge = _edge(graph, master, part)
    if edge is None:
        return None
    rows = restricted[part]
    if master in restricted:
        renames = {c: p for c, p in edge["attr_map"].items() if c != p}
        rows = rows.restrict(Not(_renamed(restricted[master], renames)), semantic_check=False)
    return rows, edge


def _orphans_exist(graph, restricted, part: TableRef, master: TableRef) -> bool:
    found = _orphans(graph, restricted, part, master)
    if found is not None:
        return bool(found[0])
    if master in restricted and bool(restricted[master]):
        return False  # no direct foreign key to the master: DataJoint's table-level rule
    return bool(restricted[part])


def _referenced(rows: QueryExpression, edge: dict) -> tuple[list[str], list[list]]:
    """``(parent columns, keys)``: the parent keys ``rows`` reference through ``edge``, read
    now as stored values (rows with a NULL foreign key reference nothing)."""
    child_columns = list(edge["attr_map"])
    values = (U(*child_columns) & rows).to_dicts(decode=False)
    keys = [
        [row[c] for c in child_columns]
        for row in values
        if all(row[c] is not None for c in child_columns)
    ]
    return [edge["attr_map"][c] for c in child_columns], keys


def _missing_masters(
    conn, graph, restricted, part: TableRef, master: TableRef
) -> tuple[list[str], list]:
    """``(master columns, keys)`` of the master rows that part rows to delete belong to but
    that are not deleted yet, materialised now (spec §8.3). A part without a direct foreign
    key to its master is followed up the shortest path of foreign keys, as DataJoint does."""
    found = _orphans(graph, restricted, part, master)
    if found is not None:
        return _referenced(*found)
    try:
        nodes = nx.shortest_path(graph, master, part)
    except nx.NetworkXNoPath:
        return [], []
    rows, columns, keys = restricted[part], [], []
    for parent, child in reversed(list(itertools.pairwise(nodes))):
        columns, keys = _referenced(rows, _edge(graph, parent, child))
        rows = table_expression(conn, parent).restrict(_literal(columns, keys))
    if master in restricted and keys:
        done = {
            tuple(row[c] for c in columns)
            for row in restricted[master].proj().to_dicts(decode=False)
        }
        keys = [k for k in keys if tuple(k) not in done]
    return columns, keys


def _blocked(error: IntegrityError, graph) -> IntegrityError:
    """The error for a DELETE refused by a foreign key outside the cascade (spec §8.3)."""
    match = _FK_CHILD.search(str(error))
    names = [match.group(i).replace("``", "`") for i in (1, 2)] if match else None
    try:
        child = TableRef(*names) if names else None
    except DataJointError:  # a name no DataJoint table has: never in the graph (catalog.py)
        return IntegrityError(
            f"Delete blocked by table {TableRef.label(*names)}, which "
            "references rows being deleted but is not a DataJoint table (its name is not one "
            "LabBook can query). Nothing was deleted.",
            table=TableRef.label(*names),
        )
    if child is None or child not in graph:
        where = child or "(not named by the server)"
        return IntegrityError(
            f"Delete blocked by table {where} in an unloaded schema: it references rows being "
            "deleted, but this connection cannot see it (no privileges on its database?). "
            "Nothing was deleted.",
            table=child,
        )
    return IntegrityError(
        f"Delete blocked by table {child}: rows referencing the deleted ones "
        f"appeared during the delete. Nothing was deleted. ({error})",
        table=child,
    )


def _undo(conn, nested: bool) -> None:
    """Roll back the delete's transaction, or the caller's to the delete's savepoint."""
    try:
        if nested:
            conn.query(dml.rollback_to_savepoint(_SAVEPOINT))
            conn.query(dml.release_savepoint(_SAVEPOINT))
        else:
            conn.rollback()
    except DataJointError:
        pass  # a lost connection: the server has rolled back; the original error says more
