"""Dropping tables and schemas (spec §8.3 ``drop()``): dependants are refused unless the
caller asks to cascade, and the error says what would go. A part is dropped only with its
master. Each dropped table's ``~lineage`` rows and, for auto-populated tables, its jobs
table ``~~<name>`` go with it (DataJoint leaves the jobs table behind, spec §1.4)."""

from __future__ import annotations

from .catalog import catalog_of
from .dependencies import DependencyGraph
from .errors import DataJointError, TransactionError
from .names import jobs_table_name, tier_of
from .sql import ddl
from .tableref import TableRef


def tables_to_drop(conn, database: str, table_name: str) -> list[TableRef]:
    """The table, its parts and everything downstream of them (across databases), leaves
    first: the order in which they can be dropped."""
    full = TableRef(database, table_name)
    graph = DependencyGraph(conn, [database])
    order = graph.topological_order()
    parts = [n for n in order if n.master == full]
    doomed = {full, *parts}
    doomed |= {d for node in doomed for d in graph.descendants(node)}
    return [n for n in reversed(order) if n in doomed]


def drop_table(conn, database: str, table_name: str, *, cascade: bool = False) -> list[str]:
    """Drop a table with its parts; with ``cascade`` also every dependant.

    Returns:
        the full names dropped, in the order dropped.
    Raises:
        DataJointError: dependants exist and ``cascade`` is False (naming them), or the
            table is a part (drop its master instead).
        TransactionError: inside a transaction (DDL would commit it).
    """
    full = TableRef(database, table_name)
    if conn.in_transaction:
        raise TransactionError(f"Cannot drop {full} inside a transaction", table=full)
    if full.master is not None:
        raise DataJointError(
            f"Cannot drop part table {full} on its own: drop its master {full.master} instead",
            table=full,
        )
    doomed = tables_to_drop(conn, database, table_name)
    own = {full} | {t.ref for t in catalog_of(conn).tables(database) if t.ref.master == full}
    others = [n for n in doomed if n not in own]
    if others and not cascade:
        raise DataJointError(
            f"Cannot drop {full}: {len(others)} dependent table(s) would be dropped with it: "
            f"{', '.join(map(str, others))}. Use drop(cascade=True) to drop them all",
            table=full,
        )
    for ref in doomed:
        _drop_one(conn, ref)
    return [str(ref) for ref in doomed]


def _drop_one(conn, ref: TableRef) -> None:
    database, table_name = ref.database, ref.table
    conn.query(ddl.drop_table(database, table_name), table=ref)
    catalog = catalog_of(conn)
    hidden = catalog.hidden_tables(database)
    if "~lineage" in hidden:
        conn.query(ddl.delete_lineage(database), [table_name])
    jobs = jobs_table_name(table_name)
    if tier_of(table_name) in ("Computed", "Imported") and jobs in hidden:
        conn.query(ddl.drop_table(database, jobs))
        if "~lineage" in hidden:
            conn.query(ddl.delete_lineage(database), [jobs])
    catalog.invalidate(database)


def drop_schema(conn, database: str, *, cascade: bool = False) -> list[str]:
    """Drop a whole database; with ``cascade`` first drop the tables of other databases
    that depend on it.

    Returns:
        full names of the tables of other databases dropped first.
    Raises:
        DataJointError: tables of other databases depend on it and ``cascade`` is False.
    """
    if conn.in_transaction:
        raise TransactionError(f"Cannot drop schema `{database}` inside a transaction")
    graph = DependencyGraph(conn, [database])
    order = graph.topological_order()
    inside = {n for n in order if n.database == database}
    outside = {d for n in inside for d in graph.descendants(n)} - inside
    outside_order = [n for n in reversed(order) if n in outside]
    if outside_order and not cascade:
        raise DataJointError(
            f"Cannot drop schema `{database}`: {len(outside_order)} table(s) of other schemas "
            f"depend on it: {', '.join(map(str, outside_order))}. Use drop(cascade=True) to drop "
            "them too"
        )
    for ref in outside_order:
        _drop_one(conn, ref)
    conn.query(ddl.drop_database(database))
    catalog_of(conn).invalidate()
    return [str(ref) for ref in outside_order]
