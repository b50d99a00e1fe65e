"""Primary keys in URLs and form values: a key dict <-> a compact base64url JSON token.

Values are kept as JSON numbers and strings (dates, datetimes, times, UUIDs and decimals
become ISO/text strings, which the data model converts back when it restricts or inserts;
floats are written with the shortest text that reads back as the same double), so a
token round-trips through any URL and can be deep-linked. The same tokens carry the cursors
of table pages (the ordering attributes' values of a row, NULL included).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring

from pipeline_core.datamodel import QueryError


def _plain(value):
    """A JSON-friendly form of one key value."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, datetime.timedelta):  # a TIME column: [-]HH:MM:SS.ffffff
        micros = abs(value) // datetime.timedelta(microseconds=1)
        seconds, micros = divmod(micros, 1_000_000)
        sign = "-" if value < datetime.timedelta(0) else ""
        hours, minutes = seconds // 3600, seconds % 3600 // 60
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds % 60:02d}.{micros:06d}"
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    raise TypeError(f"cannot put a {type(value).__name__} in a key token")


def encode_key(key: dict) -> str:
    """Encode a primary-key dict (attribute order kept) as a URL-safe token."""
    text = json.dumps(key, default=_plain, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


#: base64 -> base64url (RFC 4648 §5) alphabet.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def key_encoder(names: Sequence[str]) -> Callable[[Mapping], str]:
    """A function ``encode(row) -> token`` equal to ``encode_key({n: row[n] for n in
    names})`` but several times faster for the usual keys (int and str values): the JSON
    text of the attribute names is made once, a value is written by the same rules as
    ``json.dumps`` (``int.__repr__``; ``encode_basestring``, as with ``ensure_ascii=False``),
    and any other value (a date, a float, a decimal ...) falls back to :func:`encode_key`.
    For pages that link every row (100 tokens a page)."""
    names = list(names)
    if not names:
        empty = encode_key({})
        return lambda row: empty
    heads = [("," if i else "{") + encode_basestring(n) + ":" for i, n in enumerate(names)]
    pairs = list(zip(names, heads))
    b2a = binascii.b2a_base64
    if len(names) == 1:  # the most common key: one attribute
        [(only, head)] = pairs

        def encode_one(row: Mapping) -> str:
            value = row[only]
            kind = type(value)
            if kind is int:
                text = head + int.__repr__(value) + "}"
            elif kind is str:
                text = head + encode_basestring(value) + "}"
            else:
                return encode_key({only: value})
            return b2a(text.encode(), newline=False).translate(_URLSAFE).rstrip(b"=").decode()

        return encode_one

    def encode(row: Mapping) -> str:
        parts = []
        for name, head in pairs:
            value = row[name]
            kind = type(value)
            if kind is int:
                parts.append(head + int.__repr__(value))
            elif kind is str:
                parts.append(head + encode_basestring(value))
            else:
                return encode_key({n: row[n] for n in names})
        parts.append("}")
        text = "".join(parts).encode()
        return b2a(text, newline=False).translate(_URLSAFE).rstrip(b"=").decode()

    return encode


def decode_key(token: str, *, allow_null: bool = False) -> dict:
    """Decode a token made by :func:`encode_key`; ``allow_null`` accepts ``null`` values
    (a page cursor holds the values of nullable ordering attributes too).

    Raises:
        QueryError: the token is not a valid key (so pages answer 400, not 500): not
            base64url JSON of an object, a value that is not a number or a string, or a
            number that is not finite (``NaN``, ``Infinity``, ``1e999``; no key holds one).
    """
    try:
        data = json.loads(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode(),
            parse_constant=_refuse_constant,
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise QueryError(f"{token[:40]!r} is not a valid key token") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, (int, str))
        or (isinstance(v, float) and math.isfinite(v))
        or (v is None and allow_null)
        for v in data.values()
    ):
        raise QueryError(f"{token[:40]!r} is not a valid key token")
    return data


def _refuse_constant(name: str):
    """``json.loads``' hook for ``NaN``/``Infinity``: not JSON, never in a key token."""
    raise ValueError(f"{name} in a key token")


def plain_key(key: Mapping) -> dict:
    """``key`` with its values as a token carries them (JSON numbers and strings: dates,
    datetimes, UUIDs and decimals as ISO/text strings, numpy scalars as Python ones), e.g.
    for the values of a JSON query description."""
    return json.loads(json.dumps(dict(key), default=_plain, ensure_ascii=False))


def key_label(key: dict) -> str:
    """``subject_id=1 · session_id=2``: a key as people read it."""
    return " · ".join(
        f"{name}={_plain(v) if not isinstance(v, (int, float, str)) else v}"
        for name, v in key.items()
    )
