"""A validated store (spec §5.1) and the error of everything store-related; the base that
:mod:`.config` (reading configurations) and :mod:`.backends` (reaching stores) share."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import DataJointError


class StoreError(DataJointError):
    """A store is missing, misconfigured, unreachable, or an object in it is missing or corrupt."""


class StorePathError(StoreError):
    """A path read from a row's JSON, a query string or a caller does not name an object
    inside its store: absolute, with a ``..`` segment or a NUL character, too long, or
    leading out of the store's ``location`` through a symbolic link (at any level, or a
    loop of them), or naming something that is not a regular file where one is read.
    The front doors answer 404: there is no such object in the store."""


def relative_parts(path: str) -> tuple[list[str], str | None]:
    """The segments of a relative, ``/``-separated path (``\\`` read as ``/``; ``.``
    segments and repeated ``/`` dropped, nothing else rewritten) and why it cannot name
    something inside a store or folder, or None: empty, absolute (leading ``/`` or
    ``\\``), a ``..`` segment anywhere (``a/../b`` too: nothing that could leave the
    folder is normalised away), or a NUL character. Shape: ``(["a", "b.npy"], None)``."""
    text = path.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts:
        return parts, "it is empty"
    if text.startswith("/"):
        return parts, "an absolute path"
    if ".." in parts:
        return parts, "a '..' segment leaves the folder"
    if "\0" in text:
        return parts, "a NUL character"
    return parts, None


@dataclasses.dataclass(frozen=True)
class StoreSpec:
    """One validated store (spec §5.1).

    Attributes:
        name: the store name (as in ``<blob@name>``).
        protocol: ``"file"`` or ``"s3"``.
        location: folder (file) or key prefix inside the bucket (s3), no trailing slash.
        subfolding: lengths of the folder levels cut from a hash (``(2, 2)``) or None (flat).
        partition_pattern: e.g. ``"{subject_id}/{session_id}"`` or None.
        token_length: length of the random token of schema-addressed paths (4–16).
        hash_prefix, schema_prefix: sections of hash- and schema-addressed objects.
        filepath_prefix: section ``<filepath@>`` paths must start with, or None.
        endpoint, bucket, access_key, secret_key, secure, proxy_server: s3 settings.
        options: the spec as configured (for display; secrets included, do not log).
    """

    name: str
    protocol: str
    location: str
    subfolding: tuple[int, ...] | None = None
    partition_pattern: str | None = None
    token_length: int = 8
    hash_prefix: str = "_hash"
    schema_prefix: str = "_schema"
    filepath_prefix: str | None = None
    endpoint: str | None = None
    bucket: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    secure: bool = True
    proxy_server: str | None = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def legacy_subfolding(self) -> tuple[int, ...]:
        """Subfolding of DataJoint 0.14 external objects: the configured one, else (2, 2)
        (spec §11)."""
        return self.subfolding or (2, 2)
