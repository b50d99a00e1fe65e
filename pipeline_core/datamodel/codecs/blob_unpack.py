"""Body decoder of DataJoint blobs (spec §4.2–4.3).

:class:`BlobReader` reads one packed value from a flat byte buffer (the envelope is
handled by :func:`.blob.unpack`). Every length, count and shape is checked against the
bytes that remain *before* anything is allocated, so corrupt input fails fast with a
:class:`BlobError` naming what was being read and the byte offset.
"""

from __future__ import annotations

import datetime
import decimal
import math
import struct
import sys
import uuid
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import numpy as np

from .blob_types import CHAR, TYPE_ID_DTYPES, VOID, BlobError, MatCell, MatStruct

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TYPE_AND_COMPLEX = struct.Struct("<II")
_F64 = struct.Struct("<d")
_C128 = struct.Struct("<dd")
_DATETIME = struct.Struct("<iq")
_MAX_NDIM = 64  # numpy's limit
_NAME_WINDOW = 64  # first search window for a zero-terminated name


class BlobReader:
    """Reads packed values (spec §4.2) from ``buf[pos:]``.

    Args:
        buf: the whole (decompressed) blob as a flat byte memoryview.
        pos: offset of the first body code (4, after the protocol header).
        squeeze: drop singleton dimensions; 0-d ``A`` arrays become scalars.
        use_32bit_dims: lengths, counts and shapes are u32 (old 32-bit mYm), not u64.
    """

    def __init__(
        self, buf: memoryview, pos: int, *, squeeze: bool = False, use_32bit_dims: bool = False
    ):
        self.buf = buf
        self.pos = pos
        self.end = len(buf)  # end of the innermost length-prefixed item being read
        self.squeeze = squeeze
        self._dim = _U32 if use_32bit_dims else _U64

    # --- primitives -------------------------------------------------------------
    def _need(self, n_bytes: int, what: str) -> None:
        left = self.end - self.pos
        if n_bytes > left:
            raise BlobError(
                f"truncated blob: {what} needs {n_bytes} bytes at byte offset {self.pos}, "
                f"only {left} left"
            )

    def _take(self, n_bytes: int, what: str) -> memoryview:
        self._need(n_bytes, what)
        self.pos += n_bytes
        return self.buf[self.pos - n_bytes : self.pos]

    def _fields(self, fmt: struct.Struct, what: str) -> tuple:
        self._need(fmt.size, what)
        values = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return values

    def _length(self, what: str) -> int:
        return self._fields(self._dim, what)[0]

    def _count(self, what: str, min_item_size: int) -> int:
        """A count of items that each take at least ``min_item_size`` bytes."""
        start = self.pos
        count = self._length(what)
        self._check_items(count, min_item_size, what, start)
        return count

    def _check_items(self, count: int, min_item_size: int, what: str, offset: int) -> None:
        left = self.end - self.pos
        if count * min_item_size > left:
            raise BlobError(
                f"corrupt blob: {what} of {count} at byte offset {offset} cannot fit "
                f"in the {left} bytes left"
            )

    def _shape(self, what: str) -> tuple[int, ...]:
        start = self.pos
        ndim = self._length(f"{what} ndim")
        if ndim > _MAX_NDIM:
            raise BlobError(
                f"corrupt blob: {what} ndim {ndim} at byte offset {start} exceeds {_MAX_NDIM}"
            )
        self._need(ndim * self._dim.size, f"{what} shape")
        shape = struct.unpack_from(f"<{ndim}{self._dim.format[-1]}", self.buf, self.pos)
        self.pos += ndim * self._dim.size
        if math.prod(d for d in shape if d) > sys.maxsize // 16:
            raise BlobError(
                f"corrupt blob: {what} shape {shape} at byte offset {start} is too large"
            )
        return shape

    def _text(self, raw: memoryview, what: str, offset: int) -> str:
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as exc:
            raise BlobError(
                f"corrupt blob: {what} at byte offset {offset} is not UTF-8 ({exc.reason})"
            ) from exc

    def _name(self, what: str) -> str:
        """A zero-terminated UTF-8 name; searched in growing windows, not to the end."""
        start = search_from = self.pos
        window = _NAME_WINDOW
        while True:
            stop = min(self.end, search_from + window)
            found = bytes(self.buf[search_from:stop]).find(0)
            if found >= 0:
                break
            if stop == self.end:
                raise BlobError(
                    f"truncated blob: {what} at byte offset {start} has no terminating zero byte"
                )
            search_from, window = stop, window * 2
        zero = search_from + found
        self.pos = zero + 1
        return self._text(self.buf[start:zero], what, start)

    def _squeezed(self, array: np.ndarray | np.generic, to_scalar: bool) -> Any:
        if not self.squeeze:
            return array
        array = array.squeeze()
        return array.item() if to_scalar and array.ndim == 0 else array

    # --- values -------------------------------------------------------------------
    def read(self) -> Any:
        """Read one packed value (code byte + body)."""
        start = self.pos
        (code,) = self._fields(_U8, "body code")
        reader = _BODY_READERS.get(code)
        if reader is None:
            raise BlobError(f"corrupt blob: unknown body code 0x{code:02x} at byte offset {start}")
        return reader(self)

    def read_sized(self, what: str) -> Any:
        """Read ``u64 length + packed value``; the value must use exactly that length."""
        start = self.pos
        n_bytes = self._length(f"{what} length")
        self._need(n_bytes, what)
        outer_end, self.end = self.end, self.pos + n_bytes
        value = self.read()
        if self.pos != self.end:
            raise BlobError(
                f"corrupt blob: {what} at byte offset {start} declares {n_bytes} bytes "
                f"but its value ends at byte offset {self.pos}"
            )
        self.end = outer_end
        return value

    def _objects(self, count: int, what: str) -> np.ndarray:
        self._check_items(count, 9, f"{what}s", self.pos)
        return np.fromiter((self.read_sized(what) for _ in range(count)), dtype=object, count=count)

    def _array(self) -> Any:
        start = self.pos - 1
        shape = self._shape("array")
        type_id, is_complex = self._fields(_TYPE_AND_COMPLEX, "array type id")
        count = math.prod(shape)
        if type_id == VOID:
            data = self._objects(count, "object array element")
        elif type_id == CHAR:
            data, shape = self._chars(shape, count)
        else:
            dtype = TYPE_ID_DTYPES.get(type_id)
            if dtype is None:
                raise BlobError(
                    f"corrupt blob: unsupported array type id {type_id} at byte offset {start}"
                )
            data = self._numeric(dtype, count, bool(is_complex), start)
            if not shape:
                return self._squeezed(data[0], to_scalar=True)  # a numpy scalar, as DataJoint
        return self._squeezed(data.reshape(shape, order="F"), to_scalar=True)

    def _frombuffer(self, dtype: np.dtype, count: int) -> np.ndarray:
        array = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        array.flags.writeable = False
        self.pos += count * dtype.itemsize
        return array

    def _numeric(self, dtype: np.dtype, count: int, is_complex: bool, start: int) -> np.ndarray:
        """Numeric, logical or datetime64 data; a read-only view unless complex."""
        self._need(count * dtype.itemsize * (2 if is_complex else 1), "array data")
        real = self._frombuffer(dtype, count)
        if not is_complex:
            return real
        if dtype.kind == "M":
            raise BlobError(f"corrupt blob: complex datetime64 array at byte offset {start}")
        imag = self._frombuffer(dtype, count)
        data = np.empty(count, dtype=np.result_type(dtype, 1j))
        data.real, data.imag = real, imag
        return data

    def _chars(self, shape: tuple[int, ...], count: int) -> tuple[np.ndarray, tuple[int, ...]]:
        """MATLAB char data: u16 code units; a row vector becomes one string (spec §4.3)."""
        raw = self._take(2 * count, "char array data")
        if len(shape) == 1 or (len(shape) == 2 and shape[0] == 1):
            return np.array([bytes(raw).decode("utf-16-le", "surrogatepass")]), (1,)
        return np.frombuffer(raw, dtype="<u2").astype("<u4").view("<U1"), shape

    def _record_array(self) -> np.recarray | np.ndarray:
        start = self.pos - 1
        (n_fields,) = self._fields(_U32, "record array field count")
        if not n_fields:
            return np.array(None)  # as DataJoint
        self._check_items(n_fields, 2, "record array fields", start)
        names = [self._name("record array field name") for _ in range(n_fields)]
        squeeze, self.squeeze = self.squeeze, False  # fields must keep their shape
        fields = [self.read() for _ in names]
        self.squeeze = squeeze
        fields = [np.asarray(f) if isinstance(f, np.generic) else f for f in fields]  # 0-d fields
        shape = getattr(fields[0], "shape", None)
        for name, field in zip(names, fields):
            if not isinstance(field, np.ndarray) or field.shape != shape:
                raise BlobError(
                    f"corrupt blob: field {name!r} of the record array at byte offset {start} "
                    f"is not an array of the first field's shape {shape}"
                )
        try:
            record = np.empty(
                shape, dtype=[(name, field.dtype) for name, field in zip(names, fields)]
            )
        except (ValueError, TypeError) as exc:
            raise BlobError(f"corrupt blob: record array at byte offset {start}: {exc}") from exc
        for name, field in zip(names, fields):
            record[name] = field
        return self._squeezed(record, to_scalar=False).view(np.recarray)

    def _struct(self) -> MatStruct | np.ndarray:
        start = self.pos - 1
        shape = self._shape("struct array")
        (n_fields,) = self._fields(_U32, "struct field count")
        if not n_fields:
            return np.array(None)  # as DataJoint
        self._check_items(n_fields, 1, "struct field names", start)
        names = [self._name("struct field name") for _ in range(n_fields)]
        count = math.prod(shape)
        self._check_items(count * n_fields, 9, "struct values", start)
        try:
            array = np.empty(count, dtype=[(name, object) for name in names])
        except (ValueError, TypeError) as exc:
            raise BlobError(
                f"corrupt blob: struct field names {names} at byte offset {start}: {exc}"
            ) from exc
        columns = [array[name] for name in names]
        for i in range(count):
            for column in columns:
                column[i] = self.read_sized("struct value")
        return self._squeezed(array.reshape(shape, order="F"), to_scalar=False).view(MatStruct)

    def _cell(self) -> MatCell:
        shape = self._shape("cell array")
        items = self._objects(math.prod(shape), "cell element")
        return self._squeezed(items.reshape(shape, order="F"), to_scalar=False).view(MatCell)

    def _sparse(self) -> Any:
        raise BlobError("MATLAB sparse arrays are not supported")

    def _none(self) -> None:
        return None

    def _items(self, what: str) -> list:
        count = self._count(f"{what} count", 9)
        return [self.read_sized(f"{what} item") for _ in range(count)]

    def _tuple(self) -> tuple:
        return tuple(self._items("tuple"))

    def _list(self) -> list:
        return self._items("list")

    def _set(self) -> set:
        start = self.pos - 1
        items = self._items("set")
        try:
            return set(items)
        except TypeError as exc:
            raise BlobError(f"corrupt blob: set at byte offset {start}: {exc}") from exc

    def _dict(self) -> dict:
        start = self.pos - 1
        count = self._count("dict count", 18)
        pairs = [(self.read_sized("dict key"), self.read_sized("dict value")) for _ in range(count)]
        try:
            return dict(pairs)
        except TypeError as exc:
            raise BlobError(f"corrupt blob: dict at byte offset {start}: {exc}") from exc

    def _str(self, what: str = "string") -> str:
        start = self.pos
        raw = self._take(self._length(f"{what} length"), what)
        return self._text(raw, what, start)

    def _bytes(self) -> bytes:
        return bytes(self._take(self._length("bytes length"), "bytes"))

    def _int(self) -> int:
        (n_bytes,) = self._fields(_U16, "int length")
        return int.from_bytes(self._take(n_bytes, "int"), "little", signed=True)

    def _bool(self) -> bool:
        return self._take(1, "bool")[0] != 0

    def _complex(self) -> complex:
        return complex(*self._fields(_C128, "complex"))

    def _float(self) -> float:
        return self._fields(_F64, "float")[0]

    def _decimal(self) -> decimal.Decimal:
        start = self.pos
        text = self._str("decimal")
        try:
            return decimal.Decimal(text)
        except decimal.InvalidOperation as exc:
            raise BlobError(f"corrupt blob: decimal {text[:40]!r} at byte offset {start}") from exc

    def _datetime(self) -> datetime.date | datetime.time | datetime.datetime | None:
        start = self.pos
        date_code, time_code = self._fields(_DATETIME, "date/time")
        try:
            date = (
                datetime.date(date_code // 10000, date_code // 100 % 100, date_code % 100)
                if date_code >= 0
                else None
            )
            time = (
                datetime.time(
                    time_code // 10**10 % 100,
                    time_code // 10**8 % 100,
                    time_code // 10**6 % 100,
                    time_code % 10**6,
                )
                if time_code >= 0
                else None
            )
        except ValueError as exc:
            raise BlobError(
                f"corrupt blob: date/time ({date_code}, {time_code}) at byte offset {start}: {exc}"
            ) from exc
        if date is not None and time is not None:
            return datetime.datetime.combine(date, time)
        return date if date is not None else time

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=bytes(self._take(16, "uuid")))


#: Body code -> reader method (spec §4.2).
_BODY_READERS: MappingProxyType[int, Callable[[BlobReader], Any]] = MappingProxyType(
    {
        ord("A"): BlobReader._array,
        ord("P"): BlobReader._sparse,
        ord("S"): BlobReader._struct,
        ord("C"): BlobReader._cell,
        ord("F"): BlobReader._record_array,
        0xFF: BlobReader._none,
        0x01: BlobReader._tuple,
        0x02: BlobReader._list,
        0x03: BlobReader._set,
        0x04: BlobReader._dict,
        0x05: BlobReader._str,
        0x06: BlobReader._bytes,
        0x0A: BlobReader._int,
        0x0B: BlobReader._bool,
        0x0C: BlobReader._complex,
        0x0D: BlobReader._float,
        ord("d"): BlobReader._decimal,
        ord("t"): BlobReader._datetime,
        ord("u"): BlobReader._uuid,
    }
)
