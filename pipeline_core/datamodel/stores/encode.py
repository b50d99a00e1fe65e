"""Writing stored values: the object goes to the store, the column gets DataJoint's JSON
(spec §2.4, §5.2–5.4).

Column JSON is ``json.dumps`` with default separators and DataJoint's key order, so the
text equals what DataJoint 2.3.5 writes (on MySQL; on MariaDB it cannot write it, §12.3).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..codecs import blob
from .addressing import content_hash, hash_path, object_path
from .backends import _relative
from .config import StoreConfig, StoreError
from .refs import Attachment
from .uploads import Upload, UploadLog


@dataclasses.dataclass(frozen=True)
class WriteContext:
    """What a stored value's path depends on.

    Attributes:
        stores: the configured stores.
        database, table: where the row goes (raw table name, e.g. ``__detection``).
        key: the row's primary-key values in heading order (as given to insert).
        uploads: records the objects created, for removal if the write fails.
    """

    stores: StoreConfig
    database: str
    table: str
    key: Mapping[str, Any]
    uploads: UploadLog


def attachment_bytes(value: Any) -> bytes:
    """``filename\\0contents`` for an attachment given as a file path or an
    :class:`~.refs.Attachment` (spec §2.4).

    Raises:
        StoreError: the file does not exist or is a folder.
        TypeError: another type of value.
    """
    if isinstance(value, Attachment):
        return value.name.encode() + b"\0" + value.contents
    if not isinstance(value, (str, Path)):
        raise TypeError(
            f"an attachment is a file path or an Attachment, not {type(value).__name__}"
        )
    path = Path(value)
    if path.is_dir():
        raise StoreError(f"an attachment cannot be a folder: {path}")
    try:
        contents = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"attachment file not found: {path}") from None
    return path.name.encode() + b"\0" + contents


def encode_stored(attribute: str, codec: str, store: str, value: Any, context: WriteContext) -> str:
    """Store ``value`` of ``attribute``, declared ``<codec@store>``, and return the column's
    JSON text (``store`` ``""`` means the default store).

    Values accepted: ``blob`` any packable value; ``attach`` a file path or Attachment;
    ``hash`` bytes; ``object`` bytes, ``(ext, bytes or file object)``, a file or folder
    path, or existing metadata (a dict with ``path``); ``npy`` a non-object ndarray;
    ``filepath`` a path relative to the store naming an existing object.

    Raises:
        StoreError: store not configured or unreachable, missing file, reserved prefix.
        TypeError / ValueError: a value of the wrong kind (the caller names the attribute).
    """
    name = context.stores.resolve(store, filepath=codec == "filepath")
    if codec == "blob":  # DataJoint's exact bytes: the same value gets the same hash and path
        return _put_hash(blob.pack(value, compression="datajoint"), name, context)
    if codec == "attach":
        return _put_hash(attachment_bytes(value), name, context)
    if codec == "hash":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"<hash> expects bytes, not {type(value).__name__}")
        return _put_hash(bytes(value), name, context)
    if codec == "object":
        return _put_object(attribute, value, name, context)
    if codec == "npy":
        return _put_npy(attribute, value, name, context)
    if codec == "filepath":
        return _filepath(value, name, context)
    raise StoreError(f"unknown stored codec <{codec}@{store}>")


def _put_hash(data: bytes, store: str, context: WriteContext) -> str:
    """Hash-addressed write with per-database deduplication (spec §5.2)."""
    spec = context.stores.spec(store)
    digest = content_hash(data)
    path = hash_path(digest, context.database, spec)
    backend = context.stores.backend(store)
    if not backend.exists(path):
        backend.put(path, data)
        context.uploads.record(Upload(store, path, "hash", context.database))
    return json.dumps(
        {
            "hash": digest,
            "path": path,
            "schema": context.database,
            "store": store,
            "size": len(data),
        }
    )


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def _put_object(attribute: str, value: Any, store: str, context: WriteContext) -> str:
    """Schema-addressed file or folder (spec §5.3)."""
    if isinstance(value, Mapping) and "path" in value:
        return json.dumps(dict(value))
    spec = context.stores.spec(store)
    backend = context.stores.backend(store)
    ext, item_count, is_dir, source = None, None, False, None
    if isinstance(value, (bytes, bytearray, memoryview)):
        content = bytes(value)
    elif isinstance(value, tuple) and len(value) == 2:
        ext, data = value
        content = data.read() if hasattr(data, "read") else bytes(data)
    elif isinstance(value, (str, Path)):
        source = Path(value)
        if not source.exists():
            raise StoreError(f"source path not found: {source}")
        is_dir = source.is_dir()
        ext = None if is_dir else (source.suffix or None)
        content = None
    else:
        raise TypeError(
            f"<object> expects bytes, (ext, bytes), or a file or folder path, "
            f"not {type(value).__name__}"
        )
    path = object_path(spec, context.database, context.table, attribute, context.key, ext)
    context.uploads.record(Upload(store, path, "schema", context.database))
    if is_dir:
        manifest = backend.put_folder(source, path)
        size, item_count = manifest["total_size"], manifest["item_count"]
    elif source is not None:
        backend.put_file(source, path)
        size = source.stat().st_size
    else:
        backend.put(path, content)
        size = len(content)
    return json.dumps(
        {
            "path": path,
            "store": store,
            "size": size,
            "ext": ext,
            "is_dir": is_dir,
            "item_count": item_count,
            "timestamp": _now(),
        }
    )


def _put_npy(attribute: str, value: Any, store: str, context: WriteContext) -> str:
    """Schema-addressed ``.npy`` file (spec §5.3)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"<npy> expects a numpy array, not {type(value).__name__}")
    if value.dtype.hasobject:
        raise TypeError("<npy> cannot store object arrays")
    spec = context.stores.spec(store)
    path = object_path(spec, context.database, context.table, attribute, context.key, ".npy")
    buffer = io.BytesIO()
    np.save(buffer, value, allow_pickle=False)
    context.uploads.record(Upload(store, path, "schema", context.database))
    context.stores.backend(store).put(path, buffer.getbuffer())
    return json.dumps(
        {"path": path, "store": store, "dtype": str(value.dtype), "shape": list(value.shape)}
    )


def _filepath(value: Any, store: str, context: WriteContext) -> str:
    """A reference to an existing object in the store; nothing is copied (spec §5.4)."""
    if not isinstance(value, (str, Path)):
        raise TypeError(f"<filepath> expects a path string, not {type(value).__name__}")
    spec = context.stores.spec(store, filepath=True)
    path = str(value)
    normalized = _relative(path)  # as the backend reads it: "./_hash/x" is "_hash/x"
    for key in ("hash_prefix", "schema_prefix"):
        prefix = getattr(spec, key).strip("/") + "/"
        if getattr(spec, key) and normalized.startswith(prefix):
            raise StoreError(
                f"<filepath@{store}> cannot use the reserved section "
                f"'{getattr(spec, key)}' ({key}): {path}"
            )
    if spec.filepath_prefix and not normalized.startswith(spec.filepath_prefix.strip("/") + "/"):
        raise StoreError(
            f"<filepath@{store}> paths must start with '{spec.filepath_prefix}' "
            f"(filepath_prefix): {path}"
        )
    backend = context.stores.backend(store, filepath=True)
    if not backend.exists(normalized):
        raise StoreError(f"file not found in store '{store}': {path}")
    is_dir = backend.is_dir(normalized)
    size = None if is_dir else backend.size(normalized)
    return json.dumps(
        {"path": path, "store": store, "size": size, "is_dir": is_dir, "timestamp": _now()}
    )
