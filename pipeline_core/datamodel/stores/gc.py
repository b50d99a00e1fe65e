"""Garbage collection of a store: objects no row references (spec §5.1).

Only the store's managed sections are examined — ``{hash_prefix}/{database}/…`` and
``{schema_prefix}/[{partition}/]{database}/…`` — and only for the databases given
(default: every database the connection can see). Objects of other databases (another
server sharing the bucket, a dropped schema) are counted as *outside* and never deleted.
``<filepath@>`` files and 0.14 ``~external`` objects are never touched.

Objects younger than ``min_age`` are left alone too: an insert or a ``make()`` still in its
transaction has uploaded objects that no committed row names yet.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterable

from .config import StoreError
from .references import referenced_paths

_PARTITION = re.compile(r"\w+=.*")


@dataclasses.dataclass
class GcReport:
    """What :func:`collect` found (and deleted unless ``dry_run``).

    Attributes:
        store: the store examined; databases: the databases whose rows were read.
        referenced: number of distinct object paths the rows reference.
        stored: number of objects found in the managed sections of those databases.
        orphans: ``[(path, size in bytes)]`` of the objects nothing references, sorted.
        outside: objects of databases not examined (left alone).
        recent: unreferenced objects younger than ``min_age`` (left alone).
        deleted: objects deleted (0 with ``dry_run``).
    """

    store: str
    databases: list[str]
    referenced: int = 0
    stored: int = 0
    orphans: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    outside: int = 0
    recent: int = 0
    deleted: int = 0
    dry_run: bool = True

    @property
    def orphan_bytes(self) -> int:
        """Total size in bytes of the orphans."""
        return sum(size for _, size in self.orphans)


def _database_of(path: str, prefix: str) -> str | None:
    """The database segment of a managed path (after the prefix and partition segments)."""
    parts = path.split("/")
    prefix_parts = [p for p in prefix.strip("/").split("/") if p]
    if parts[: len(prefix_parts)] != prefix_parts:
        return None
    rest = parts[len(prefix_parts) :]
    while len(rest) > 2 and _PARTITION.fullmatch(rest[0]):
        rest = rest[1:]
    return rest[0] if len(rest) > 1 else None


def _covered(path: str, referenced: set[str]) -> bool:
    """A schema-addressed file is in use when its path, a folder above it, or (for a
    ``.manifest.json``) the folder it describes is referenced."""
    if path.endswith(".manifest.json"):
        path = path[: -len(".manifest.json")]
    while path:
        if path in referenced:
            return True
        path = path.rpartition("/")[0]
    return False


#: Default ``min_age`` of :func:`collect`, in seconds (a day: longer than any transaction).
MIN_AGE = 86400.0


def collect(
    conn,
    store: str,
    databases: Iterable[str] | None = None,
    *,
    dry_run: bool = True,
    min_age: float = MIN_AGE,
) -> GcReport:
    """Find (and unless ``dry_run`` delete) the objects of ``store`` no row references.

    Args:
        conn: a connection whose ``stores`` configure ``store``.
        databases: databases whose rows and objects to examine (default: all visible).
        dry_run: only report.
        min_age: seconds; unreferenced objects modified more recently are counted as
            ``recent`` and kept (they may belong to a transaction still running).

    Raises:
        StoreError: the store is not configured or cannot be listed, a prefix is empty,
            or a column holds something that is not store metadata (then nothing is deleted).
    """
    from ..virtual import list_schemas

    spec = conn.stores.spec(store)
    if not spec.hash_prefix.strip("/") or not spec.schema_prefix.strip("/"):
        raise StoreError(
            f"store {spec.name}: garbage collection needs non-empty hash_prefix and "
            "schema_prefix (with an empty one the sections cannot be told apart)"
        )
    backend = conn.stores.backend(store)
    examined = sorted(databases) if databases is not None else list_schemas(conn)
    report = GcReport(store=spec.name, databases=examined, dry_run=dry_run)
    referenced = referenced_paths(conn, examined, spec.name)
    report.referenced = len(referenced)
    wanted = set(examined)
    cutoff = time.time() - min_age
    for prefix, addressing in ((spec.hash_prefix, "hash"), (spec.schema_prefix, "schema")):
        section = prefix.strip("/")
        for path, size, modified in backend.walk_stat(section):
            database = _database_of(path, section)
            if database is None or database not in wanted:
                report.outside += 1
                continue
            report.stored += 1
            in_use = path in referenced if addressing == "hash" else _covered(path, referenced)
            if in_use:
                continue
            if modified > cutoff:
                report.recent += 1
            else:
                report.orphans.append((path, size))
    report.orphans.sort()
    if not dry_run:
        for path, _size in report.orphans:
            if backend.delete(path):
                report.deleted += 1
    return report
