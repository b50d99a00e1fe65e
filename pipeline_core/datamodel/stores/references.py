"""Which stored objects rows reference (spec §5): for cleaning up after a failed write
and for garbage collection."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ..catalog import catalog_of
from ..sql import stores as sql
from ..tableref import TableRef
from .config import StoreError
from .uploads import Upload

#: Codec -> addressing of its objects (spec §5.2–5.4); filepath objects are never written.
ADDRESSING = {
    "blob": "hash",
    "attach": "hash",
    "hash": "hash",
    "object": "schema",
    "npy": "schema",
    "filepath": "filepath",
}


def stored_columns(conn, database: str, store: str) -> Iterator[tuple[str, str, str]]:
    """``(table name, column, addressing)`` of the 2.x columns of ``database`` whose
    declared store is ``store`` (``<codec@>`` columns count for the default store)."""
    for info in catalog_of(conn).tables(database):
        for attr in info.heading:
            if attr.store is None or attr.is_legacy_reference or attr.codec not in ADDRESSING:
                continue
            if _resolved(conn, attr) == store:
                yield info.table_name, attr.name, ADDRESSING[attr.codec]


#: Paths per ``IN (...)`` list of :func:`referenced_uploads`.
_CHUNK = 1000


def referenced_uploads(conn, uploads: list[Upload]) -> set[Upload]:
    """The uploads whose path a committed row of their database names in a column of the
    same store and addressing: one scan of each such column per database and store (not
    one per upload)."""
    groups: dict[tuple[str, str, str], list[Upload]] = {}
    for upload in uploads:
        groups.setdefault((upload.database, upload.store, upload.addressing), []).append(upload)
    found: set[Upload] = set()
    for (database, store, addressing), members in groups.items():
        by_path = {u.path: u for u in members}
        paths = list(by_path)
        for table, column, column_addressing in stored_columns(conn, database, store):
            if column_addressing != addressing:
                continue
            for start in range(0, len(paths), _CHUNK):
                chunk = paths[start : start + _CHUNK]
                cursor = conn.query(
                    sql.referenced_paths_among(database, table, column, len(chunk)), chunk
                )
                found.update(by_path[path] for (path,) in cursor if path in by_path)
    return found


def referenced_paths(conn, databases: Iterable[str], store: str) -> set[str]:
    """Every object path the rows of ``databases`` reference in ``store`` (hash- and
    schema-addressed), read from the column JSON of *every* stored column: a value belongs
    to the store its JSON names (``"store"``), else to the column's resolved store, so
    values written before the ``default`` store changed still count.

    Raises:
        StoreError: a column holds text that is not JSON metadata, or a column has a codec
            LabBook does not know (nothing may be deleted on a partial picture).
    """
    paths: set[str] = set()
    for database in databases:
        for info in catalog_of(conn).tables(database):
            for attr in info.heading:
                if attr.store is None or attr.is_legacy_reference or attr.codec == "filepath":
                    continue
                if attr.codec not in ADDRESSING:
                    raise StoreError(
                        f"{info.ref}.`{attr.name}` has the codec "
                        f"<{attr.codec}@{attr.store}>, unknown to LabBook: its objects "
                        "cannot be told apart, so nothing is collected"
                    )
                own = _resolved(conn, attr)
                paths.update(_column_paths(conn, info.ref, attr.name, store, own))
    return paths


def _resolved(conn, attr) -> str:
    try:
        return conn.stores.resolve(attr.store, filepath=attr.codec == "filepath")
    except StoreError:
        return attr.store


def _column_paths(
    conn, table: TableRef, column: str, store: str, column_store: str
) -> Iterator[str]:
    cursor = conn.query(sql.select_column_json(table.database, table.table, column))
    for (raw,) in cursor:
        try:
            metadata = json.loads(raw)
            path = metadata["path"]
        except (ValueError, TypeError, KeyError):
            raise StoreError(
                f"{table}.`{column}` holds a value that is not store metadata: {str(raw)[:80]!r}"
            ) from None
        if (metadata.get("store") or column_store) == store:
            yield path
