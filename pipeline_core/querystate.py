"""JSON query descriptions in URLs: a description <-> a compact, URL-safe ``q`` token.

The token is the description's compact JSON (UTF-8), compressed with raw DEFLATE (RFC 1951,
no zlib header, as the browser's ``CompressionStream("deflate-raw")`` writes it) and encoded
as base64url without padding (RFC 4648 §5). A ``q`` value that starts with ``{`` is read as
plain JSON, so people and scripts may also write a description straight into a URL.

This is the one encoding of query state in URLs: the query builder (``/query/?q=``), the
table pages' filters and the export links all use it.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from pipeline_core.datamodel import QueryError

#: Largest decoded description accepted (bytes of JSON): a bound against compression bombs.
MAX_DECODED = 256 * 1024


def encode_description(description) -> str:
    """Encode a JSON-serialisable description (usually a dict) as a ``q`` token.

    Raises:
        TypeError: the description holds a value JSON cannot represent.
    """
    text = json.dumps(description, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(text.encode()) + packer.flush()
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_description(token: str):
    """Decode a ``q`` token made by :func:`encode_description` (or plain JSON text).

    Returns:
        The decoded JSON value (the caller checks that it is a description).
    Raises:
        QueryError: not base64url of raw DEFLATE of UTF-8 JSON, longer than
            :data:`MAX_DECODED` bytes once decoded, or JSON with ``NaN``/``Infinity``.
    """
    token = token.strip()
    if token.startswith("{"):
        text = token.encode()
    else:
        try:
            packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            unpacker = zlib.decompressobj(-15)
            text = unpacker.decompress(packed, MAX_DECODED + 1)
        except (binascii.Error, ValueError, zlib.error):
            raise QueryError(f"{token[:40]!r} is not a valid query token") from None
        if len(text) > MAX_DECODED or unpacker.unconsumed_tail:
            raise QueryError(f"the query token decodes to more than {MAX_DECODED} bytes")
        if not unpacker.eof:
            raise QueryError(f"{token[:40]!r} is not a valid query token (truncated)")
    if len(text) > MAX_DECODED:
        raise QueryError(f"the query description is longer than {MAX_DECODED} bytes")
    try:
        return json.loads(text.decode(), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise QueryError(f"the query token is not valid JSON: {error}") from None


def _refuse_constant(name: str):
    """``json.loads``' hook for ``NaN``/``Infinity``: not JSON, never in a description."""
    raise ValueError(f"{name} is not JSON")
