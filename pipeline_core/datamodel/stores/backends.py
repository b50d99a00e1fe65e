"""Object access for the two store protocols LabBook supports (spec §5.1).

Paths given to a backend are *relative to the store*: the path recorded in a column's JSON
(``_hash/db/abc...``) or a 0.14 external path (``db/ab/cd/<hex>``). A file store keeps an
object at ``{location}/{path}``; an S3 store under the key ``{location}/{path}`` of its
bucket, as DataJoint does (DataJoint addresses it as ``{bucket}/{location}/{path}``).

Stores stay inside their location. Every path, whether LabBook made it or it comes from a
row's JSON or a query string, is checked by :func:`_relative` before any use: absolute
paths, ``..`` segments and NUL characters are refused (never normalised away), ``\\`` is
read as ``/``, and ``.`` segments and repeated ``/`` are dropped (they name the same file).
A file store then resolves every path it reads, lists, measures, writes or deletes with
:meth:`FileBackend.resolve`, which follows symbolic links only while they stay inside the
location (spec §5.4: ``<filepath@>`` names a file *inside* the store). S3 keys are not
paths: nothing is resolved there, the checks of :func:`_relative` are all.

Both backends raise :class:`~.spec.StoreError` naming the store and the path for a
missing object or a refused request, and its subclass :class:`~.spec.StorePathError`
(404 at the front doors) for a path that leaves the store.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .spec import StoreError, StorePathError, StoreSpec, relative_parts

#: Longest key an S3 server accepts (bytes of UTF-8).
S3_KEY_LIMIT = 1024


def _relative(path: str, store: str | None = None) -> str:
    """Normalise a store-relative path: ``\\`` read as ``/``, ``.`` segments and repeated
    ``/`` dropped; nothing else is rewritten.

    Raises:
        StorePathError: not a string, empty, absolute (leading ``/`` or ``\\``), a ``..``
            segment, or a NUL character (names ``store`` when given).
    """
    where = f"store {store}: " if store else ""
    if not isinstance(path, (str, PurePosixPath)):
        raise StorePathError(f"{where}invalid path in a store: {path!r} is not a path")
    parts, reason = relative_parts(str(path))
    if reason:
        raise StorePathError(f"{where}invalid path in a store: {str(path)[:200]!r} ({reason})")
    return "/".join(parts)


def _inside(real: str, root: str) -> bool:
    """True if the resolved path ``real`` is ``root`` or below it (both resolved)."""
    return real == root or os.path.commonpath([real, root]) == root


def folder_manifest(local: Path) -> dict:
    """The manifest DataJoint writes next to an uploaded folder (``{path}.manifest.json``,
    spec §5.3): ``{"files": [{"path", "size"}], "total_size", "item_count", "created"}``."""
    files = []
    for root, _dirs, names in os.walk(local):
        for name in sorted(names):
            file_path = Path(root) / name
            files.append(
                {"path": file_path.relative_to(local).as_posix(), "size": file_path.stat().st_size}
            )
    return {
        "files": files,
        "total_size": sum(f["size"] for f in files),
        "item_count": len(files),
        "created": datetime.datetime.now(datetime.UTC).isoformat(),
    }


class Backend:
    """The operations of a store (spec §5.1) on store-relative paths. A subclass provides
    the primitives declared here; every one raises :class:`~.spec.StoreError` naming
    the store and the path (a missing object, a refused request, a full disk), and
    :class:`~.spec.StorePathError` for a path that does not stay inside the store
    (:func:`_relative`; a file store also resolves links, :meth:`FileBackend.resolve`).
    """

    spec: StoreSpec

    def put(self, path: str, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` as object ``path`` (replacing it); readers never see half of it."""
        raise NotImplementedError

    def put_file(self, local: str | Path, path: str) -> None:
        """Upload the local file ``local`` as object ``path``."""
        raise NotImplementedError

    def get(self, path: str) -> bytes:
        """The bytes of object ``path`` (StoreError when missing)."""
        raise NotImplementedError

    def get_file(self, path: str, destination: str | Path) -> None:
        """Copy object ``path`` to the local file ``destination``."""
        raise NotImplementedError

    def open(self, path: str) -> IO[bytes]:
        """A binary stream of object ``path``; the caller closes it. An S3 stream cannot
        seek."""
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        """True if ``path`` is an object or a folder holding objects."""
        raise NotImplementedError

    def is_dir(self, path: str) -> bool:
        """True if ``path`` is a folder holding objects."""
        raise NotImplementedError

    def size(self, path: str) -> int:
        """Bytes of object ``path`` (StoreError when missing)."""
        raise NotImplementedError

    def listdir(self, path: str = "") -> list[str]:
        """Sorted names directly under folder ``path`` (objects and sub-folders)."""
        raise NotImplementedError

    def walk_stat(self, prefix: str = "") -> Iterator[tuple[str, int, float]]:
        """``(path, size in bytes, modification time in seconds since the epoch)`` of
        every object under folder ``prefix``."""
        raise NotImplementedError

    def delete(self, path: str) -> bool:
        """Delete an object or a folder tree; False when nothing was there."""
        raise NotImplementedError

    def put_folder(self, local: str | Path, path: str) -> dict:
        """Upload every file under folder ``local`` to ``path/…`` and write the manifest
        ``path.manifest.json``; returns the manifest (spec §5.3).

        Raises:
            StoreError: ``local`` is not a folder, or an upload fails.
        """
        local = Path(local)
        if not local.is_dir():
            raise StoreError(f"store {self.spec.name}: not a folder: {local}")
        manifest = folder_manifest(local)
        for item in manifest["files"]:
            self.put_file(local / item["path"], f"{path}/{item['path']}")
        self.put(f"{path}.manifest.json", json.dumps(manifest, indent=2).encode())
        return manifest

    def download(self, path: str, destination: str | Path) -> Path:
        """Copy object ``path`` (file, or folder with everything under it) to ``destination``."""
        destination = Path(destination)
        if self.is_dir(path):
            for relative, _size in self.walk(path):
                target = destination / relative[len(_relative(path)) + 1 :]
                target.parent.mkdir(parents=True, exist_ok=True)
                self.get_file(relative, target)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            self.get_file(path, destination)
        return destination

    def walk(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """``(store-relative path, size in bytes)`` of every object under ``prefix`` (a
        folder), from the subclass's ``walk_stat``.

        Raises:
            StoreError: the store cannot be listed.
        """
        for path, size, _modified in self.walk_stat(prefix):
            yield path, size

    def _missing(self, path: str) -> StoreError:
        return StoreError(f"store {self.spec.name}: missing object {path}")


class FileBackend(Backend):
    """A ``file`` store: a folder on a local or mounted filesystem.

    Every path is resolved by :meth:`resolve` before it is opened, listed, measured, written
    or deleted, so nothing outside the store's location is ever read or written, whatever
    symbolic links the folder holds (spec §5.4: a ``<filepath@>`` names a file inside the
    store). Symbolic links that stay inside the location are followed (a lab may link a raw
    file into place); listings (:meth:`walk_stat`) do not descend into linked folders, so
    each file is listed once, under its own path, and garbage collection never deletes
    through a link. Writes go to a temporary file in the target folder, renamed into place,
    so a reader never sees half an object.

    Attributes:
        root: the location with its own symbolic links resolved (the location may itself
            be a link, e.g. ``/data`` -> ``/mnt/data``).
    """

    def __init__(self, spec: StoreSpec):
        self.spec = spec
        self.root = Path(os.path.realpath(spec.location))

    def resolve(self, path: str, *, strict: bool = True) -> Path:
        """The real filesystem path of the store-relative ``path``: ``{location}/{path}``
        with every symbolic link resolved (``os.path.realpath``), checked to be inside the
        store's location. The one place a file store turns a path into a file name.

        Args:
            strict: the object must exist (reads). Otherwise (writes, existence tests) the
                components that exist are resolved and the missing ones kept as they are
                (they cannot be links).
        Raises:
            StorePathError: ``path`` is not a relative path inside the store (see
                :func:`_relative`: absolute, ``..``, NUL); it leads outside the location
                through a symbolic link, file or folder, at any level; it goes through a
                loop of symbolic links; it is too long for the filesystem.
            StoreError: ``strict`` and nothing is there (names the store and the path), or
                the filesystem refused to look (permissions).
        """
        relative = _relative(path, self.spec.name)
        joined = os.path.join(self.root, relative)
        try:
            real = os.path.realpath(joined, strict=True)
        except (FileNotFoundError, NotADirectoryError):
            if strict:
                raise self._missing(relative) from None
            real = os.path.realpath(joined)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorePathError(
                    f"store {self.spec.name}: {relative} goes through a loop of symbolic links"
                ) from None
            if exc.errno == errno.ENAMETOOLONG:
                raise StorePathError(
                    f"store {self.spec.name}: path too long for the filesystem: {relative[:200]}"
                ) from None
            raise StoreError(
                f"store {self.spec.name}: cannot reach {relative}: {exc.strerror}"
            ) from None
        if not _inside(real, str(self.root)):
            raise StorePathError(
                f"store {self.spec.name}: {relative} leads outside the store's location "
                "through a symbolic link: refused"
            )
        return Path(real)

    def full_path(self, path: str) -> Path:
        """The filesystem path of an existing object: :meth:`resolve` (strict)."""
        return self.resolve(path)

    def _open(self, path: str) -> IO[bytes]:
        """Open the regular file at ``path`` for reading, resolved by :meth:`resolve`.

        The resolved name is opened without following a link (``O_NOFOLLOW``) and without
        blocking on a FIFO; what was opened must be a regular file and, where the system
        tells (``/proc/self/fd``), inside the location, so a link swapped in after the
        check is refused too.

        Raises:
            StorePathError: as :meth:`resolve`, or not a regular file (a folder, a FIFO).
            StoreError: missing.
        """
        real = self.resolve(path)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(real, flags | getattr(os, "O_CLOEXEC", 0))
        except (FileNotFoundError, NotADirectoryError):
            raise self._missing(path) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # became a link after it was resolved
                raise StorePathError(
                    f"store {self.spec.name}: {path} became a symbolic link: refused"
                ) from None
            raise StoreError(
                f"store {self.spec.name}: cannot read {path}: {exc.strerror}"
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StorePathError(f"store {self.spec.name}: {path} is not a regular file")
            with contextlib.suppress(OSError):  # no /proc: the checks above are all
                opened = os.readlink(f"/proc/self/fd/{fd}")
                if not _inside(opened, str(self.root)):
                    raise StorePathError(
                        f"store {self.spec.name}: {path} leads outside the store's location"
                    )
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def put(self, path: str, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` as object ``path`` (atomically: temporary file, then rename).

        Raises:
            StorePathError: ``path`` leads outside the store (e.g. an existing folder on
                the way is a link to elsewhere).
            StoreError: the filesystem refused (permissions, full disk, ...).
        """
        self._write(path, lambda out: out.write(data))

    def put_file(self, local: str | Path, path: str) -> None:
        """Copy local file ``local`` to object ``path`` (atomically).

        Raises:
            StorePathError: ``path`` leads outside the store.
            StoreError: ``local`` cannot be read or the store cannot be written.
        """

        def copy(out):
            with open(local, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)

        self._write(path, copy)

    def _write(self, path: str, write) -> None:
        target = self.resolve(path, strict=False)
        temporary = None
        try:
            for attempt in (1, 2):  # a concurrent delete may remove the new, empty folder
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
                    break
                except FileNotFoundError:
                    if attempt == 2:
                        raise
            with os.fdopen(handle, "wb") as out:
                write(out)
            os.replace(temporary, target)
        except BaseException as exc:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            if isinstance(exc, OSError):
                raise StoreError(f"store {self.spec.name}: cannot write {path}: {exc}") from exc
            raise

    def get(self, path: str) -> bytes:
        """The bytes of the file ``path`` (see :meth:`_open` for what is refused)."""
        with self._open(path) as source:
            return source.read()

    def get_file(self, path: str, destination: str | Path) -> None:
        """Copy the file ``path`` to the local file ``destination``."""
        with self._open(path) as source, open(destination, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)

    def open(self, path: str) -> IO[bytes]:
        """A binary stream of the file ``path`` (see :meth:`_open`)."""
        return self._open(path)

    def exists(self, path: str) -> bool:
        """True if ``path`` is a file or folder inside the store.

        Raises:
            StorePathError: it leads outside the store (rather than answering False).
        """
        return self.resolve(path, strict=False).exists()

    def is_dir(self, path: str) -> bool:
        """True if ``path`` is a folder inside the store (StorePathError as :meth:`exists`)."""
        return self.resolve(path, strict=False).is_dir()

    def size(self, path: str) -> int:
        """Bytes of the file ``path`` (StoreError when missing)."""
        return self.resolve(path).stat().st_size

    def listdir(self, path: str = "") -> list[str]:
        """Names directly inside the folder ``path`` (the location when empty)."""
        folder = self.resolve(path) if path else self.root
        try:
            return sorted(name for name in os.listdir(folder) if not name.startswith(".tmp-"))
        except (FileNotFoundError, NotADirectoryError):
            raise self._missing(path) from None

    def walk_stat(self, prefix: str = "") -> Iterator[tuple[str, int, float]]:
        """``(store-relative path, size in bytes, modification time in seconds since the
        epoch)`` of every file under ``prefix`` (a folder; nothing when it is absent).

        Left out: temporary files of writes in progress, links leading outside the store
        (or broken, or in a loop), anything that is not a regular file; linked folders are
        not descended into (see the class).

        Raises:
            StorePathError: ``prefix`` itself leads outside the store.
        """
        base = _relative(prefix, self.spec.name) if prefix else ""
        try:
            folder = self.resolve(base) if base else self.root
        except StorePathError:
            raise
        except StoreError:
            return
        root = str(self.root)
        for current, _dirs, names in os.walk(folder):
            for name in names:
                if name.startswith(".tmp-"):
                    continue
                file_path = os.path.join(current, name)
                with contextlib.suppress(OSError):
                    real = os.path.realpath(file_path, strict=True)
                    info = os.stat(real)
                    if _inside(real, root) and stat.S_ISREG(info.st_mode):
                        inner = Path(file_path).relative_to(folder).as_posix()
                        yield posixpath.join(base, inner), info.st_size, info.st_mtime

    def delete(self, path: str) -> bool:
        """Delete a file or a folder tree; empty parent folders up to the root go too. A
        symbolic link is removed itself, never what it points to; nothing is deleted
        through a link leading outside the store. Returns False when nothing was there.

        Raises:
            StorePathError: ``path`` (its folder) leads outside the store.
        """
        relative = _relative(path, self.spec.name)
        folder, name = posixpath.split(relative)
        try:
            parent = self.resolve(folder) if folder else self.root
            mode = os.lstat(parent / name).st_mode
        except StorePathError:
            raise
        except (StoreError, FileNotFoundError, NotADirectoryError):
            return False
        target = parent / name
        if stat.S_ISDIR(mode):
            shutil.rmtree(target)
        else:
            target.unlink()
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
        return True
