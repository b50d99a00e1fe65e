"""Definitions shared by the blob packer and unpacker (spec §4).

The error class, the two MATLAB container classes and the ``A``-array type ids
(spec §4.3). Everything here is immutable; the public names are re-exported by
:mod:`pipeline_core.datamodel.codecs.blob`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import DataJointError

#: Protocol headers (spec §4.1).
MYM = b"mYm\0"
DJ0 = b"dj0\0"
#: Prefix of a zlib-compressed blob, followed by u64 uncompressed length (spec §4.1).
ZL123 = b"ZL123\0"

#: Type ids of ``A`` arrays (spec §4.3).
LOGICAL, CHAR, VOID = 3, 4, 5
#: Type id of datetime64 unit k is DATETIME64_BASE + k, k indexing DATETIME64_UNITS.
DATETIME64_BASE = 65536
DATETIME64_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")

#: (dtype.kind, itemsize) -> type id, for plain numeric and logical dtypes.
_NUMERIC_TYPE_IDS = MappingProxyType(
    {
        ("b", 1): LOGICAL,
        ("f", 8): 6,
        ("f", 4): 7,
        ("i", 1): 8,
        ("u", 1): 9,
        ("i", 2): 10,
        ("u", 2): 11,
        ("i", 4): 12,
        ("u", 4): 13,
        ("i", 8): 14,
        ("u", 8): 15,
    }
)
#: Type id -> little-endian dtype of the data, for every id that holds fixed-size items.
TYPE_ID_DTYPES = MappingProxyType(
    {
        **{
            tid: np.dtype(f"<{kind}{size}") if kind != "b" else np.dtype(bool)
            for (kind, size), tid in _NUMERIC_TYPE_IDS.items()
        },
        **{
            DATETIME64_BASE + k: np.dtype(f"<M8[{unit}]") for k, unit in enumerate(DATETIME64_UNITS)
        },
    }
)


def type_id_of(dtype: np.dtype) -> int | None:
    """Type id (spec §4.3) under which an array of ``dtype`` is stored, or None if unsupported.

    Byte order is ignored (data are always written little-endian). Unicode ``U`` arrays
    map to VOID like object arrays; complex dtypes must be passed as their real dtype.
    """
    kind = dtype.kind
    if kind == "M":
        unit, count = np.datetime_data(dtype)
        if count == 1 and unit in DATETIME64_UNITS:
            return DATETIME64_BASE + DATETIME64_UNITS.index(unit)
        return None
    if kind in "OU":
        return VOID
    if kind == "S" and dtype.itemsize == 1:
        return CHAR
    return _NUMERIC_TYPE_IDS.get((kind, dtype.itemsize))


class BlobError(DataJointError):
    """A value cannot be packed, or bytes cannot be unpacked, as a DataJoint blob (spec §4).

    Unpack errors name what was being read and the byte offset (counted from the start
    of the blob, or of the decompressed blob for ``ZL123`` blobs).
    """

    def __init__(self, message: str):
        super().__init__(message)


def _object_vector(items: Iterable[Any]) -> np.ndarray:
    """1-D object array holding ``items`` as-is (never broadcast into nested arrays)."""
    items = list(items)
    return np.fromiter(items, dtype=object, count=len(items))


class MatCell(np.ndarray):
    """A MATLAB cell array (body code ``C``, spec §4.2).

    An ``numpy.ndarray`` subclass, normally of dtype ``object``: any shape (MATLAB cells
    are at least 2-D, but any ndim is packed as is), each element any packable value.
    Elements are stored in Fortran order inside the blob. Build one with
    :meth:`from_items` or by ``some_object_array.view(MatCell)``.
    """

    @classmethod
    def from_items(cls, items: Iterable[Any], shape: Sequence[int] | None = None) -> MatCell:
        """Cell array holding ``items`` (in C order) with ``shape`` (default: 1-D).

        Elements are kept as-is: lists or arrays of equal length are not merged into a
        2-D array. Raises ``ValueError`` if ``shape`` does not match the item count.
        """
        vector = _object_vector(items)
        return vector.reshape(vector.shape if shape is None else tuple(shape)).view(cls)


class MatStruct(np.recarray):
    """A MATLAB struct array (body code ``S``, spec §4.2).

    A ``numpy.recarray`` subclass whose fields are normally of dtype ``object``: any
    shape, one record per struct element, one field per struct field (field access by
    ``s["name"]`` or ``s.name``). Unpacked struct arrays always have ``object`` fields.
    Build one with :meth:`from_records` or ``structured_array.view(MatStruct)``.
    """

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        shape: Sequence[int] | None = None,
        names: Sequence[str] | None = None,
    ) -> MatStruct:
        """Struct array from mappings field name -> value (in C order), with ``shape``.

        ``names`` gives the field order; by default the keys of the first record. Every
        record must have exactly these keys (``ValueError`` otherwise), so ``names`` is
        required when ``records`` is empty.
        """
        records = list(records)
        if names is None:
            if not records:
                raise ValueError("names are required for a struct array without records")
            names = list(records[0])
        names = list(names)
        for i, record in enumerate(records):
            if set(record) != set(names):
                raise ValueError(
                    f"struct record {i} has fields {sorted(record)}, expected {sorted(names)}"
                )
        array = np.empty(len(records), dtype=[(name, object) for name in names])
        for name in names:
            column = array[name]
            for i, record in enumerate(records):
                column[i] = record[name]
        return array.reshape(array.shape if shape is None else tuple(shape)).view(cls)
