"""Where objects live in a store: hash-addressed, schema-addressed and 0.14 paths
(spec §5.2, §5.3, §11). Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import secrets
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from .spec import StoreError, StoreSpec

#: Alphabet of the random token of schema-addressed file names (spec §5.3).
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_UNSAFE = '/\\:*?"<>|'
_HASH = re.compile(r"[a-z2-7]{26}")


def content_hash(data: bytes | bytearray | memoryview) -> str:
    """MD5 of ``data``, Base32 (RFC 4648) without padding, lower case: 26 characters
    (spec §5.2; ``b'raw bytes'`` -> ``unwli6dqh5hkrs4def2rgayp5m``)."""
    return base64.b32encode(hashlib.md5(data).digest()).decode("ascii").rstrip("=").lower()


def is_content_hash(text: str) -> bool:
    """True for a 26-character hash as :func:`content_hash` makes it."""
    return bool(_HASH.fullmatch(text))


def _folds(name: str, subfolding: tuple[int, ...] | None) -> list[str]:
    folds, start = [], 0
    for width in subfolding or ():
        folds.append(name[start : start + width])
        start += width
    return folds


def hash_path(digest: str, database: str, spec: StoreSpec) -> str:
    """Store-relative path of a hash-addressed object (spec §5.2):
    ``{hash_prefix}/{database}/[{folds}/]{digest}``."""
    if not is_content_hash(digest):
        raise StoreError(
            f"invalid content hash {digest!r} (expected 26 lower-case base32 characters)"
        )
    prefix = spec.hash_prefix.strip("/")
    return "/".join(
        [p for p in (prefix, database) if p] + _folds(digest, spec.subfolding) + [digest]
    )


def encode_key_value(value: Any) -> str:
    """A primary-key value as a path segment (spec §5.3): numbers via ``str``, datetimes
    ``%Y-%m-%dT%H-%M-%S``, dates ISO, strings verbatim unless they hold one of
    ``/\\:*?"<>|`` (percent-encoded) or exceed 100 characters (first 50 + ``_`` + 8 hex
    digits of their MD5, percent-encoded)."""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H-%M-%S")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    if len(text) > 100:
        text = text[:50] + "_" + hashlib.md5(text.encode()).hexdigest()[:8]
        return urllib.parse.quote(text, safe="")
    if any(c in text for c in _UNSAFE):
        return urllib.parse.quote(text, safe="")
    return text


def new_token(length: int) -> str:
    """A random token of ``length`` (clamped to 4–16) characters of :data:`TOKEN_ALPHABET`."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(max(4, min(16, length))))


def object_path(
    spec: StoreSpec,
    database: str,
    table: str,
    attribute: str,
    key: Mapping[str, Any],
    ext: str | None = None,
    token: str | None = None,
) -> str:
    """Store-relative path of a schema-addressed object (spec §5.3)::

        {schema_prefix}/[{partition k=v}/]{database}/{table}/{k=v}/.../{attribute}_{token}{ext}

    ``key`` is the row's primary key in heading order; attributes named in the store's
    ``partition_pattern`` move in front of the database name. ``ext`` gets a leading dot.
    """
    name = f"{attribute}_{token or new_token(spec.token_length)}"
    if ext:
        name += ext if ext.startswith(".") else "." + ext
    partition = re.findall(r"\{(\w+)\}", spec.partition_pattern or "")
    parts = [spec.schema_prefix.strip("/")] if spec.schema_prefix.strip("/") else []
    parts += [f"{k}={encode_key_value(key[k])}" for k in partition if k in key]
    parts += [database, table]
    parts += [f"{k}={encode_key_value(v)}" for k, v in key.items() if k not in partition]
    return "/".join([*parts, name])


def legacy_path(
    database: str, digest: uuid.UUID, spec: StoreSpec, attachment_name: str | None = None
) -> str:
    """Store-relative path of a DataJoint 0.14 external blob or attachment (spec §11):
    ``{database}/{hex[0:2]}/{hex[2:4]}/{hex}[.{attachment_name}]`` with the store's
    subfolding (0.14's default ``(2, 2)`` when none is configured)."""
    hexdigest = digest.hex
    name = f"{hexdigest}.{attachment_name}" if attachment_name else hexdigest
    return "/".join([database, *_folds(hexdigest, spec.legacy_subfolding), name])


def legacy_hash(data: bytes) -> uuid.UUID:
    """The 0.14 ``~external_<store>`` hash: the MD5 of ``data`` as a UUID (spec §11)."""
    return uuid.UUID(bytes=hashlib.md5(data).digest())
