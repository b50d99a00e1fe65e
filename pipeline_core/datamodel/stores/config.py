"""Store configuration, read the way DataJoint 2.x reads ``dj.config['stores']`` (spec §5.1).

A configuration is a mapping of store names to specs, plus the optional string entries
``default`` (the store of ``<codec@>``) and ``filepath_default`` (the store of
``<filepath@>``)::

    {"default": "main",
     "main": {"protocol": "file", "location": "/data/dj"},
     "lab":  {"protocol": "s3", "endpoint": "s3.example.org:9000", "bucket": "b",
              "location": "prefix", "access_key": "...", "secret_key": "..."}}

LabBook supports the ``file`` and ``s3`` protocols (``gcs``/``azure`` specs are recognised
and refused with a clear error). Unlike DataJoint 2.3.5 (spec §12.7), the empty store name
of ``<codec@>`` resolves to ``default``, and the JSON LabBook writes names the resolved
store, so DataJoint can read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .backends import Backend, FileBackend
from .s3 import S3Backend
from .spec import StoreError, StoreSpec

__all__ = ["StoreConfig", "StoreError", "StoreSpec", "parse_store"]

_REQUIRED = {
    "file": ("protocol", "location"),
    "s3": ("protocol", "endpoint", "bucket", "location"),
    "gcs": ("protocol", "bucket", "location"),
    "azure": ("protocol", "container", "location"),
}
_COMMON = (
    "subfolding",
    "partition_pattern",
    "token_length",
    "hash_prefix",
    "schema_prefix",
    "filepath_prefix",
    "stage",
)
_ALLOWED = {
    "file": ("protocol", "location", *_COMMON),
    "s3": (
        "protocol",
        "endpoint",
        "bucket",
        "access_key",
        "secret_key",
        "location",
        "secure",
        "proxy_server",
        *_COMMON,
    ),
    "gcs": ("protocol", "bucket", "location", "token", "project", *_COMMON),
    "azure": (
        "protocol",
        "container",
        "location",
        "account_name",
        "account_key",
        "connection_string",
        *_COMMON,
    ),
}
_NAME = re.compile(r"[A-Za-z0-9_\-]+")


def parse_store(name: str, raw: Mapping[str, Any]) -> StoreSpec:
    """Validate one store spec as DataJoint 2.3.5 does (required and allowed keys per
    protocol, prefixes not nested in one another), spec §5.1.

    Raises:
        StoreError: naming the store and the bad or missing key.
    """
    if not isinstance(raw, Mapping):
        raise StoreError(f'stores["{name}"] must be an object, not {type(raw).__name__}')
    protocol = str(raw.get("protocol", "")).lower()
    if protocol not in _REQUIRED:
        raise StoreError(
            f'Unknown protocol "{protocol}" in stores["{name}"]; LabBook supports file and s3'
        )
    missing = [k for k in _REQUIRED[protocol] if k not in raw]
    if missing:
        raise StoreError(f'stores["{name}"] is missing: {", ".join(missing)}')
    invalid = [k for k in raw if k not in _ALLOWED[protocol]]
    if invalid:
        raise StoreError(f'Invalid key(s) in stores["{name}"]: {", ".join(invalid)}')
    if protocol not in ("file", "s3"):
        raise StoreError(
            f'stores["{name}"]: protocol {protocol} is not supported by LabBook (file and s3 are)'
        )
    subfolding = raw.get("subfolding")
    if subfolding is not None:
        if not isinstance(subfolding, (list, tuple)) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in subfolding
        ):
            raise StoreError(f'stores["{name}"]: subfolding must be a list of positive integers')
        subfolding = tuple(subfolding) or None
    secure = raw.get("secure", True)
    if not isinstance(secure, bool):
        raise StoreError(
            f'stores["{name}"]: secure must be true or false (a JSON boolean), not {secure!r}'
        )
    token_length = raw.get("token_length", 8)
    if not isinstance(token_length, int) or isinstance(token_length, bool):
        raise StoreError(f'stores["{name}"]: token_length must be an integer')
    spec = StoreSpec(
        name=name,
        protocol=protocol,
        location=str(raw["location"]).rstrip("/"),
        subfolding=subfolding,
        partition_pattern=raw.get("partition_pattern") or None,
        token_length=max(4, min(16, token_length)),
        hash_prefix=str(raw.get("hash_prefix", "_hash")),
        schema_prefix=str(raw.get("schema_prefix", "_schema")),
        filepath_prefix=raw.get("filepath_prefix") or None,
        endpoint=raw.get("endpoint"),
        bucket=raw.get("bucket"),
        access_key=raw.get("access_key") or None,
        secret_key=raw.get("secret_key") or None,
        secure=secure,
        proxy_server=raw.get("proxy_server") or None,
        options=dict(raw),
    )
    if protocol == "s3" and bool(spec.access_key) != bool(spec.secret_key):
        raise StoreError(f'stores["{name}"]: set both access_key and secret_key, or neither')
    _check_prefixes(spec)
    return spec


def _check_prefixes(spec: StoreSpec) -> None:
    named = [
        (key, getattr(spec, key))
        for key in ("hash_prefix", "schema_prefix", "filepath_prefix")
        if getattr(spec, key)
    ]
    for i, (key1, p1) in enumerate(named):
        for key2, p2 in named[i + 1 :]:
            a, b = p1.strip("/") + "/", p2.strip("/") + "/"
            if a.startswith(b) or b.startswith(a):
                raise StoreError(
                    f'stores["{spec.name}"]: {key1}="{p1}" and {key2}="{p2}" overlap; '
                    "store sections must be mutually exclusive"
                )


class StoreConfig:
    """The stores a connection may use (spec §5.1), validated on construction.

    Args:
        stores: ``{"default": name, "filepath_default": name, name: spec, ...}`` (as
            ``LABBOOK_STORES`` / DataJoint's ``stores`` setting); None means no stores.

    Raises:
        StoreError: a spec is invalid, or ``default``/``filepath_default`` is not the name
            of a configured store.
    """

    def __init__(self, stores: Mapping[str, Any] | None = None):
        stores = dict(stores or {})
        self.default = stores.pop("default", None)
        self.filepath_default = stores.pop("filepath_default", None)
        for key, value in (("default", self.default), ("filepath_default", self.filepath_default)):
            if value is not None and not isinstance(value, str):
                raise StoreError(f"stores.{key} must be a string (a store name)")
        for name in stores:
            if not _NAME.fullmatch(name):
                raise StoreError(f'store name "{name}" may only use letters, digits, _ and -')
        self._specs = {name: parse_store(name, raw) for name, raw in stores.items()}
        for key, value in (("default", self.default), ("filepath_default", self.filepath_default)):
            if value and value not in self._specs:
                raise StoreError(
                    f'stores.{key} is "{value}", which is not a configured store '
                    f"(configured: {', '.join(sorted(self._specs)) or 'none'})"
                )
        self._backends: dict[str, Any] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self):
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def resolve(self, name: str | None, *, filepath: bool = False) -> str:
        """The configured store name for a declared one; ``""``/None means the default
        (``filepath_default`` for ``<filepath@>``, spec §5.1).

        Raises:
            StoreError: no default is configured, or the store is not configured.
        """
        if not name:
            key = "filepath_default" if filepath else "default"
            name = self.filepath_default if filepath else self.default
            if not name:
                raise StoreError(
                    f"stores.{key} is not configured: name the store (<codec@store>) "
                    f"or set {key} in LABBOOK_STORES"
                )
        if name not in self._specs:
            raise StoreError(
                f"Storage '{name}' is requested but not configured in stores (LABBOOK_STORES)"
            )
        return name

    def spec(self, name: str | None, *, filepath: bool = False) -> StoreSpec:
        """The :class:`StoreSpec` of a store (see :meth:`resolve` for the name rules)."""
        return self._specs[self.resolve(name, filepath=filepath)]

    def backend(self, name: str | None, *, filepath: bool = False):
        """The (cached) storage backend of a store: a :class:`~.backends.FileBackend` or
        :class:`~.s3.S3Backend`."""
        spec = self.spec(name, filepath=filepath)
        if spec.name not in self._backends:
            self._backends[spec.name] = backend_for(spec)
        return self._backends[spec.name]


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
