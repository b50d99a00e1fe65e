"""DataJoint blob serialization: the ``<blob>`` codec (spec §4, legacy 0.14 blobs §11).

Byte-compatible with ``datajoint.blob`` of DataJoint 2.3.5 (and 0.14, same format)::

    blob = PROTOCOL + packed(obj)                            # PROTOCOL "mYm\\0" or "dj0\\0"
         | "ZL123\\0" + u64(len(uncompressed)) + zlib(uncompressed)

:func:`pack` writes it, :func:`unpack` reads it. ``MatStruct`` and ``MatCell`` are the
MATLAB struct and cell arrays (numpy ndarray subclasses, see their docstrings).
Deliberate differences from DataJoint 2.3.5, all on inputs DataJoint mishandles:

* big-endian (non-native) arrays are packed (as little-endian) instead of refused;
* multi-dimensional char (``S1``) arrays are written in Fortran order like all other
  arrays (DataJoint writes C order, then reads its own data back transposed);
  char data are read as UTF-16 code units (DataJoint keeps only the low byte);
* object arrays and cells whose elements are equal-length sequences unpack to the
  right shape (DataJoint's ``np.array(list)`` merges them or fails); empty cells
  keep their shape; a ``MatStruct`` without fields packs without the stray ``\\0``;
* an unknown protocol raises :class:`BlobError` (DataJoint returns None), and every
  corrupt input raises :class:`BlobError` (never another exception type);
* with ``squeeze=True`` the fields of a record array are not squeezed one by one
  (which breaks DataJoint), the record array itself is.
"""

from __future__ import annotations

import struct
import sys
import zlib
from typing import Any

from .blob_pack import BlobPacker
from .blob_types import DJ0, MYM, ZL123, BlobError, MatCell, MatStruct
from .blob_unpack import BlobReader

__all__ = ["BlobError", "MatCell", "MatStruct", "pack", "unpack"]

#: Blobs up to this many bytes are never compressed (spec §4.1).
COMPRESSION_THRESHOLD = 1000
#: Deflate cannot expand data by more than this factor (2-bit codes for 258-byte matches).
_MAX_DEFLATE_RATIO = 1032
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def pack(obj: Any, compress: bool = True) -> bytes:
    """Serialize ``obj`` into a DataJoint blob (spec §4.1–4.3).

    Supported: numpy arrays of bool, int8–uint64, float32/64, complex64/128,
    datetime64 (units Y … as), char ``S1``, unicode and object dtype (any shape and
    memory layout, any byte order), structured arrays and recarrays, numpy scalars (as
    0-d arrays), ``MatStruct``, ``MatCell``, None, bool, int (up to 65535 bytes),
    float, complex, str, bytes, bytearray, Decimal, UUID, date/time/datetime (tzinfo is
    dropped), and any nesting of mappings, sequences and sets of these.

    The header is ``mYm\\0`` unless some part needs the ``dj0\\0`` extension (spec §4.1).
    With ``compress``, a blob longer than 1000 bytes is zlib-compressed (default level)
    when that makes it strictly shorter. The result is byte-identical to
    ``datajoint.blob.pack`` of DataJoint 2.3.5 (exceptions listed in the module doc).
    A large numeric array is copied at most twice (Fortran reordering, final join).

    Raises:
        BlobError: a part of ``obj`` has an unsupported type or dtype, an int is too
            long, a str is not encodable, or the nesting is too deep / self-referential.
    """
    packer = BlobPacker()
    try:
        packer.pack(obj)
    except RecursionError as exc:
        raise BlobError("cannot pack: the object is nested too deeply or contains itself") from exc
    blob = b"".join([DJ0 if packer.needs_dj0 else MYM, *packer.chunks])
    del packer
    if compress and len(blob) > COMPRESSION_THRESHOLD:
        compressed = zlib.compress(blob)
        if len(ZL123) + 8 + len(compressed) < len(blob):
            return b"".join((ZL123, _U64.pack(len(blob)), compressed))
    return blob


def unpack(data: bytes | bytearray | memoryview, squeeze: bool = False, *, use_32bit_dims: bool = False) -> Any:
    """Deserialize a DataJoint blob written by :func:`pack`, DataJoint (0.14, 2.x) or MATLAB mYm.

    Returns the value with the types listed in spec §4.2: ``A`` arrays come back as
    numpy arrays of the stored shape (reshaped in Fortran order) and dtype (complex
    data as complex64/complex128, datetime64 with its unit, unicode and object arrays
    as object arrays, a char row vector as a 1-element unicode array); a 0-d numeric,
    logical or datetime64 array comes back as a numpy scalar (``np.float64(3.14)``),
    as in DataJoint. Other numeric, logical and datetime64 arrays are **read-only
    zero-copy views** on ``data`` (on the decompressed bytes for compressed blobs;
    complex arrays are assembled into a new array from their two halves). ``F`` gives a
    ``numpy.recarray``, ``S`` a :class:`MatStruct` (object fields), ``C`` a
    :class:`MatCell`; the Python types come back as themselves (tuple, list, set,
    dict, str, bytes, int, bool, float, complex, Decimal, UUID, date/time/datetime).

    Args:
        data: the blob (bytes, bytearray or a contiguous memoryview).
        squeeze: drop singleton dimensions of arrays, structs and cells; 0-d ``A``
            arrays become Python scalars (spec §4.1).
        use_32bit_dims: read lengths, counts and shapes as u32 (blobs of the 32-bit
            MATLAB mYm library) instead of u64.

    Raises:
        BlobError: unknown protocol header (the message shows it; a caller that wants
            raw bytes catches this), MATLAB sparse array, or corrupt/truncated data (the
            message names what was being read and the byte offset, counted in the
            decompressed blob for ``ZL123`` blobs).
        TypeError: ``data`` is not a contiguous bytes-like object.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"unpack needs bytes, bytearray or memoryview, not {type(data).__name__}")
    buf = memoryview(data).cast("B")
    compressed = buf[:len(ZL123)] == ZL123
    if compressed:
        buf = _decompress(buf, use_32bit_dims)
    header = bytes(buf[:len(MYM)])
    if len(header) < len(MYM) and (MYM.startswith(header) or DJ0.startswith(header)):
        raise BlobError(f"truncated blob: protocol header {header!r} at byte offset 0")
    if header not in (MYM, DJ0):
        raise BlobError(f"not a DataJoint blob: unknown protocol header {bytes(buf[:8])!r} "
                        f"(expected {MYM!r} or {DJ0!r})")
    reader = BlobReader(buf, len(header), squeeze=squeeze, use_32bit_dims=use_32bit_dims)
    try:
        value = reader.read()
    except BlobError as exc:
        if compressed:
            raise BlobError(f"{exc} (offset in the decompressed blob)") from exc
        raise
    except RecursionError as exc:
        raise BlobError(f"corrupt blob: nesting too deep at byte offset {reader.pos}") from exc
    except (ValueError, TypeError, ArithmeticError, LookupError) as exc:  # safety net
        raise BlobError(f"corrupt blob at byte offset {reader.pos}: {exc}") from exc
    if reader.pos != len(buf):
        raise BlobError(f"blob length check failed: the value ends at byte offset {reader.pos} "
                        f"but the blob has {len(buf)} bytes")
    return value


def _decompress(buf: memoryview, use_32bit_dims: bool) -> memoryview:
    """Inflate a ``ZL123`` blob, refusing sizes its compressed length cannot hold."""
    size_field = _U32 if use_32bit_dims else _U64
    start = len(ZL123) + size_field.size
    if len(buf) < start:
        raise BlobError(f"truncated blob: the uncompressed size at byte offset {len(ZL123)} "
                        f"needs {size_field.size} bytes, only {len(buf) - len(ZL123)} left")
    (size,) = size_field.unpack_from(buf, len(ZL123))
    payload = buf[start:]
    if size > _MAX_DEFLATE_RATIO * len(payload) + 1024:
        raise BlobError(f"corrupt blob: declared uncompressed size {size} cannot come from "
                        f"{len(payload)} compressed bytes")
    inflater = zlib.decompressobj()
    try:
        blob = inflater.decompress(payload, min(size + 1, sys.maxsize))
    except zlib.error as exc:
        raise BlobError(f"corrupt blob: zlib data at byte offset {start}: {exc}") from exc
    if len(blob) > size:
        raise BlobError(f"corrupt blob: zlib data at byte offset {start} inflate to more than "
                        f"the declared {size} bytes")
    if not inflater.eof:
        raise BlobError(f"truncated blob: zlib data at byte offset {start} end before the stream does")
    if len(blob) != size:
        raise BlobError(f"blob size mismatch: declared {size} bytes, zlib data inflate to {len(blob)}")
    return memoryview(blob)
