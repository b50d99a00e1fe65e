"""Body encoder of DataJoint blobs (spec §4.2–4.3).

:class:`BlobPacker` turns one Python object into the list of byte chunks of its body
(no protocol header, no compression: see :func:`.blob.pack`) and records whether the
``dj0`` protocol is needed. Chunks are ``bytes`` or flat ``uint8`` numpy views, so a
Fortran-contiguous little-endian array is not copied until the final join.
"""

from __future__ import annotations

import collections.abc
import datetime
import struct
import uuid
from decimal import Decimal
from typing import Any

import numpy as np

from .blob_types import CHAR, VOID, BlobError, MatCell, MatStruct, type_id_of

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_BOOL_BODIES = (b"\x0b\x00", b"\x0b\x01")


def _u64(n: int) -> bytes:
    return _U64.pack(n)


def _flat_fortran(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Elements of ``array`` as ``dtype`` in Fortran order, as a flat uint8 array.

    No copy if ``array`` is already Fortran-contiguous with that dtype; else one copy.
    """
    fortran = array.astype(dtype, order="F", copy=False)
    return fortran.reshape(-1, order="F").view(np.uint8)


class BlobPacker:
    """Packs one object into body chunks (spec §4.2).

    Attributes:
        chunks: bytes-like pieces whose concatenation is ``packed(obj)``.
        needs_dj0: True once any part of the object needs the ``dj0`` protocol.
    """

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.needs_dj0 = False

    def _emit(self, *pieces: Any) -> int:
        self.chunks.extend(pieces)
        return sum(len(piece) for piece in pieces)

    def _sized(self, obj: Any) -> int:
        """Append ``u64 len + packed(obj)``; return the bytes appended."""
        slot = len(self.chunks)
        self.chunks.append(b"")
        size = self.pack(obj)
        self.chunks[slot] = _u64(size)
        return size + 8

    def pack(self, obj: Any) -> int:
        """Append ``packed(obj)`` in the dispatch order of spec §4.2; return its length.

        Raises:
            BlobError: the object (or a part of it) has an unsupported type or dtype.
        """
        if isinstance(obj, MatCell):
            return self._cell(obj)
        if isinstance(obj, MatStruct):
            return self._struct(obj)
        if isinstance(obj, np.ndarray) and obj.dtype.fields is None:
            return self._array(obj)
        self.needs_dj0 = True
        if not isinstance(obj, (np.ndarray, np.number)):
            if isinstance(obj, bool):
                return self._emit(_BOOL_BODIES[obj])
            if isinstance(obj, int):
                return self._int(obj)
            if isinstance(obj, complex):
                return self._emit(struct.pack("<Bdd", 0x0C, obj.real, obj.imag))
            if isinstance(obj, float):
                return self._emit(struct.pack("<Bd", 0x0D, obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype.fields:
                return self._record_array(obj.view(np.ndarray))
            raise BlobError(f"cannot pack a structured array without fields (dtype {obj.dtype})")
        if isinstance(obj, (np.number, np.bool_, np.datetime64)):
            return self._array(np.asarray(obj))
        if isinstance(obj, (datetime.date, datetime.time)):
            return self._datetime(obj)
        if isinstance(obj, Decimal):
            text = str(obj).encode()
            return self._emit(b"d", _u64(len(text)), text)
        if isinstance(obj, uuid.UUID):
            return self._emit(b"u", obj.bytes)
        if isinstance(obj, collections.abc.Mapping):
            return self._mapping(obj)
        if isinstance(obj, str):
            try:
                text = obj.encode()
            except UnicodeEncodeError as exc:
                raise BlobError(f"cannot pack string: {exc}") from exc
            return self._emit(b"\x05", _u64(len(text)), text)
        if isinstance(obj, (bytes, bytearray)):
            return self._emit(b"\x06", _u64(len(obj)), bytes(obj))
        if isinstance(obj, collections.abc.MutableSequence):
            return self._sequence(b"\x02", obj)
        if isinstance(obj, collections.abc.Sequence):
            return self._sequence(b"\x01", obj)
        if isinstance(obj, collections.abc.Set):
            return self._sequence(b"\x03", obj)
        if obj is None:
            return self._emit(b"\xff")
        raise BlobError(
            f"cannot pack an object of type {type(obj).__module__}.{type(obj).__qualname__}"
        )

    # --- numpy ------------------------------------------------------------------
    def _array(self, array: np.ndarray) -> int:
        """``A``: numeric, logical, char, datetime64, object or unicode array (spec §4.3)."""
        if isinstance(array, np.ma.MaskedArray):
            array = array.filled()  # DataJoint writes the filled data
        array = np.asarray(array)
        dtype = array.dtype
        is_complex = dtype.kind == "c"
        real_dtype = np.dtype(f"f{dtype.itemsize // 2}") if is_complex else dtype
        type_id = type_id_of(real_dtype)
        if type_id is None:
            raise BlobError(f"cannot pack an array of dtype {dtype}")
        if dtype.kind == "M" or (array.ndim == 0 and type_id != CHAR):
            self.needs_dj0 = True  # 0-d char arrays stay mYm, as in DataJoint
        header = struct.pack(
            f"<BQ{array.ndim}QII", ord("A"), array.ndim, *array.shape, type_id, is_complex
        )
        size = self._emit(header)
        if type_id == VOID:
            self.needs_dj0 = True
            return size + sum(self._sized(item) for item in array.ravel(order="F"))
        if type_id == CHAR:
            # Each byte widened to a u16 code unit; Fortran order like every other array
            # (DataJoint 2.3.5 writes C order here, which it and MATLAB read transposed).
            codes = _flat_fortran(array.view(np.uint8), np.dtype(np.uint8))
            return size + self._emit(codes.astype("<u2").view(np.uint8))
        data_dtype = real_dtype.newbyteorder("<") if real_dtype.kind != "b" else real_dtype
        if not is_complex:
            return size + self._emit(_flat_fortran(array, data_dtype))
        return size + self._emit(
            _flat_fortran(array.real, data_dtype), _flat_fortran(array.imag, data_dtype)
        )

    def _record_array(self, array: np.ndarray) -> int:
        """``F``: structured array; each field packed as ``A`` or nested ``F``, no lengths."""
        names = array.dtype.names
        size = self._emit(b"F", _U32.pack(len(names)), "\0".join(names).encode() + b"\0")
        for name in names:
            field = array[name]
            size += self._record_array(field) if field.dtype.fields else self._array(field)
        return size

    def _struct(self, array: MatStruct) -> int:
        """``S``: MATLAB struct array; values per element (Fortran order), per field."""
        names = array.dtype.names or ()
        shape = struct.pack(f"<{array.ndim + 1}Q", array.ndim, *array.shape)
        if not names:
            # DataJoint would append a lone "\0" that its own reader then rejects.
            return self._emit(b"S", shape, _U32.pack(0))
        size = self._emit(b"S", shape, _U32.pack(len(names)), "\0".join(names).encode() + b"\0")
        for element in array.view(np.ndarray).ravel(order="F"):
            size += sum(self._sized(element[name]) for name in names)
        return size

    def _cell(self, array: MatCell) -> int:
        """``C``: MATLAB cell array; elements in Fortran order."""
        size = self._emit(b"C", struct.pack(f"<{array.ndim + 1}Q", array.ndim, *array.shape))
        return size + sum(self._sized(item) for item in array.view(np.ndarray).ravel(order="F"))

    # --- Python types ---------------------------------------------------------------
    def _int(self, value: int) -> int:
        n_bytes = value.bit_length() // 8 + 1
        if n_bytes > 0xFFFF:
            raise BlobError("cannot pack an integer longer than 65535 bytes")
        return self._emit(
            struct.pack("<BH", 0x0A, n_bytes), value.to_bytes(n_bytes, "little", signed=True)
        )

    def _datetime(self, value: datetime.date | datetime.time) -> int:
        if isinstance(value, datetime.datetime):
            date, time = value.date(), value.time()
        elif isinstance(value, datetime.date):
            date, time = value, None
        else:
            date, time = None, value
        date_code = -1 if date is None else (date.year * 100 + date.month) * 100 + date.day
        time_code = (
            -1
            if time is None
            else (
                ((time.hour * 100 + time.minute) * 100 + time.second) * 1_000_000 + time.microsecond
            )
        )
        return self._emit(struct.pack("<Biq", ord("t"), date_code, time_code))

    def _mapping(self, mapping: collections.abc.Mapping) -> int:
        size = self._emit(b"\x04", _u64(len(mapping)))
        for key, value in mapping.items():
            size += self._sized(key) + self._sized(value)
        return size

    def _sequence(self, code: bytes, items: collections.abc.Collection) -> int:
        size = self._emit(code, _u64(len(items)))
        return size + sum(self._sized(item) for item in items)
