"""The ``s3`` store protocol (spec §5.1): objects under the key ``{location}/{path}`` of a
bucket, through boto3 (any S3-protocol server: AWS, MinIO, moto).

S3 keys are not paths: there are no links to follow and nothing is resolved; every path
is checked by :func:`.backends._relative` (no ``..``, no leading ``/``) in :meth:`S3Backend.key`,
the one place a path becomes a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .backends import S3_KEY_LIMIT, Backend, _relative
from .spec import StoreError, StorePathError, StoreSpec


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
        """The object key of a store-relative path: ``{location}/{path}``. Keys are not
        paths: nothing is resolved, the path is only checked (:func:`.backends._relative`)
        so that a path from a row's JSON or a query string cannot name a key outside the
        store's ``location`` by ``..`` or a leading ``/``.

        Raises:
            StorePathError: absolute, ``..``, NUL, empty; or a key longer than an S3 server
                accepts (:data:`.backends.S3_KEY_LIMIT` bytes).
        """
        relative = _relative(path, self.spec.name)
        key = f"{self.prefix}/{relative}" if self.prefix else relative
        if len(key.encode()) > S3_KEY_LIMIT:
            raise StorePathError(
                f"store {self.spec.name}: path too long for an object key: {relative[:200]}"
            )
        return key

    def _call(self, path: str, method, **kwargs):
        try:
            return method(Bucket=self.bucket, **kwargs)
        except self._client_errors as exc:
            raise self._error(path, exc) from exc

    def _error(self, path: str, exc: Exception) -> StoreError:
        """The store error of a failed request on ``path``: missing (NoSuchKey, 404) or not."""
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            return self._missing(path)
        return StoreError(
            f"store {self.spec.name} ({self.spec.endpoint}): "
            f"{code or 'request failed'} on {path}: {exc}"
        )

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
            raise self._error(path, exc) from exc

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
