"""Object access for the two store protocols LabBook supports (spec §5.1).

Paths given to a backend are *relative to the store*: the path recorded in a column's JSON
(``_hash/db/abc...``) or a 0.14 external path (``db/ab/cd/<hex>``). A file store keeps an
object at ``{location}/{path}``; an S3 store under the key ``{location}/{path}`` of its
bucket, as DataJoint does (DataJoint addresses it as ``{bucket}/{location}/{path}``).

Both backends raise :class:`~.config.StoreError` naming the store and the path for a
missing object or a refused request.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .spec import StoreError, StoreSpec


def _relative(path: str) -> str:
    """Normalise a store-relative path, refusing absolute paths and ``..`` segments."""
    text = str(path).replace("\\", "/").lstrip("/")
    parts = PurePosixPath(text).parts
    if not parts or any(part in ("..", ".") for part in parts):
        raise StoreError(f"invalid path in a store: {path!r}")
    return "/".join(parts)


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
    the primitives declared here; every one raises :class:`~.config.StoreError` naming
    the store and the path (a missing object, a refused request, a full disk).
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

    Writes go to a temporary file in the target folder, renamed into place, so a reader
    never sees half an object.
    """

    def __init__(self, spec: StoreSpec):
        self.spec = spec
        self.root = Path(spec.location)

    def full_path(self, path: str) -> Path:
        """The filesystem path of a store-relative path."""
        return self.root / _relative(path)

    def put(self, path: str, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` as object ``path`` (atomically: temporary file, then rename).

        Raises:
            StoreError: the filesystem refused (permissions, full disk, ...).
        """
        self._write(path, lambda out: out.write(data))

    def put_file(self, local: str | Path, path: str) -> None:
        """Copy local file ``local`` to object ``path`` (atomically).

        Raises:
            StoreError: ``local`` cannot be read or the store cannot be written.
        """

        def copy(out):
            with open(local, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)

        self._write(path, copy)

    def _write(self, path: str, write) -> None:
        target = self.full_path(path)
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
        try:
            return self.full_path(path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise self._missing(path) from None

    def get_file(self, path: str, destination: str | Path) -> None:
        try:
            shutil.copyfile(self.full_path(path), destination)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise self._missing(path) from None

    def open(self, path: str) -> IO[bytes]:
        try:
            return open(self.full_path(path), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise self._missing(path) from None

    def exists(self, path: str) -> bool:
        return self.full_path(path).exists()

    def is_dir(self, path: str) -> bool:
        return self.full_path(path).is_dir()

    def size(self, path: str) -> int:
        try:
            return self.full_path(path).stat().st_size
        except FileNotFoundError:
            raise self._missing(path) from None

    def listdir(self, path: str = "") -> list[str]:
        folder = self.full_path(path) if path else self.root
        try:
            return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".tmp-"))
        except (FileNotFoundError, NotADirectoryError):
            raise self._missing(path) from None

    def walk_stat(self, prefix: str = "") -> Iterator[tuple[str, int, float]]:
        """``(store-relative path, size in bytes, modification time in seconds since the
        epoch)`` of every file under ``prefix`` (a folder); temporary files of writes in
        progress are left out."""
        folder = self.full_path(prefix) if prefix else self.root
        for root, _dirs, names in os.walk(folder):
            for name in names:
                if name.startswith(".tmp-"):
                    continue
                file_path = Path(root) / name
                with contextlib.suppress(FileNotFoundError):
                    stat = file_path.stat()
                    yield file_path.relative_to(self.root).as_posix(), stat.st_size, stat.st_mtime

    def delete(self, path: str) -> bool:
        """Delete a file or a folder tree; empty parent folders up to the root go too.
        Returns False when nothing was there."""
        target = self.full_path(path)
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            return False
        parent = target.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
        return True


class S3Backend(Backend):
    """An ``s3`` store, through a boto3 client (any S3-protocol server).

    ``endpoint`` is ``host:port`` (``https`` when ``secure``, the default) or a URL;
    credentials are ``access_key``/``secret_key`` or boto3's ambient ones.
    """

    def __init__(self, spec: StoreSpec):
        import boto3
        import boto3.exceptions
        import botocore.exceptions
        from botocore.config import Config

        self.spec = spec
        self._client_errors = (
            botocore.exceptions.ClientError,
            botocore.exceptions.BotoCoreError,
            boto3.exceptions.S3UploadFailedError,
        )
        endpoint = spec.endpoint or ""
        if not endpoint.startswith(("http://", "https://")):
            endpoint = f"{'https' if spec.secure else 'http'}://{endpoint}"
        proxies = (
            {"http": spec.proxy_server, "https": spec.proxy_server} if spec.proxy_server else None
        )
        self.bucket = spec.bucket
        self.prefix = spec.location.strip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=spec.access_key,
            aws_secret_access_key=spec.secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"}, proxies=proxies, retries={"max_attempts": 3}
            ),
        )

    def key(self, path: str) -> str:
        """The object key of a store-relative path."""
        relative = _relative(path)
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _call(self, path: str, method, **kwargs):
        try:
            return method(Bucket=self.bucket, **kwargs)
        except self._client_errors as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise self._missing(path) from None
            raise StoreError(
                f"store {self.spec.name} ({self.spec.endpoint}): "
                f"{code or 'request failed'} on {path}: {exc}"
            ) from exc

    def put(self, path: str, data: bytes | bytearray | memoryview) -> None:
        self._call(
            path,
            self.client.put_object,
            Key=self.key(path),
            Body=bytes(data) if isinstance(data, memoryview) else data,
        )

    def put_file(self, local: str | Path, path: str) -> None:
        try:
            self.client.upload_file(str(local), self.bucket, self.key(path))
        except self._client_errors as exc:
            raise StoreError(f"store {self.spec.name}: upload of {path} failed: {exc}") from exc

    def get(self, path: str) -> bytes:
        body = self._call(path, self.client.get_object, Key=self.key(path))["Body"]
        try:
            return body.read()
        except self._client_errors as exc:
            raise StoreError(f"store {self.spec.name}: reading {path} failed: {exc}") from exc
        finally:
            body.close()

    def get_file(self, path: str, destination: str | Path) -> None:
        try:
            self.client.download_file(self.bucket, self.key(path), str(destination))
        except self._client_errors as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise self._missing(path) from None
            raise StoreError(
                f"store {self.spec.name} ({self.spec.endpoint}): "
                f"{code or 'request failed'} on {path}: {exc}"
            ) from exc

    def open(self, path: str) -> IO[bytes]:
        return self._call(path, self.client.get_object, Key=self.key(path))["Body"]

    def exists(self, path: str) -> bool:
        try:
            self._call(path, self.client.head_object, Key=self.key(path))
            return True
        except StoreError:
            return self.is_dir(path)

    def is_dir(self, path: str) -> bool:
        listing = self._call(
            path, self.client.list_objects_v2, Prefix=self.key(path) + "/", MaxKeys=1
        )
        return listing.get("KeyCount", 0) > 0

    def size(self, path: str) -> int:
        return int(self._call(path, self.client.head_object, Key=self.key(path))["ContentLength"])

    def listdir(self, path: str = "") -> list[str]:
        prefix = (self.key(path) + "/") if path else (self.prefix + "/" if self.prefix else "")
        names = set()
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            ):
                names.update(item["Key"][len(prefix) :] for item in page.get("Contents", []))
                names.update(
                    item["Prefix"][len(prefix) :].rstrip("/")
                    for item in page.get("CommonPrefixes", [])
                )
        except self._client_errors as exc:
            raise StoreError(f"store {self.spec.name}: cannot list {path or '/'}: {exc}") from exc
        return sorted(names)

    def walk_stat(self, prefix: str = "") -> Iterator[tuple[str, int, float]]:
        """``(store-relative path, size in bytes, last-modified time in seconds since the
        epoch)`` of every object under ``prefix`` (a folder).

        Raises:
            StoreError: the listing was refused.
        """
        key_prefix = (
            (self.key(prefix) + "/") if prefix else (self.prefix + "/" if self.prefix else "")
        )
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=key_prefix
            ):
                for item in page.get("Contents", []):
                    yield item["Key"][strip:], int(item["Size"]), item["LastModified"].timestamp()
        except self._client_errors as exc:
            raise StoreError(f"store {self.spec.name}: cannot list {prefix or '/'}: {exc}") from exc

    def delete(self, path: str) -> bool:
        """Delete an object, or every object under ``path/``. Returns False when none was there.

        Raises:
            StoreError: the server refused to delete some of them (named).
        """
        keys = [self.key(relative) for relative, _ in self.walk(path)] if self.is_dir(path) else []
        if not keys and self.exists(path):
            keys = [self.key(path)]
        for start in range(0, len(keys), 1000):
            response = self._call(
                path,
                self.client.delete_objects,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
            )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise StoreError(
                    f"store {self.spec.name}: {len(errors)} objects not deleted, e.g. "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}"
                )
        return bool(keys)


def backend_for(spec: StoreSpec) -> Backend:
    """A backend for a validated spec.

    Raises:
        StoreError: a file store whose location is not an existing folder.
    """
    if spec.protocol == "file":
        if not Path(spec.location).is_dir():
            raise StoreError(f"store {spec.name}: inaccessible local folder {spec.location}")
        return FileBackend(spec)
    return S3Backend(spec)
