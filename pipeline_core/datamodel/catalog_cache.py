"""Introspection shared across connections: immutable per-database snapshots and the
process-wide, thread-safe :class:`SharedCatalog` that keeps them.

A :class:`SchemaSnapshot` is everything introspection read of one database. It carries the
database's :class:`Fingerprint` as observed *before* it was read, so a change made while it
was being read shows as a different fingerprint next time. A :class:`~.catalog.Catalog`
given a ``SharedCatalog`` checks each database's fingerprint (one query for all the
databases it needs, :func:`.sql.introspection.fingerprints`) at most once between two
``revalidate()`` calls, and takes the shared snapshot while the fingerprint is unchanged.

What the fingerprint sees (checked on MariaDB 10.11): every table's name and
``CREATE_TIME``, which is the time of the table's last DDL: ``CREATE``, every ``ALTER``
(a column's or the table's comment, a column added, renamed or given a default, a
foreign key or an index added or dropped) and ``RENAME`` set it, DML does not; the number of
tables (a ``DROP``); the table comments; and the ``UPDATE_TIME`` of ``~lineage``, whose rows
change only with declarations. Times have one-second resolution, so an observation is
*settled* only when every time in it is more than a second older than the server's clock
at that moment: a snapshot read from an unsettled observation is never shared nor trusted
again (two DDL statements on one table within one second would otherwise look like one).
On MySQL 8, whose data dictionary may keep ``CREATE_TIME`` across in-place ``ALTER``\\ s
and caches it, the fingerprint also sums a checksum of every column's name, type, default,
nullability, key and comment, and the statistics cache is off for LabBook's connection
(written for MySQL 8 but not run against it: no MySQL server where this was built).

No module-level state: whoever serves many threads (the services) creates one
``SharedCatalog`` and gives it to each connection's catalog.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping

from .heading import TableInfo
from .tableref import TableRef


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """One observation of a database's DDL state.

    Attributes:
        value: a tuple that changes whenever a table of the database is declared, altered,
            renamed or dropped (see the module docstring); equal values mean no DDL.
        settled: every time in ``value`` was more than a second older than the server's
            clock when it was observed (only then can equality be trusted later).
    """

    value: tuple
    settled: bool


@dataclasses.dataclass(frozen=True)
class SchemaSnapshot:
    """Everything introspection read of one database; immutable, shared between threads.

    Attributes:
        database: its name.
        tables: TableRef -> TableInfo of every table read (hidden ``~`` tables included
            only by name, in ``hidden``).
        visible: the visible tables ordered by name.
        hidden: names of the hidden (``~``) tables.
        upstream: the other databases whose tables' declared types these TableInfos took
            (foreign-key attributes inherit their parent's, spec §2.1): when one of them
            is read again (its fingerprint changed), this snapshot is dropped, to be read
            again on next use. A request does not check them itself: a parent's declared
            type cannot change while a foreign key references it, short of editing the
            parent column's comment by hand.
        fingerprint: the observation made before it was read; None when it was read
            without one (a catalog without a shared cache).
    """

    database: str
    tables: Mapping[TableRef, TableInfo]
    visible: tuple[TableInfo, ...]
    hidden: tuple[str, ...]
    upstream: frozenset[str]
    fingerprint: Fingerprint | None = None

    def trusted(self, observed: Fingerprint) -> bool:
        """True if the snapshot still describes the database observed as ``observed``."""
        return (
            self.fingerprint is not None
            and self.fingerprint.settled
            and self.fingerprint.value == observed.value
        )


class SharedCatalog:
    """Process-wide cache of :class:`SchemaSnapshot` keyed by server and database.

    Thread-safe: snapshots are immutable and every method holds one lock briefly. The
    server key is ``(host, port, user)`` (another account may see other tables).
    A per-database generation counts explicit invalidations, so a snapshot read before an
    invalidation (by another thread) is not stored after it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[tuple, SchemaSnapshot] = {}
        self._generations: dict[tuple, int] = {}

    @staticmethod
    def server_of(conn) -> tuple:
        """The key of the server (and account) a connection reads."""
        return (conn.host, conn.port, conn.user)

    def get(self, server: tuple, database: str) -> SchemaSnapshot | None:
        """The stored snapshot of ``database``, or None."""
        with self._lock:
            return self._snapshots.get((server, database))

    def generations(self, server: tuple, databases: Iterable[str]) -> dict[str, tuple]:
        """Database -> its current generation (read before observing its fingerprint)."""
        with self._lock:
            return {d: self._generation(server, d) for d in databases}

    def _generation(self, server: tuple, database: str) -> tuple[int, int]:
        return (
            self._generations.get((server, None), 0),
            self._generations.get((server, database), 0),
        )

    def put(self, server: tuple, snapshot: SchemaSnapshot, generation: tuple) -> bool:
        """Store ``snapshot`` unless its database was invalidated since ``generation``
        was read, its fingerprint is not settled or it has no tables at all (nothing to
        save, and names from URLs must not fill the cache); True if stored."""
        if snapshot.fingerprint is None or not snapshot.fingerprint.settled:
            return False
        if not snapshot.tables and not snapshot.hidden:
            return False
        with self._lock:
            if self._generation(server, snapshot.database) != generation:
                return False
            self._snapshots[(server, snapshot.database)] = snapshot
            return True

    def forget(self, server: tuple, database: str | None = None) -> None:
        """Drop ``database``'s snapshot and those built on it (their ``upstream``), or
        every snapshot of the server when ``database`` is None."""
        with self._lock:
            if database is None:
                doomed = {d for (s, d) in self._snapshots if s == server}
                self._generations[(server, None)] = self._generations.get((server, None), 0) + 1
            else:
                doomed = {database}
                grew = True
                while grew:
                    more = {
                        d
                        for (s, d), snap in self._snapshots.items()
                        if s == server and d not in doomed and snap.upstream & doomed
                    }
                    doomed |= more
                    grew = bool(more)
            for name in doomed:
                self._snapshots.pop((server, name), None)
                self._generations[(server, name)] = self._generations.get((server, name), 0) + 1

    def forget_dependents(self, server: tuple, databases: Iterable[str]) -> None:
        """Drop the snapshots built on ``databases`` (their ``upstream``, transitively),
        which are being read again; not those of ``databases`` themselves."""
        with self._lock:
            changed = set(databases)
            doomed: set[str] = set()
            grew = True
            while grew:
                more = {
                    d
                    for (s, d), snap in self._snapshots.items()
                    if s == server
                    and d not in doomed
                    and d not in changed
                    and snap.upstream & (changed | doomed)
                }
                doomed |= more
                grew = bool(more)
            for name in doomed:
                self._snapshots.pop((server, name), None)
                self._generations[(server, name)] = self._generations.get((server, name), 0) + 1

    def databases(self, server: tuple) -> list[str]:
        """Names of the databases with a stored snapshot (for tests and reports)."""
        with self._lock:
            return sorted(d for (s, d) in self._snapshots if s == server)
