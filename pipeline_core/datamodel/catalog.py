"""The catalog: :class:`TableInfo` for every table of a set of databases, built from four
batched information_schema queries plus ``~lineage`` (spec §14 checklist).

One catalog belongs to one connection (``catalog_of(conn)``) and holds one immutable
:class:`~.catalog_cache.SchemaSnapshot` per database loaded. On its own it reads each
database once and keeps it until :meth:`Catalog.invalidate` (declaration, alter and drop
call it) or :meth:`Catalog.revalidate`. Given a :class:`~.catalog_cache.SharedCatalog`
(the services give every connection the same one), it shares snapshots with the other
connections of the process and checks a database's fingerprint at most once between two
``revalidate()`` calls, so that DDL made elsewhere (DataJoint, another worker) is seen
on the next check: see :mod:`.catalog_cache`. No module-level state.
"""

from __future__ import annotations

import collections
import datetime
import logging
import types
from collections.abc import Iterable

from .catalog_build import RawTables, build_table
from .catalog_cache import Fingerprint, SchemaSnapshot, SharedCatalog
from .errors import DataJointError, MissingTableError
from .heading import TableInfo
from .sql import introspection
from .tableref import TableRef

logger = logging.getLogger(__name__)

#: An observation is settled when its newest time is older than the clock by more than this.
SETTLE = datetime.timedelta(seconds=1)


class Catalog:
    """Introspected tables of the databases loaded so far, keyed by :class:`TableRef`.

    Args:
        conn: the connection it reads with.
        shared: a process-wide cache to share snapshots through (see the module
            docstring), or None.
    """

    def __init__(self, conn, shared: SharedCatalog | None = None):
        self._conn = conn
        self._shared = shared
        self._schemas: dict[str, SchemaSnapshot] = {}
        self._loading: set[str] = set()  # being read now (cross-database cycles stop here)
        self._checked: set[str] = set()  # fingerprint checked since the last revalidate()

    @property
    def shared(self) -> SharedCatalog | None:
        """The process-wide cache this catalog shares snapshots through, or None."""
        return self._shared

    def invalidate(self, database: str | None = None) -> None:
        """Forget one database (or all), here and in the shared cache, so the next access
        reads the server again: call it after DDL on that database."""
        if database is None:
            self._schemas.clear()
            self._checked.clear()
        else:
            self._schemas.pop(database, None)
            self._checked.discard(database)
        if self._shared is not None:
            self._shared.forget(SharedCatalog.server_of(self._conn), database)

    def revalidate(self, database: str | None = None) -> None:
        """Have the next access check one database (or all) against the server again: with
        a shared cache, by its fingerprint (re-read only if it changed); without one, by
        reading it again. Call it where DDL made elsewhere must be seen (a new request)."""
        if self._shared is None:
            self.invalidate(database)
        elif database is None:
            self._checked.clear()
        else:
            self._checked.discard(database)

    def load(self, databases: Iterable[str]) -> None:
        """Introspect the given databases (and, to read them, first the databases they
        reference), in batched queries, unless already loaded (and, with a shared cache,
        checked since the last :meth:`revalidate`)."""
        wanted = [d for d in dict.fromkeys(databases) if d not in self._loading]
        if self._shared is None:
            todo = [d for d in wanted if d not in self._schemas]
            if todo:
                self._read(todo, {})
            return
        todo = [d for d in wanted if d not in self._checked]
        if todo:
            self._validate(todo)

    def table(self, database: str, table_name: str) -> TableInfo:
        """TableInfo of one table, by database and raw table name.

        Raises:
            MissingTableError: no such (visible) table, or a name that no table can have.
        """
        try:
            ref = TableRef(database, table_name)
        except DataJointError:
            raise MissingTableError(
                f"Table {TableRef.label(database, table_name)} does not exist (not a valid name)"
            ) from None
        return self.get(ref)

    def get(self, ref: TableRef) -> TableInfo:
        """TableInfo of the table ``ref``.

        Raises:
            MissingTableError: no such (visible) table.
        """
        self.load([ref.database])
        found = self._find(ref)
        if found is None:
            raise MissingTableError(f"Table {ref} does not exist", table=ref)
        return found

    def tables(self, database: str) -> list[TableInfo]:
        """Visible tables of a database, ordered by name."""
        self.load([database])
        snapshot = self._schemas.get(database)
        return list(snapshot.visible) if snapshot else []

    def named(self, database: str, name: str) -> TableInfo | None:
        """The listed table of ``database`` whose raw name (``__detection``) is ``name``,
        else the one whose class name (``Detection.Blob``) is; None when neither is."""
        tables = self.tables(database)
        found = next((i for i in tables if i.table_name == name), None)  # a raw name first
        return found or next((i for i in tables if i.class_name == name), None)

    def hidden_tables(self, database: str) -> list[str]:
        """Names of the database's hidden (``~``) tables."""
        self.load([database])
        snapshot = self._schemas.get(database)
        return list(snapshot.hidden) if snapshot else []

    def all_tables(self) -> list[TableInfo]:
        """Visible tables of every loaded database."""
        return [t for s in self._schemas.values() for t in s.visible]

    def referenced(self, databases: Iterable[str]) -> set[str]:
        """The databases the foreign keys of ``databases`` referenced when they were last
        read (nothing is checked or read: a guess, to check them all in one query)."""
        found = set()
        for database in databases:
            snapshot = self._schemas.get(database)
            for info in snapshot.visible if snapshot else ():
                found.update(fk.parent.database for fk in info.foreign_keys)
        return found

    def version(self, database: str) -> tuple | None:
        """The fingerprint of the loaded snapshot of ``database`` when it can be trusted
        (observed settled, see :mod:`.catalog_cache`): equal versions mean equal
        introspection. None otherwise (not loaded, no fingerprint, or read too soon after
        a DDL statement)."""
        snapshot = self._schemas.get(database)
        seen = snapshot.fingerprint if snapshot else None
        return seen.value if seen is not None and seen.settled else None

    def origin_type(self, parent: TableRef, column: str) -> str | None:
        """Declared type of a parent column, following foreign keys upward (spec §2.1)."""
        info = self._find(parent)
        if info is None or column not in info.heading:
            return None
        return info.heading[column].type

    def _find(self, ref: TableRef) -> TableInfo | None:
        snapshot = self._schemas.get(ref.database)
        return snapshot.tables.get(ref) if snapshot else None

    # --- with a shared cache ----------------------------------------------------------------

    def _validate(self, todo: list[str]) -> None:
        """Check the fingerprints of ``todo`` (one query), take trusted shared snapshots,
        read the rest again; snapshots that took declared types from a database read
        again are dropped too (here and in the shared cache), to be read on next use."""
        group = set(todo) - self._checked - self._loading
        observed = self._observe(sorted(group))
        self._checked |= group
        stale = set()
        server = SharedCatalog.server_of(self._conn)
        for database in group:
            seen, _ = observed[database]
            local = self._schemas.get(database)
            if local is not None and local.trusted(seen):
                continue
            shared = self._shared.get(server, database)
            if shared is not None and shared.trusted(seen):
                self._schemas[database] = shared
            else:
                stale.add(database)
        if not stale:
            return
        self._shared.forget_dependents(server, stale)
        dropped, grew = set(stale), True
        while grew:
            more = {
                d for d, s in self._schemas.items() if d not in dropped and s.upstream & dropped
            }
            dropped |= more
            grew = bool(more)
        for database in dropped:
            self._schemas.pop(database, None)
        self._checked -= dropped - stale
        self._read(sorted(stale), observed)

    def _observe(self, databases: list[str]) -> dict[str, tuple[Fingerprint, tuple]]:
        """Database -> (its fingerprint now, its generation in the shared cache)."""
        if not databases:
            return {}
        server = SharedCatalog.server_of(self._conn)
        generations = self._shared.generations(server, databases)
        found = introspection.fingerprints(self._conn, databases)
        result = {}
        for database, (value, times) in found.items():
            now, stamps = times[-1], [t for t in times[:-1] if t is not None]
            settled = not stamps or max(stamps) < now - SETTLE
            result[database] = (Fingerprint(value, settled), generations[database])
        return result

    # --- reading ----------------------------------------------------------------------------

    def _read(self, databases: list[str], observed: dict) -> None:
        """Introspect ``databases`` (after the databases they reference) into snapshots;
        with a shared cache, store each one whose observation is settled."""
        self._loading.update(databases)
        try:
            if self._shared is not None:
                observed = {
                    **self._observe([d for d in databases if d not in observed]),
                    **observed,
                }
            self._read_batch(databases, observed)
        finally:
            self._loading.difference_update(databases)

    def _read_batch(self, databases: list[str], observed: dict) -> None:
        conn = self._conn
        table_rows = introspection.tables(conn, databases)
        column_rows = introspection.columns(conn, databases)
        key_rows = introspection.key_columns(conn, databases)
        index_rows = introspection.indexes(conn, databases)
        hidden = collections.defaultdict(list)
        for row in table_rows:
            if row["table_name"].startswith("~"):
                hidden[row["database"]].append(row["table_name"])
        lineages: dict[tuple[str, str, str], str] = {}
        for database in databases:
            if "~lineage" in hidden[database]:
                for table, attr, origin in introspection.lineage(conn, database):
                    lineages[(database, table, attr)] = origin
        raw = RawTables(table_rows, column_rows, key_rows, index_rows)
        for ref, info in raw.tables.items():
            info["foreign_keys"] = raw.foreign_keys(ref)
            info["legacy"] = "~lineage" not in hidden[ref.database]
        if raw.skipped:
            logger.warning(
                "not listed (names no DataJoint table has; they cannot be queried by name): %s",
                ", ".join(raw.skipped),
            )
        referenced = {r["ref_database"] for r in key_rows if r["ref_database"]}
        self.load(sorted(referenced - set(databases)))  # parents' declared types first
        built: dict[TableRef, TableInfo] = {}
        upstream = collections.defaultdict(set)  # the other databases types were taken from

        def origin_type(child: str, parent: TableRef, column: str) -> str | None:
            info = built.get(parent) or self._find(parent)
            if info is None or column not in info.heading:
                return None
            if parent.database != child:
                upstream[child].add(parent.database)
            return info.heading[column].type

        def build(ref: TableRef) -> None:
            if ref in built:
                return
            info = raw.tables[ref]
            for fk in info["foreign_keys"]:
                if fk.parent in raw.tables and fk.parent != ref:
                    build(fk.parent)
            built[ref] = build_table(
                info, lineages, lambda parent, column: origin_type(ref.database, parent, column)
            )

        for ref in raw.tables:
            build(ref)
        per_database = collections.defaultdict(dict)
        for ref, info in built.items():
            per_database[ref.database][ref] = info
        server = SharedCatalog.server_of(self._conn) if self._shared is not None else None
        for database in databases:
            tables = per_database[database]
            seen, generation = observed.get(database, (None, None))
            snapshot = SchemaSnapshot(
                database=database,
                tables=types.MappingProxyType(tables),
                visible=tuple(
                    sorted(
                        (t for t in tables.values() if not t.table_name.startswith("~")),
                        key=lambda t: t.table_name,
                    )
                ),
                hidden=tuple(hidden[database]),
                upstream=frozenset(upstream[database]),
                fingerprint=seen,
            )
            self._schemas[database] = snapshot
            if server is not None:
                self._shared.put(server, snapshot, generation)


def catalog_of(conn) -> Catalog:
    """The connection's catalog, created on first use (without a shared cache; the
    services set ``conn.catalog`` to a catalog sharing theirs)."""
    if conn.catalog is None:
        conn.catalog = Catalog(conn)
    return conn.catalog
