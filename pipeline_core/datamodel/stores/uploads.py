"""Objects written for rows that may not be committed: removed again when the write fails.

DataJoint uploads an object before inserting the row that references it and leaves the
object behind when the insert fails (spec §5.1). LabBook records every object an insert
*creates* in an :class:`UploadLog`; when the insert (or the caller's transaction) does not
commit, :meth:`UploadLog.discard` deletes each of them that no committed row references.

Schema-addressed objects have a fresh random token, so nothing else can reference them.
A hash-addressed object may also be wanted by a concurrent writer of the same bytes into
the same database, which found it present and skipped its upload; before deleting one,
the log asks the database whether a committed row references its path. A concurrent
writer that has not committed yet is invisible to that check, so in that narrow race
(identical bytes, same database, two writers within milliseconds, one of them failing)
the other writer's row can end up naming a deleted object; a fetch of that row then
raises :class:`~.config.StoreError` naming the path. DataJoint's garbage collector has
the same window.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Upload:
    """One object written by an insert: store name, store-relative path, addressing
    (``"hash"`` or ``"schema"``), and the database whose rows would reference it."""

    store: str
    path: str
    addressing: str
    database: str


class UploadLog:
    """The objects created while encoding the rows of one write.

    Args:
        stores: the :class:`~.config.StoreConfig` the objects were written to.
        referenced: ``(uploads) -> set of those uploads`` that a committed row references
            (asked once per discard, for the hash-addressed objects only).
    """

    def __init__(self, stores, referenced: Callable[[list[Upload]], set[Upload]]):
        self.stores = stores
        self.referenced = referenced
        self.created: list[Upload] = []

    def record(self, upload: Upload) -> None:
        """Note an object this write created."""
        self.created.append(upload)

    def discard(self) -> list[Upload]:
        """Delete the recorded objects that nothing references; returns those deleted.

        Errors while deleting are logged, not raised: the write's own error is the one
        the caller must see, and ``pipeline gc`` finds what could not be deleted.
        """
        deleted = []
        hashed = [u for u in self.created if u.addressing == "hash"]
        try:
            keep = self.referenced(hashed) if hashed else set()
        except Exception:
            logger.exception(
                "could not check references of %d objects after a failed write", len(hashed)
            )
            keep = set(hashed)
        for upload in reversed(self.created):
            try:
                if upload in keep:
                    continue
                self.stores.backend(upload.store).delete(upload.path)
                if upload.addressing == "schema":
                    self.stores.backend(upload.store).delete(f"{upload.path}.manifest.json")
                deleted.append(upload)
            except Exception:
                logger.exception(
                    "could not remove %s:%s after a failed write", upload.store, upload.path
                )
        self.created = []
        return deleted
