"""Python values <-> column values, per attribute (spec §2.2 fetch/insert encodings, §4).

``encode`` prepares a value for a driver parameter (insert, restriction); ``decode``
turns what PyMySQL returns into the value a DataJoint user expects.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
import uuid
from typing import Any

import numpy as np

from . import domains
from .codecs import blob
from .errors import DataJointError, InvalidValueError
from .heading import Attribute
from .stores.config import StoreError
from .stores.decode import (
    ReadContext,
    decode_legacy,
    decode_stored,
    deliver_attachment,
    split_attachment,
)
from .stores.encode import attachment_bytes
from .types import type_family

#: Marker returned by :func:`encode` for "send SQL DEFAULT" (None, NaN, '' numerics).
DEFAULT = object()


#: Dates and datetimes as people type them and spreadsheets copy them: ISO order, one- or
#: two-digit month, day, hour, minute and second, seconds and fractions optional, a space or
#: ``T`` between date and time (what the server itself accepts in a string literal).
_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?"
)


def parse_datetime(text: str, date_only: bool = False) -> datetime.datetime:
    """A ``YYYY-M-D[ H:M[:S[.f]]]`` text as a datetime (a date at midnight); other ISO 8601
    forms through :meth:`datetime.datetime.fromisoformat`.

    Raises:
        ValueError: not a date (or, ``date_only``, a date with a time of day).
    """
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        parsed = datetime.datetime.fromisoformat(text.strip())
    else:
        year, month, day, hour, minute, second, fraction = match.groups()
        parsed = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
        if date_only and hour is not None:
            raise ValueError(f"{text.strip()!r} is a date and time, not a date")
    return parsed


def _stored_elsewhere(attr: Attribute, table: str | None) -> DataJointError:
    return DataJointError(
        f"{table or 'table'}: attribute `{attr.name}` ({attr.type}) holds store metadata; its "
        "values are written by insert (and cannot restrict a query)",
        table=table,
        attribute=attr.name,
    )


def encode(attr: Attribute, value: Any, table: str | None = None) -> Any:
    """Encode one value for ``attr`` as a driver parameter, or :data:`DEFAULT`.

    Raises:
        InvalidValueError: the value cannot be stored in the attribute (names table,
            attribute and reason).
    """
    if value is None:
        return DEFAULT
    if isinstance(value, np.generic) and not (attr.is_blob or attr.codec == "blob"):
        value = value.item()
    try:
        if attr.is_blob or (attr.codec == "blob" and attr.store is None):
            return blob.pack(value)
        if attr.codec == "attach" and attr.store is None:
            return attachment_bytes(value)
        if attr.codec is not None:
            raise _stored_elsewhere(attr, table)
        if attr.is_uuid:
            return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).bytes
        if attr.type in ("json", "jsonb"):
            return json.dumps(value)
        base, family = attr.base_type, type_family(attr.type)
        if family == "bool":
            if isinstance(value, str):
                value = {"true": 1, "1": 1, "false": 0, "0": 0}[value.strip().lower()]
            return int(bool(value))
        if family == "integer":
            if (isinstance(value, float) and math.isnan(value)) or value == "":
                return DEFAULT
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("not an integer")
            return int(value)
        if family in ("float", "decimal"):
            if value == "" or (isinstance(value, float) and math.isnan(value)):
                return DEFAULT
            if family == "decimal":  # exactly: "0.1" stays 0.1, not a double
                number = (
                    value
                    if isinstance(value, decimal.Decimal)
                    else decimal.Decimal(value if isinstance(value, int) else str(value).strip())
                )
                if not number.is_finite():
                    raise ValueError("not a finite number")
                return number
            number = float(value)
            if not math.isfinite(number):
                raise ValueError("not a finite number")
            return number
        if base == "date" and isinstance(value, str):
            return parse_datetime(value, date_only=True).date().isoformat()
        if base == "datetime" and isinstance(value, str):
            return parse_datetime(value).isoformat(sep=" ")
        if attr.is_bytes and not isinstance(value, (bytes, bytearray, memoryview)):
            raise ValueError("raw bytes columns accept only bytes")
        if isinstance(value, str):
            value.encode("utf-8")  # a lone surrogate cannot be stored: UnicodeEncodeError
        return value
    except DataJointError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError, decimal.InvalidOperation) as exc:
        raise InvalidValueError(
            f"{table or 'table'}: invalid value {value!r} for attribute `{attr.name}` "
            f"of type {attr.type}: {exc or 'wrong type'}",
            table=table,
            attribute=attr.name,
        ) from None


def encode_for_write(attr: Attribute, value: Any, table: str | None = None) -> Any:
    """Encode a value to be written (insert, update1, the batch check): :func:`encode`,
    then the column's domain (:func:`.domains.check`: integer ranges, float32, decimal
    digits, lengths, enum members, times), so a refusal names the rule rather than the
    server's message. Restrictions use plain :func:`encode` (a value out of a column's
    domain simply matches nothing there).

    Raises:
        InvalidValueError: the value cannot be stored in the attribute (names table,
            attribute and reason).
    """
    encoded = encode(attr, value, table)
    if encoded is DEFAULT or encoded is None:
        return encoded
    return domains.check(attr, encoded, table, value)


def needs_decoding(attr: Attribute) -> bool:
    """False when :func:`decode` returns ``attr``'s fetched values as the driver gives them
    (numbers, text, dates and times, raw bytes), so that a reader may skip calling it."""
    return bool(
        attr.is_blob
        or attr.is_legacy_reference
        or attr.is_uuid
        or attr.store is not None
        or attr.codec == "attach"
        or attr.is_json
    )


def decode(
    attr: Attribute, raw: Any, table: str | None = None, context: ReadContext | None = None
) -> Any:
    """Decode one fetched value for ``attr`` (blobs unpacked, uuid and json parsed).

    Legacy (0.14) unmarked blob columns that do not hold a DataJoint blob are returned as
    raw bytes (spec §11). Attachments come back as the path (``str``) of the file saved
    into ``context.attachment_folder`` (``download_path``, by default ``"."``; spec §5.5,
    :func:`.stores.decode.deliver_attachment`), or as an :class:`~.stores.refs.Attachment`
    when the context is lazy without ``download_path`` or when there is no context.
    Stored values (2.x ``<codec@store>`` JSON and 0.14 ``~external`` references) are read
    through ``context`` (:func:`.stores.decode.decode_stored` / ``decode_legacy``); without
    a context they come back undecoded: the metadata dict, or the 0.14 hash as a UUID.

    Raises:
        DataJointError: the stored value cannot be decoded (names the attribute).
        StoreError: a store is missing, unreachable, or the object is missing or corrupt
            (names the attribute).
        OSError: an attachment (or, with ``download_path``, an object) cannot be saved
            locally (unwrapped, as DataJoint raises it).
    """
    if raw is None:
        return None
    try:
        if attr.is_blob:
            try:
                return blob.unpack(raw)
            except blob.BlobError:
                if attr.codec is None:  # legacy unmarked blob holding raw bytes
                    return bytes(raw)
                raise
        if attr.is_legacy_reference:
            digest = uuid.UUID(bytes=bytes(raw))
            return digest if context is None else decode_legacy(attr, digest, context)
        if attr.is_uuid:
            return uuid.UUID(bytes=bytes(raw))
        if attr.store is not None:
            return (
                json.loads(raw)
                if context is None
                else decode_stored(attr.codec, attr.store, raw, context)
            )
        if attr.codec == "attach":
            attachment = split_attachment(bytes(raw))
            return attachment if context is None else deliver_attachment(attachment, context)
        if attr.is_json:
            return json.loads(raw)
        return raw
    except StoreError as exc:
        raise StoreError(
            f"{table or 'table'}: attribute `{attr.name}` ({attr.type}): {exc}",
            table=table,
            attribute=attr.name,
        ) from exc
    except (ValueError, TypeError) as exc:
        raise DataJointError(
            f"{table or 'table'}: cannot decode the value of `{attr.name}` ({attr.type}): {exc}",
            table=table,
            attribute=attr.name,
        ) from None
