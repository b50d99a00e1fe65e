"""Reading stored values: 2.x column JSON (spec §5.2–5.5) and 0.14 external references
through ``~external_<store>`` (spec §11).

Every read of a hash-addressed object re-checks its hash (``Hash mismatch`` on
corruption); files and folders come back as lazy references. Attachments are saved into a
folder and their local paths returned, as DataJoint 2.3.5 does (spec §5.5), unless the
fetch is lazy (the web's internal reads), which keeps them as :class:`Attachment` values.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..codecs import blob
from ..settings import config
from ..tableref import TableRef
from .addressing import content_hash, legacy_path
from .config import StoreConfig, StoreError
from .refs import Attachment, BlobRef, NpyRef, ObjectRef


@dataclasses.dataclass
class ReadContext:
    """How to decode stored values of one fetch.

    Attributes:
        stores: the configured stores.
        download_path: folder given by the caller, receiving attachments and also
            ``<object@>`` / ``<filepath@>`` values (a LabBook extension: their local paths
            are returned); None: attachments go to ``config["download_path"]`` (see
            :attr:`attachment_folder`), objects and filepaths stay :class:`ObjectRef`.
        lazy: return :class:`BlobRef` for ``<blob@s>`` (and ``<hash@s>``) values instead of
            reading them; without ``download_path``, attachments stay :class:`Attachment`
            values (stored ones read on first access) and nothing is written locally.
        external_rows: ``(database, store) -> {hash UUID: ~external row dict}`` for 0.14
            references, filled by the fetch before decoding (see :func:`legacy_needs`).
    """

    stores: StoreConfig
    download_path: Path | None = None
    lazy: bool = False
    external_rows: dict = dataclasses.field(default_factory=dict)

    @property
    def attachment_folder(self) -> Path | None:
        """The folder fetched attachments are saved into: ``download_path`` if given, else
        None when ``lazy`` (attachments stay :class:`Attachment` values), else the folder
        of ``config["download_path"]`` at fetch time, as DataJoint 2.3.5 reads it (default
        ``"."``, the working directory; ``DJ_DOWNLOAD_PATH``), spec §5.5."""
        if self.download_path is not None:
            return self.download_path
        return None if self.lazy else Path(config["download_path"])


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


def deliver_attachment(attachment: Attachment, context: ReadContext) -> str | Attachment:
    """The fetched form of an attachment (spec §5.5).

    Returns:
        ``str``: the path of the file saved into ``context.attachment_folder`` (created if
        needed), built as DataJoint 2.3.5's ``AttachCodec.decode`` builds it
        (``str(Path(folder) / name)``: relative for the default ``"."``); an existing file
        with the same contents is reused, one with other contents gives ``stem_1.ext``,
        ``stem_2.ext``... Or the :class:`Attachment` itself when the fetch is lazy without
        a ``download_path``.
    Raises:
        StoreError: the stored name is not a file name (empty, ``.``, ``..``), or a lazy
            attachment cannot be read.
        OSError: the file cannot be written.
    """
    folder = context.attachment_folder
    if folder is None:
        return attachment
    return str(attachment.save(folder))


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


def _count(value: Any) -> bool:
    """True for a byte or item count as the JSON holds it (a non-negative integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_fields(codec: str, metadata: dict) -> None:
    """The types of the fields of a column's JSON that are read or shown (spec §5.2–5.4):
    ``path`` (and ``hash``, ``store``) text, ``size``/``item_count`` counts or null, an
    ``<npy@>`` value's ``shape`` a list of counts and ``dtype`` a non-object numpy type.
    Where the path leads is checked by the store when it is read (``StorePathError``).

    Raises:
        TypeError / ValueError: a field of the wrong kind.
    """
    if not isinstance(metadata["path"], str):
        raise TypeError(f"path {metadata['path']!r} is not text")
    for name in ("hash", "store"):
        if metadata.get(name) is not None and not isinstance(metadata[name], str):
            raise TypeError(f"{name} {metadata[name]!r} is not text")
    for name in ("size", "item_count"):
        if metadata.get(name) is not None and not _count(metadata[name]):
            raise TypeError(f"{name} {metadata[name]!r} is not a count")
    if codec == "npy":
        shape = metadata.get("shape")
        if not isinstance(shape, list) or not all(_count(n) for n in shape):
            raise TypeError(f"shape {shape!r} is not a list of counts")
        try:
            dtype = np.dtype(metadata["dtype"]) if isinstance(metadata["dtype"], str) else None
        except Exception:  # numpy's many ways of refusing a type string
            dtype = None
        if dtype is None or dtype.hasobject:
            raise TypeError(f"dtype {metadata['dtype']!r} is not a numpy type")


def decode_stored(codec: str, store: str | None, raw: Any, context: ReadContext) -> Any:
    """Decode the column JSON of a 2.x ``<codec@store>`` attribute (spec §5).

    Returns: ``blob`` the unpacked value (:class:`BlobRef` when lazy); ``attach`` the
    saved file's path as ``str`` (:func:`deliver_attachment`; an :class:`Attachment` read
    on first access when lazy without ``download_path``); ``hash`` bytes (:class:`BlobRef`
    when lazy); ``object``/``filepath`` an :class:`ObjectRef` (a downloaded path, ``str``,
    with ``download_path``); ``npy`` an :class:`NpyRef`.

    Raises:
        StoreError: the store is not configured, the object is missing or corrupt, or the
            column holds something that is not store metadata.
        StorePathError (a StoreError): the ``path`` of the JSON does not stay inside the
            store (absolute, ``..``, a symbolic link to outside a file store's location);
            raised when the object is read (lazy references are made without reading).
    """
    try:
        metadata = json.loads(raw) if isinstance(raw, (str, bytes, bytearray)) else dict(raw)
        path = metadata["path"]
        if codec in ("blob", "hash", "attach"):
            metadata["hash"]
        _check_fields(codec, metadata)
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
            if context.attachment_folder is None:
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
    ``attach@s`` -> the saved file's path (``str``, :func:`deliver_attachment`), or an
    :class:`Attachment` read on first access when lazy without ``download_path``;
    ``filepath@s`` -> an :class:`ObjectRef` on the file (or downloaded path).

    Raises:
        StoreError: store not configured, ``~external_<store>`` has no row for the hash,
            the object is missing, or its contents do not match the hash (when lazy: on load).
        StorePathError (a StoreError): the ``filepath`` or attachment name of the
            ``~external`` row leads outside the store (``..``, absolute, a link out).
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
            f"{TableRef(attr.database, '~external_' + attr.store)} has no entry {digest.hex} "
            f"(referenced by `{attr.name}`)"
        )
    if attr.codec == "attach":
        name = row["attachment_name"]
        attachment = Attachment(name=name, size=row["size"], loader=lambda: (name, read(name)[1]))
        if not context.lazy:
            _ = attachment.contents  # read now: errors belong to the fetch
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
