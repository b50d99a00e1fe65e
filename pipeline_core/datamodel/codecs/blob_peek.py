"""Header peek: what a DataJoint blob holds, from its first few KiB (spec §4.1–4.3).

For browsing a table of blobs ("float64 array 1000×64, compressed, 4.2 MB") without
fetching or inflating whole blobs: fetch ``PEEK_BYTES`` of each blob and its length
(e.g. ``SUBSTRING(col, 1, 4096)`` and ``LENGTH(col)``) and call :func:`peek`.

peek reads only the envelope (spec §4.1) and the first value's header (spec §4.2–4.3):
at most ``PEEK_LIMIT`` bytes of the blob, after inflating at most that much of a
``ZL123`` stream. It does not validate what it does not read (:func:`.blob.unpack`
does); what it reads is checked as strictly as unpack checks it.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .blob_types import CHAR, DJ0, MYM, TYPE_ID_DTYPES, VOID, ZL123, BlobError

__all__ = ["PEEK_BYTES", "PEEK_LIMIT", "BlobSummary", "peek"]

#: Recommended prefix length to fetch for :func:`peek`.
PEEK_BYTES = 4096
#: Most bytes of the (inflated) blob peek looks at; also bounds its allocations.
PEEK_LIMIT = 64 * 1024
_MAX_NDIM = 64  # numpy's limit, as in unpack
_MAX_DEFLATE_RATIO = 1032
_MAX_RECORD_DEPTH = 8
_INFLATE_STEP = 16 * 1024
_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TYPE_AND_COMPLEX = struct.Struct("<II")
_DATETIME = struct.Struct("<iq")
#: Body code -> (kind, least bytes per item) of containers; -> Python type name of scalars
#: (spec §4.2).
_SEQUENCES = MappingProxyType(
    {0x01: ("tuple", 9), 0x02: ("list", 9), 0x03: ("set", 9), 0x04: ("dict", 18)}
)
_SCALARS = MappingProxyType(
    {
        0x0A: "int",
        0x0B: "bool",
        0x0C: "complex",
        0x0D: "float",
        ord("d"): "Decimal",
        ord("u"): "UUID",
    }
)


@dataclass(frozen=True)
class BlobSummary:
    """What a blob holds, as far as its prefix shows (see :func:`peek`).

    Attributes:
        kind: ``'array'`` (body ``A``: numeric, logical, char, datetime64 or object
            array, 0-d for numpy scalars), ``'recarray'`` (``F``), ``'struct'`` (``S``),
            ``'cell'`` (``C``), ``'sparse'`` (``P``, which unpack refuses), ``'none'``,
            ``'tuple'``, ``'list'``, ``'set'``, ``'dict'``, ``'str'``, ``'bytes'``,
            ``'scalar'`` (Python int, bool, float, complex, Decimal, date/time, UUID), or
            ``'unknown'`` when the prefix ends before the first value's code byte.
        dtype: for ``'array'``, the numpy dtype name of the unpacked elements
            (``'float64'``, ``'complex64'``, ``'bool'``, ``'datetime64[ns]'``;
            ``'object'`` for object and unicode arrays; ``'str'`` for MATLAB char
            arrays); for ``'scalar'``, the Python type name (``'int'``, ``'bool'``,
            ``'float'``, ``'complex'``, ``'Decimal'``, ``'date'``, ``'time'``,
            ``'datetime'``, ``'UUID'``); None otherwise or when cut off.
        shape: stored shape of an ``'array'``, ``'struct'`` or ``'cell'`` (before any
            squeeze; a char row vector unpacks to one string), of a ``'recarray'`` (its
            first field's shape); None otherwise or when cut off.
        compressed: the blob is a ``ZL123`` (zlib) blob.
        packed_size: bytes of the uncompressed blob (header included): from the
            ``ZL123`` header, or ``total_size`` for an uncompressed blob; else None.
        stored_size: bytes of the blob as stored (``total_size``), or None.
        length: items of a tuple/list/set/dict, UTF-8 bytes of a str, bytes of bytes.
        fields: field names of a ``'struct'`` or ``'recarray'``, None when cut off.
    """

    kind: str
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    compressed: bool = False
    packed_size: int | None = None
    stored_size: int | None = None
    length: int | None = None
    fields: tuple[str, ...] | None = None


class _Cut(Exception):
    """The prefix ends here (internal: fields not read yet stay None)."""


class _Cursor:
    """Reads ``buf[pos:avail]`` of a blob whose length is ``end`` (None if unknown)."""

    def __init__(self, buf: memoryview, avail: int, end: int | None, dim: struct.Struct):
        self.buf, self.pos, self.avail, self.end, self.dim = buf, 0, avail, end, dim

    def need(self, n_bytes: int, what: str) -> None:
        if self.end is not None and self.pos + n_bytes > self.end:
            raise BlobError(
                f"truncated blob: {what} needs {n_bytes} bytes at byte offset {self.pos}, "
                f"only {self.end - self.pos} left"
            )
        if self.pos + n_bytes > self.avail:
            raise _Cut

    def fits(self, n_bytes: int, what: str, offset: int) -> None:
        """Refuse ``n_bytes`` of content that cannot fit in the rest of the blob (if known)."""
        if self.end is not None and n_bytes > self.end - self.pos:
            raise BlobError(
                f"corrupt blob: {what} at byte offset {offset} needs {n_bytes} bytes, "
                f"only {self.end - self.pos} left"
            )

    def fields(self, fmt: struct.Struct, what: str) -> tuple:
        self.need(fmt.size, what)
        values = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return values

    def length(self, what: str) -> int:
        return self.fields(self.dim, what)[0]

    def shape(self, what: str) -> tuple[int, ...]:
        start = self.pos
        ndim = self.length(f"{what} ndim")
        if ndim > _MAX_NDIM:
            raise BlobError(
                f"corrupt blob: {what} ndim {ndim} at byte offset {start} exceeds {_MAX_NDIM}"
            )
        shape = self.fields(struct.Struct(f"<{ndim}{self.dim.format[-1]}"), f"{what} shape")
        if math.prod(d for d in shape if d) > sys.maxsize // 16:
            raise BlobError(
                f"corrupt blob: {what} shape {shape} at byte offset {start} is too large"
            )
        return shape

    def names(self, count: int, what: str) -> tuple[str, ...]:
        """``count`` zero-terminated UTF-8 names (searched in the bytes available only)."""
        stop = self.avail if self.end is None else min(self.avail, self.end)
        window = bytes(self.buf[self.pos : stop])  # at most PEEK_LIMIT bytes
        names, at = [], 0
        for _ in range(count):
            zero = window.find(0, at)
            if zero < 0:
                self.need(len(window) + 1, what)  # BlobError if the blob ends here, else _Cut
                raise _Cut  # pragma: no cover (need always raises here)
            try:
                names.append(window[at:zero].decode())
            except UnicodeDecodeError as exc:
                raise BlobError(
                    f"corrupt blob: {what} at byte offset {self.pos + at} is not UTF-8"
                ) from exc
            at = zero + 1
        self.pos += at
        return tuple(names)


def peek(
    prefix: bytes | bytearray | memoryview,
    total_size: int | None = None,
    *,
    use_32bit_dims: bool = False,
) -> BlobSummary:
    """Summarize a blob from its first bytes (spec §4.1 envelope, §4.2–4.3 headers).

    Args:
        prefix: the first bytes of the blob (``PEEK_BYTES`` = 4 KiB is plenty for any
            array, cell, dict or list; struct/recarray field names may need more), or
            the whole blob. Only the first ``PEEK_LIMIT`` (64 KiB) are looked at.
        total_size: the blob's full length in bytes, if known; it is reported as
            ``stored_size`` (and ``packed_size`` for an uncompressed blob) and lets peek
            tell a short prefix from a truncated blob.
        use_32bit_dims: lengths, counts and shapes are u32 (32-bit MATLAB mYm).

    Returns:
        A :class:`BlobSummary`. Fields the prefix does not reach are None; if it ends
        before the first value's code byte (inflated, for ``ZL123``), ``kind`` is
        ``'unknown'``. Memory: at most ``PEEK_LIMIT`` bytes are inflated or copied.

    Raises:
        BlobError: the bytes cannot be a blob: unknown protocol header or body code or
            array type id, corrupt zlib data, an impossible ndim/shape/count or one that
            cannot fit in ``total_size`` (or in the ``ZL123`` declared size), names that
            are not UTF-8, or a header cut short where ``total_size`` says the blob ends.
            Never any other exception for any bytes.
        TypeError: ``prefix`` is not a contiguous bytes-like object.
        ValueError: ``total_size`` is negative or shorter than ``prefix``.
    """
    if not isinstance(prefix, (bytes, bytearray, memoryview)):
        raise TypeError(f"peek needs bytes, bytearray or memoryview, not {type(prefix).__name__}")
    buf = memoryview(prefix).cast("B")
    if total_size is not None and not len(buf) <= total_size:
        raise ValueError(f"total_size {total_size} is shorter than the {len(buf)}-byte prefix")
    dim = _U32 if use_32bit_dims else _U64
    compressed = bytes(buf[: len(ZL123)]) == ZL123
    info: dict = {"kind": "unknown", "compressed": compressed, "stored_size": total_size}
    try:
        if compressed:
            cursor = _inflated(buf, total_size, dim, info)
        else:
            info["packed_size"] = total_size
            cursor = _Cursor(buf, min(len(buf), PEEK_LIMIT), total_size, dim)
        _protocol(cursor, (MYM, DJ0) if compressed else (MYM, DJ0, ZL123))
        _describe(cursor, info)
    except _Cut:
        pass
    return BlobSummary(**info)


def _protocol(cursor: _Cursor, headers: tuple[bytes, ...]) -> None:
    """Check the protocol header (or a prefix of one of ``headers``) and skip it."""
    head = bytes(cursor.buf[: min(cursor.avail, len(ZL123))])
    if head[: len(MYM)] in (MYM, DJ0):
        cursor.pos = len(MYM)
        return
    if not any(len(head) < len(h) and h.startswith(head) for h in headers):
        raise BlobError(
            f"not a DataJoint blob: unknown protocol header {head!r} "
            f"(expected {MYM!r}, {DJ0!r} or {ZL123!r})"
        )
    cursor.need(len(head) + 1, "protocol header")  # BlobError if the blob ends here, else _Cut


def _inflated(buf: memoryview, total_size: int | None, dim: struct.Struct, info: dict) -> _Cursor:
    """Cursor on the first ``PEEK_LIMIT`` inflated bytes of a ``ZL123`` blob.

    The payload is fed 16 KiB at a time (at most ``4 * PEEK_LIMIT`` of it), so neither
    the output nor zlib's unconsumed-input copy exceeds a few tens of KiB.
    """
    start = len(ZL123) + dim.size
    if len(buf) < start:
        if total_size is not None and total_size == len(buf):
            raise BlobError(
                f"truncated blob: the uncompressed size at byte offset {len(ZL123)} "
                f"needs {dim.size} bytes, only {len(buf) - len(ZL123)} left"
            )
        raise _Cut
    (size,) = dim.unpack_from(buf, len(ZL123))
    if total_size is not None and size > _MAX_DEFLATE_RATIO * (total_size - start) + 1024:
        raise BlobError(
            f"corrupt blob: declared uncompressed size {size} cannot come from "
            f"{total_size - start} compressed bytes"
        )
    info["packed_size"] = size
    inflater, wanted, pieces, produced = zlib.decompressobj(), min(size, PEEK_LIMIT), [], 0
    for begin in range(start, min(len(buf), start + 4 * PEEK_LIMIT), _INFLATE_STEP):
        if produced >= wanted or inflater.eof:
            break
        try:
            pieces.append(
                inflater.decompress(buf[begin : begin + _INFLATE_STEP], wanted - produced)
            )
        except zlib.error as exc:
            raise BlobError(f"corrupt blob: zlib data at byte offset {start}: {exc}") from exc
        produced += len(pieces[-1])
    if inflater.eof and produced < wanted:
        raise BlobError(
            f"blob size mismatch: declared {size} bytes, zlib data inflate to {produced}"
        )
    data = b"".join(pieces)
    return _Cursor(memoryview(data), len(data), size, dim)


def _describe(cursor: _Cursor, info: dict) -> None:
    """Fill ``info`` from the first value's header, in the order the bytes come."""
    start = cursor.pos
    (code,) = cursor.fields(_U8, "body code")
    if code == ord("A"):
        info["kind"] = "array"
        _array(cursor, info, start)
    elif code == ord("F"):
        info["kind"] = "recarray"
        _record(cursor, info, start, 0)
    elif code in (ord("S"), ord("C")):
        info["kind"] = "struct" if code == ord("S") else "cell"
        info["shape"] = shape = cursor.shape(info["kind"])
        if code == ord("S"):
            _struct_fields(cursor, info, math.prod(shape), start)
        else:
            cursor.fits(9 * math.prod(shape), "cell elements", start)
    elif code == ord("P"):
        info["kind"] = "sparse"
    elif code == 0xFF:
        info["kind"] = "none"
    elif code in _SEQUENCES:
        info["kind"], min_item = _SEQUENCES[code]
        info["length"] = count = cursor.length(f"{info['kind']} count")
        cursor.fits(count * min_item, f"{info['kind']} items", start)
    elif code in (0x05, 0x06):
        info["kind"] = "str" if code == 0x05 else "bytes"
        info["length"] = length = cursor.length(f"{info['kind']} length")
        cursor.fits(length, info["kind"], start)
    elif code in _SCALARS or code == ord("t"):
        info["kind"] = "scalar"
        if code != ord("t"):
            info["dtype"] = _SCALARS[code]
            return
        date_code, time_code = cursor.fields(_DATETIME, "date/time")
        info["dtype"] = "time" if date_code < 0 else "date" if time_code < 0 else "datetime"
    else:
        raise BlobError(f"corrupt blob: unknown body code 0x{code:02x} at byte offset {start}")


def _array(cursor: _Cursor, info: dict, start: int) -> None:
    info["shape"] = shape = cursor.shape("array")
    type_id, is_complex = cursor.fields(_TYPE_AND_COMPLEX, "array type id")
    count = math.prod(shape)
    if type_id == VOID:
        info["dtype"] = "object"
        cursor.fits(9 * count, "object array elements", start)
        return
    if type_id == CHAR:
        info["dtype"] = "str"
        cursor.fits(2 * count, "char array data", start)
        return
    dtype = TYPE_ID_DTYPES.get(type_id)
    if dtype is None:
        raise BlobError(f"corrupt blob: unsupported array type id {type_id} at byte offset {start}")
    if is_complex and dtype.kind == "M":
        raise BlobError(f"corrupt blob: complex datetime64 array at byte offset {start}")
    info["dtype"] = np.result_type(dtype, 1j).name if is_complex else dtype.name
    cursor.fits(count * dtype.itemsize * (2 if is_complex else 1), "array data", start)


def _record(cursor: _Cursor, info: dict, start: int, depth: int) -> None:
    """``F``: field names, then the shape of the first field (nested ``F`` followed)."""
    (n_fields,) = cursor.fields(_U32, "record array field count")
    if not n_fields:
        info.update(kind="array", dtype="object", shape=())  # unpacks to np.array(None)
        return
    cursor.fits(2 * n_fields, "record array fields", start)
    names = cursor.names(n_fields, "record array field name")
    if depth == 0:
        info["fields"] = names
    field_start = cursor.pos
    (code,) = cursor.fields(_U8, "record array field code")
    if code == ord("A"):
        info["shape"] = cursor.shape("record array field")
    elif code == ord("F") and depth < _MAX_RECORD_DEPTH:
        _record(cursor, info, field_start, depth + 1)
    elif code != ord("F"):
        raise BlobError(
            f"corrupt blob: record array field at byte offset {field_start} "
            f"is not an array (body code 0x{code:02x})"
        )


def _struct_fields(cursor: _Cursor, info: dict, count: int, start: int) -> None:
    (n_fields,) = cursor.fields(_U32, "struct field count")
    if not n_fields:
        info.update(kind="array", dtype="object", shape=())  # unpacks to np.array(None)
        return
    cursor.fits(n_fields, "struct field names", start)
    info["fields"] = cursor.names(n_fields, "struct field name")
    cursor.fits(9 * count * n_fields, "struct values", start)
