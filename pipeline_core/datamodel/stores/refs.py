"""Lazy handles on stored values: nothing is read from a store until asked (spec §5.3–5.5).

* :class:`ObjectRef` — ``<object@s>`` and ``<filepath@s>`` values (file or folder);
* :class:`NpyRef` — ``<npy@s>`` values: shape and dtype from the metadata, array on demand;
* :class:`BlobRef` — a ``<blob@s>`` value fetched with ``lazy=True``;
* :class:`Attachment` — an ``<attach>`` / ``<attach@s>`` value: file name and contents, as
  a lazy fetch (the web's) yields it and as insert accepts it; a plain fetch saves the
  file instead and returns its path, as DataJoint does (:meth:`Attachment.save`, §5.5).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .backends import _relative
from .config import StoreError
from .spec import StorePathError


def unique_download_path(folder: Path, name: str, contents: bytes) -> Path:
    """Where to write ``contents`` named ``name`` in ``folder`` (created if missing; spec
    §5.5): ``folder / name``, or ``folder / f"{stem}_1{suffix}"``, ``_2``… when a file with
    other contents already has that name; a file with identical contents is reused. The
    rule of DataJoint 2.3.5's ``AttachCodec.decode``.

    Returns:
        Path: ``folder / <chosen name>`` (relative if ``folder`` is).
    Raises:
        OSError: ``folder`` cannot be created or an existing candidate cannot be read.
    """
    folder.mkdir(parents=True, exist_ok=True)
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 1
    while candidate.exists() and candidate.read_bytes() != contents:
        candidate = folder / f"{stem}_{counter}{suffix}"
        counter += 1
    return candidate


def _safe_name(name: str) -> str:
    """The final component of an attachment name (never a path outside the folder).

    DataJoint joins the stored name to the folder as is; the names it stores are always a
    single component (``Path(file).name``), so only a hand-made value with ``/``, ``\\``
    or ``..`` in its name is saved differently here (under its last component).

    Raises:
        StoreError: the name has no file-name component (empty, ``.``, ``..``).
    """
    name = Path(name.replace("\\", "/")).name
    if name in ("", ".", ".."):
        raise StoreError(f"invalid attachment file name {name!r}")
    return name


class Attachment:
    """An attached file: ``name`` and ``contents`` (bytes).

    Args:
        name, contents: the file name stored with the attachment and its bytes; without
            ``contents``, ``loader`` is a zero-argument callable returning ``(name,
            contents)``, called on first access (a lazy attachment in a store).
        size: byte count of the stored value, when known without loading.
    """

    def __init__(
        self,
        name: str | None = None,
        contents: bytes | None = None,
        *,
        size: int | None = None,
        loader: Callable[[], tuple[str, bytes]] | None = None,
    ):
        if contents is None and loader is None:
            raise ValueError("an Attachment needs contents or a loader")
        self._name, self._contents, self._loader = name, contents, loader
        self.size = len(contents) if contents is not None else size

    def _load(self) -> None:
        name, self._contents = self._loader()
        self._name = self._name or name
        self.size = len(self._contents)

    @property
    def name(self) -> str:
        """The file name (read from the store on first access of a lazy attachment)."""
        if self._name is None:
            self._load()
        return self._name

    @property
    def contents(self) -> bytes:
        """The file's bytes (read from the store on first access of a lazy attachment)."""
        if self._contents is None:
            self._load()
        return self._contents

    @property
    def is_loaded(self) -> bool:
        return self._contents is not None

    @property
    def known_name(self) -> str | None:
        """The file name if known without reading the store (None for a lazy ``<attach@>``
        value not loaded yet, whose name is inside the stored object)."""
        return self._name

    def save(self, folder: str | Path) -> Path:
        """Write the file into ``folder``, created if missing, under its name's last
        component, with DataJoint's collision rule (:func:`unique_download_path`, spec
        §5.5); an identical existing file is reused, not rewritten.

        Returns:
            Path: the file's path, ``Path(folder) / name`` or ``.../stem_N.ext``
            (relative if ``folder`` is); a fetch returns it as ``str``.
        Raises:
            StoreError: the name has no file-name component, or a lazy attachment cannot
                be read from its store.
            OSError: the file cannot be written.
        """
        contents = self.contents
        target = unique_download_path(Path(folder), _safe_name(self.name), contents)
        if not target.exists():
            target.write_bytes(contents)
        return target

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Attachment)
            and self.name == other.name
            and self.contents == other.contents
        )

    __hash__ = None  # mutable (loads lazily): not hashable

    def __repr__(self) -> str:
        name = self._name if self._name is not None else "(not loaded)"
        return f"Attachment({name!r}, {self.size} bytes)"


class ObjectRef:
    """A file or folder in a store, from its column metadata (spec §5.3, §5.4).

    Attributes:
        path: store-relative path; store: store name; size: bytes (None for folders of
        unknown size); is_dir; ext: file suffix or None; item_count: files in a folder;
        timestamp: ISO time of the upload; metadata: the column's JSON as a dict.
    """

    def __init__(self, metadata: dict, backend):
        self.metadata = metadata
        self._backend = backend
        self.path: str = metadata["path"]
        self.store: str | None = metadata.get("store")
        self.size: int | None = metadata.get("size")
        self.is_dir: bool = bool(metadata.get("is_dir", False))
        self.ext: str | None = metadata.get("ext")
        self.item_count: int | None = metadata.get("item_count")
        self.timestamp: str | None = metadata.get("timestamp")

    def _sub(self, subpath: str | None) -> str:
        """The store-relative path of ``subpath`` inside this folder (this object's path
        when empty). The backend checks the whole path (no ``..``, spec §5.3) and a file
        store resolves its links inside the store's location.

        Raises:
            StorePathError: ``subpath`` is absolute (it is never read as relative), or the
                object's path (from the row's JSON) is not text.
        """
        if not isinstance(self.path, str):
            raise StorePathError(f"{self.store}: {self.path!r} is not a path in a store")
        if not subpath:
            return self.path
        if not isinstance(subpath, str) or subpath.replace("\\", "/").startswith("/"):
            raise StorePathError(
                f"{self.store}:{self.path}: {subpath!r} is not a path inside the folder (absolute)"
            )
        return f"{self.path}/{subpath.rstrip('/')}"

    def read(self, subpath: str | None = None) -> bytes:
        """The bytes of the file (or of ``subpath`` inside a folder).

        Raises:
            StorePathError: the path leaves the store (``..``, absolute, a symbolic link
                to outside the store's location) or names a folder.
            StoreError: the object is missing.
        """
        return self._backend.get(self._sub(subpath))

    def open(self, subpath: str | None = None) -> IO[bytes]:
        """A binary file object reading the file (or ``subpath`` of a folder) as a stream.

        Raises:
            as :meth:`read`.
        """
        return self._backend.open(self._sub(subpath))

    def is_folder(self, subpath: str | None = None) -> bool:
        """True if ``subpath`` inside this folder (or the object itself) is a folder.

        Raises:
            StorePathError: the path leaves the store.
        """
        return self._backend.is_dir(self._sub(subpath))

    def listdir(self, subpath: str = "") -> list[str]:
        """Names directly inside the folder (or its ``subpath``).

        Raises:
            StorePathError: the path leaves the store. StoreError: no such folder.
        """
        return self._backend.listdir(self._sub(subpath or None))

    def walk(self) -> Iterator[tuple[str, int]]:
        """``(path relative to this folder, size)`` of every file in it (a file store
        leaves out links leading outside the store and does not descend into linked
        folders).

        Raises:
            StorePathError: the folder's path leaves the store.
        """
        base = _relative(self.path, self.store)  # as the backend lists it: "./a//b" is "a/b"
        for relative, size in self._backend.walk(self.path):
            yield relative[len(base) + 1 :], size

    def exists(self, subpath: str | None = None) -> bool:
        """True if the object (or ``subpath`` inside the folder) is in the store.

        Raises:
            StorePathError: the path leaves the store (rather than answering False).
        """
        return self._backend.exists(self._sub(subpath))

    def download(self, destination: str | Path, subpath: str | None = None) -> Path:
        """Copy the file or folder into folder ``destination``; returns the local path.

        Raises:
            StorePathError: the path leaves the store. StoreError: it is missing.
        """
        source = self._sub(subpath)
        return self._backend.download(source, Path(destination) / Path(source).name)

    def verify(self) -> bool:
        """True if the object exists with the recorded size (files) or item count (folders)."""
        if self.is_dir:
            if not self._backend.is_dir(self.path):
                return False
            return self.item_count is None or sum(1 for _ in self.walk()) == self.item_count
        try:
            return self.size is None or self._backend.size(self.path) == self.size
        except StoreError:
            return False

    def __repr__(self) -> str:
        kind = "folder" if self.is_dir else "file"
        return f"ObjectRef({self.store}:{self.path}, {kind}, {self.size} bytes)"


class NpyRef:
    """An ``<npy@s>`` array: ``shape``, ``dtype``, ``ndim``, ``nbytes`` from the metadata;
    :meth:`load` reads it (spec §5.3). ``np.asarray(ref)`` and ``ref[i]`` load it."""

    def __init__(self, metadata: dict, backend):
        self.metadata = metadata
        self._backend = backend
        self._array: np.ndarray | None = None
        self.path: str = metadata["path"]
        self.store: str | None = metadata.get("store")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.metadata["shape"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.metadata["dtype"])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def is_loaded(self) -> bool:
        return self._array is not None

    def load(self, mmap_mode: str | None = None) -> np.ndarray:
        """The array (cached). ``mmap_mode`` maps the file of a ``file`` store instead.

        Raises:
            StorePathError: the path leaves the store (``..``, absolute, a symbolic link
                to outside the store's location). StoreError: the object is missing.
            ValueError: it is not a .npy file.
        """
        if mmap_mode is not None and hasattr(self._backend, "full_path"):
            return np.load(
                self._backend.full_path(self.path), mmap_mode=mmap_mode, allow_pickle=False
            )
        if self._array is None:
            self._array = np.load(io.BytesIO(self._backend.get(self.path)), allow_pickle=False)
        return self._array

    def __array__(self, dtype=None, copy=None):
        array = self.load()
        return array.astype(dtype) if dtype is not None else array

    def __getitem__(self, index):
        return self.load()[index]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        loaded = "loaded" if self.is_loaded else "not loaded"
        return f"NpyRef(shape={self.shape}, dtype={self.dtype}, {loaded})"


class BlobRef:
    """A ``<blob@s>`` value not yet read: ``size`` (stored bytes), ``store``, ``path``;
    :meth:`load` reads, verifies the hash and unpacks it (spec §5.2)."""

    def __init__(self, metadata: dict, loader: Callable[[], Any]):
        self.metadata = metadata
        self.path: str | None = metadata.get("path")
        self.store: str | None = metadata.get("store")
        self.size: int | None = metadata.get("size")
        self._loader = loader
        self._value: Any = None
        self._loaded = False

    def load(self) -> Any:
        """The unpacked value (cached)."""
        if not self._loaded:
            self._value, self._loaded = self._loader(), True
        return self._value

    def __repr__(self) -> str:
        return f"BlobRef({self.store}:{self.path}, {self.size} bytes)"
