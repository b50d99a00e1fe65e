"""Reading stored values: 2.x column JSON (spec §5.2–5.5) and 0.14 external references
through ``~external_<store>`` (spec §11).

Every read of a hash-addressed object re-checks its hash (``Hash mismatch`` on
corruption); files and folders come back as lazy references.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..codecs import blob
from .addressing import content_hash, legacy_path
from .config import StoreConfig, StoreError
from .refs import Attachment, BlobRef, NpyRef, ObjectRef


@dataclasses.dataclass
class ReadContext:
    """How to decode stored values of one fetch.

    Attributes:
        stores: the configured stores.
        download_path: folder receiving attachments, objects and filepaths; None keeps
            them as :class:`Attachment` / :class:`ObjectRef` values.
        lazy: return :class:`BlobRef` for ``<blob@s>`` (and ``<hash@s>``) values instead of
            reading them; attachments are then read on first access.
        external_rows: ``(database, store) -> {hash UUID: ~external row dict}`` for 0.14
            references, filled by the fetch before decoding (see :func:`legacy_needs`).
    """

    stores: StoreConfig
    download_path: Path | None = None
    lazy: bool = False
    external_rows: dict = dataclasses.field(default_factory=dict)


def split_attachment(data: bytes) -> Attachment:
    """``filename\\0contents`` -> :class:`Attachment` (spec §2.4).

    Raises:
        StoreError: no ``\\0`` separator, or a file name that is not UTF-8.
    """
    return Attachment(*attachment_parts(data))


def attachment_parts(data: bytes) -> tuple[str, bytes]:
    """``filename\0contents`` -> ``(filename, contents)``; see :func:`split_attachment`."""
    separator = data.find(b"\0")
    if separator < 0:
        raise StoreError("corrupt attachment: no file name separator")
    try:
        name = data[:separator].decode()
    except UnicodeDecodeError:
        raise StoreError("corrupt attachment: the file name is not UTF-8") from None
    return name, bytes(data[separator + 1 :])


def deliver_attachment(attachment: Attachment, context: ReadContext) -> Any:
    """The fetched form of an attachment: saved into ``download_path`` (returning the local
    path as a string, as DataJoint does, spec §5.5) or the :class:`Attachment` itself."""
    if context.download_path is None:
        return attachment
    return str(attachment.save(context.download_path))


def _verified(data: bytes, expected: str, path: str) -> bytes:
    actual = content_hash(data)
    if actual != expected:
        raise StoreError(
            f"Hash mismatch: expected {expected}, got {actual}; the object at {path} "
            "may be corrupted"
        )
    return data


class _Backend:
    """A store's backend, looked up on first use: references can be made (and shown)
    without the store being reachable or even configured; reading them raises then."""

    def __init__(self, stores: StoreConfig, name: str | None, filepath: bool):
        self._args, self._backend = (stores, name, filepath), None

    def __getattr__(self, attribute: str):
        if self._backend is None:
            stores, name, filepath = self._args
            self._backend = stores.backend(name, filepath=filepath)
        return getattr(self._backend, attribute)


def decode_stored(codec: str, store: str | None, raw: Any, context: ReadContext) -> Any:
    """Decode the column JSON of a 2.x ``<codec@store>`` attribute (spec §5).

    Returns: ``blob`` the unpacked value (:class:`BlobRef` when lazy); ``attach`` an
    :class:`Attachment` or a downloaded path; ``hash`` bytes (:class:`BlobRef` when lazy);
    ``object``/``filepath`` an :class:`ObjectRef` (a downloaded path with
    ``download_path``); ``npy`` an :class:`NpyRef`.

    Raises:
        StoreError: the store is not configured, the object is missing or corrupt, or the
            column holds something that is not store metadata.
    """
    try:
        metadata = json.loads(raw) if isinstance(raw, (str, bytes, bytearray)) else dict(raw)
        path = metadata["path"]
        if codec in ("blob", "hash", "attach"):
            metadata["hash"]
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(
            f"<{codec}@{store or ''}> value is not store metadata "
            f"({type(exc).__name__}: {exc}): {str(raw)[:80]!r}"
        ) from None
    backend = _Backend(context.stores, metadata.get("store") or store, codec == "filepath")
    if codec in ("blob", "hash", "attach"):

        def read() -> bytes:
            return _verified(backend.get(path), metadata["hash"], path)

        if codec == "attach":
            if context.lazy and context.download_path is None:
                return Attachment(
                    size=metadata.get("size"), loader=lambda: attachment_parts(read())
                )
            return deliver_attachment(split_attachment(read()), context)
        loader: Callable[[], Any] = (lambda: blob.unpack(read())) if codec == "blob" else read
        return BlobRef(metadata, loader) if context.lazy else loader()
    if codec == "npy":
        return NpyRef(metadata, backend)
    if codec in ("object", "filepath"):
        ref = ObjectRef(metadata, backend)
        return str(ref.download(context.download_path)) if context.download_path else ref
    raise StoreError(f"unknown stored codec <{codec}@{store}>")


# --- DataJoint 0.14 external references (spec §11) ----------------------------------------
def legacy_needs(heading, rows) -> dict[tuple[str, str], set[uuid.UUID]]:
    """``(database, store) -> hashes`` of the 0.14 attachment and filepath references in
    ``rows`` (dicts of raw column values), whose ``~external_<store>`` rows are needed."""
    needs: dict[tuple[str, str], set[uuid.UUID]] = {}
    attributes = [a for a in heading if a.is_legacy_reference and a.codec in ("attach", "filepath")]
    for row in rows:
        for attr in attributes:
            raw = row.get(attr.name)
            if raw is not None:
                needs.setdefault((attr.database, attr.store), set()).add(
                    uuid.UUID(bytes=bytes(raw))
                )
    return needs


def decode_legacy(attr, digest: uuid.UUID, context: ReadContext) -> Any:
    """Read the value a 0.14 ``binary(16)`` reference points to (spec §11).

    ``blob@s`` -> the unpacked value (MD5 re-checked; a :class:`BlobRef` when lazy);
    ``attach@s`` -> an Attachment (read on first access when lazy) or downloaded path;
    ``filepath@s`` -> an :class:`ObjectRef` on the file (or downloaded path).

    Raises:
        StoreError: store not configured, ``~external_<store>`` has no row for the hash,
            the object is missing, or its contents do not match the hash (when lazy: on load).
    """
    backend = _Backend(context.stores, attr.store, False)

    def read(name: str | None = None) -> tuple[str, bytes]:
        path = legacy_path(attr.database, digest, context.stores.spec(attr.store), name)
        data = backend.get(path)
        _check_md5(name.encode() + b"\0" + data if name else data, digest, path)
        return path, data

    if attr.codec == "blob":

        def load() -> Any:
            return blob.unpack(read()[1])

        return BlobRef({"path": None, "store": attr.store}, load) if context.lazy else load()
    row = context.external_rows.get((attr.database, attr.store), {}).get(digest)
    if row is None:
        raise StoreError(
            f"`{attr.database}`.`~external_{attr.store}` has no entry {digest.hex} "
            f"(referenced by `{attr.name}`)"
        )
    if attr.codec == "attach":
        name = row["attachment_name"]
        attachment = Attachment(name=name, size=row["size"], loader=lambda: (name, read(name)[1]))
        if not context.lazy:
            attachment.contents  # read now: errors belong to the fetch
        return deliver_attachment(attachment, context)
    ref = ObjectRef(
        {"path": row["filepath"], "store": attr.store, "size": row["size"], "is_dir": False},
        backend,
    )
    return str(ref.download(context.download_path)) if context.download_path else ref


def _check_md5(data: bytes, digest: uuid.UUID, path: str) -> None:
    if hashlib.md5(data).digest() != digest.bytes:
        raise StoreError(
            f"Hash mismatch: the object at {path} does not match its hash {digest.hex}"
        )
