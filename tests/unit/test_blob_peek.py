"""``blob.peek``: a blob's kind, dtype and shape from its first 4 KiB (spec §4.1–4.3).

Rule under test (blob_peek module doc): fields the prefix does not reach are None, a
prefix ending before the first value's code byte gives kind 'unknown', and bytes that
cannot be a blob (or a header cut where ``total_size`` says the blob ends) raise
BlobError, never any other exception.
"""

from __future__ import annotations

import datetime
import struct
import tracemalloc
import uuid
import zlib
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_core.datamodel.codecs.blob import (
    BlobError,
    BlobSummary,
    MatCell,
    MatStruct,
    pack,
    peek,
    unpack,
)
from pipeline_core.datamodel.codecs.blob_peek import PEEK_BYTES, PEEK_LIMIT
from tests.unit.test_blob_roundtrip import any_values

RNG = np.random.default_rng(11)
ZL123 = b"ZL123\0"


def prefix_summary(blob: bytes, with_size: bool = True) -> BlobSummary:
    return peek(blob[:PEEK_BYTES], len(blob) if with_size else None)


# --- arrays from a 4 KiB prefix of a large blob ---------------------------------------------
ARRAYS = {
    "float64_2d_arange": (lambda: np.arange(600_000.0).reshape(1000, 600), "float64"),
    "float64_random": (lambda: RNG.standard_normal((512, 1024)), "float64"),
    "float32_3d": (lambda: np.ones((64, 64, 100), dtype=np.float32), "float32"),
    "int8_vector": (lambda: np.arange(2**21, dtype=np.int8), "int8"),
    "uint16_4d": (lambda: np.zeros((7, 11, 13, 170), dtype=np.uint16), "uint16"),
    "int64_fortran": (lambda: np.asfortranarray(np.arange(300_000).reshape(500, 600)), "int64"),
    "uint64_big_endian": (lambda: np.arange(200_000, dtype=">u8"), "uint64"),
    "bool_matrix": (lambda: RNG.integers(0, 2, (1000, 1000)).astype(bool), "bool"),
    "complex128": (lambda: np.arange(100_000) * (1 + 1j), "complex128"),
    "complex64": (lambda: (RNG.standard_normal(100_000) * 1j).astype(np.complex64), "complex64"),
    "datetime64_ns": (lambda: np.arange(200_000).astype("M8[ns]"), "datetime64[ns]"),
    "empty": (lambda: np.zeros((0, 5000)), "float64"),
}


@pytest.mark.parametrize("mode", ["raw", "fast", "datajoint"])
@pytest.mark.parametrize("name", ARRAYS)
def test_array_from_4k_prefix(name, mode):
    array, dtype = ARRAYS[name][0](), ARRAYS[name][1]
    raw = pack(array, compress=False)
    blob = {"raw": raw, "fast": pack(array), "datajoint": pack(array, compression="datajoint")}[
        mode
    ]
    compressed = blob[:6] == ZL123
    assert compressed == (
        len(raw) > 1000 and (mode == "datajoint" or (mode == "fast" and name != "float64_random"))
    )
    expected = BlobSummary(
        kind="array",
        dtype=dtype,
        shape=array.shape,
        compressed=compressed,
        packed_size=len(raw),
        stored_size=len(blob),
    )
    assert prefix_summary(blob) == expected
    without_size = prefix_summary(blob, with_size=False)
    assert without_size == BlobSummary(
        kind="array",
        dtype=dtype,
        shape=array.shape,
        compressed=compressed,
        packed_size=len(raw) if compressed else None,
    )
    unpacked = unpack(blob)
    assert unpacked.dtype.name == dtype and unpacked.shape == expected.shape


@pytest.mark.parametrize("mode", ["fast", "datajoint"])
@pytest.mark.parametrize("data", ["random", "arange", "small_ints"])
def test_short_prefix_of_compressed_stream(data, mode):
    """A few hundred bytes of a zlib stream (dynamic Huffman tables first) inflate to the header."""
    array = {
        "random": RNG.standard_normal((300, 200)),
        "arange": np.arange(60_000.0).reshape(300, 200),
        "small_ints": RNG.integers(0, 5, (300, 200)),
    }[data]
    blob = pack(array, compression=mode)
    assert blob[:6] == ZL123 or (data, mode) == ("random", "fast")
    summary = peek(blob[:300])
    assert (summary.kind, summary.dtype, summary.shape) == ("array", array.dtype.name, (300, 200))


@pytest.mark.parametrize(
    "value, dtype, shape",
    [
        (np.float64(2.5), "float64", ()),
        (np.datetime64("2024-01-02", "D"), "datetime64[D]", ()),
        (np.array(["ab", "c"]), "object", (2,)),
        (np.array([1, "a", None], dtype=object), "object", (3,)),
        (np.array([[b"a", b"b"], [b"c", b"d"]], dtype="S1"), "str", (2, 2)),
        (np.array([b"h", b"i"], dtype="S1"), "str", (2,)),
    ],
)
def test_small_arrays(value, dtype, shape):
    blob = pack(value)
    assert peek(blob, len(blob)) == BlobSummary(
        "array", dtype, shape, packed_size=len(blob), stored_size=len(blob)
    )


# --- other kinds -------------------------------------------------------------------------------
def _struct():
    return MatStruct.from_records(
        [{"x": np.arange(5000.0), "label": "s" * i} for i in range(6)], shape=(2, 3)
    )


OTHERS = {
    "struct": (_struct, dict(kind="struct", shape=(2, 3), fields=("x", "label"))),
    "struct_0d": (
        lambda: MatStruct.from_records([{"a": 1}], shape=()),
        dict(kind="struct", shape=(), fields=("a",)),
    ),
    "cell": (
        lambda: MatCell.from_items([np.zeros(3000), "x", None, 5], shape=(2, 2)),
        dict(kind="cell", shape=(2, 2)),
    ),
    "recarray": (
        lambda: np.zeros((40, 50), dtype=[("a", "f4"), ("b", "i2"), ("c", "c16")]),
        dict(kind="recarray", shape=(40, 50), fields=("a", "b", "c")),
    ),
    "recarray_nested": (
        lambda: np.zeros(7, dtype=[("n", [("p", "u1"), ("q", "f8")]), ("m", "i4")]),
        dict(kind="recarray", shape=(7,), fields=("n", "m")),
    ),
    "str": (lambda: "héllo" * 1000, dict(kind="str", length=6000)),
    "bytes": (lambda: bytes(range(256)) * 20, dict(kind="bytes", length=5120)),
    "dict": (lambda: {"a": np.arange(10_000), "b": "x"}, dict(kind="dict", length=2)),
    "list": (lambda: [np.zeros(3000)] * 3, dict(kind="list", length=3)),
    "tuple": (lambda: (1, 2.5, "x"), dict(kind="tuple", length=3)),
    "set": (lambda: {1, 2}, dict(kind="set", length=2)),
    "empty_list": (list, dict(kind="list", length=0)),
    "none": (lambda: None, dict(kind="none")),
    "int": (lambda: 2**70, dict(kind="scalar", dtype="int")),
    "bool": (lambda: True, dict(kind="scalar", dtype="bool")),
    "float": (lambda: 2.5, dict(kind="scalar", dtype="float")),
    "complex": (lambda: 1 - 2j, dict(kind="scalar", dtype="complex")),
    "decimal": (lambda: Decimal("1.50"), dict(kind="scalar", dtype="Decimal")),
    "uuid": (lambda: uuid.UUID(int=5), dict(kind="scalar", dtype="UUID")),
    "date": (lambda: datetime.date(2024, 1, 2), dict(kind="scalar", dtype="date")),
    "time": (lambda: datetime.time(3, 4), dict(kind="scalar", dtype="time")),
    "datetime": (lambda: datetime.datetime(2024, 1, 2, 3), dict(kind="scalar", dtype="datetime")),
}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "fast"])
@pytest.mark.parametrize("name", OTHERS)
def test_other_kinds(name, compress):
    factory, fields = OTHERS[name]
    blob = pack(factory(), compress=compress)
    raw = pack(factory(), compress=False)
    compressed = blob[:6] == ZL123
    assert prefix_summary(blob) == BlobSummary(
        compressed=compressed, packed_size=len(raw), stored_size=len(blob), **fields
    )


def test_struct_and_record_without_fields_unpack_to_none_array():
    for body in (b"S" + struct.pack("<QQI", 1, 1, 0), b"F" + struct.pack("<I", 0)):
        blob = b"dj0\0" + body
        assert peek(blob, len(blob)) == BlobSummary(
            "array", "object", (), packed_size=len(blob), stored_size=len(blob)
        )
        assert unpack(blob).shape == () and unpack(blob).dtype == object


def test_sparse_kind():
    assert peek(b"mYm\0P" + bytes(40)).kind == "sparse"


def test_32bit_dims():
    legacy = b"mYm\0A" + struct.pack("<IIIII", 2, 1, 2, 6, 0) + struct.pack("<2d", 1.5, 2.5)
    assert peek(legacy, len(legacy), use_32bit_dims=True) == BlobSummary(
        "array", "float64", (1, 2), packed_size=len(legacy), stored_size=len(legacy)
    )
    compressed = ZL123 + struct.pack("<I", len(legacy)) + zlib.compress(legacy)
    assert peek(compressed, use_32bit_dims=True).shape == (1, 2)


def test_long_field_names_past_the_prefix():
    names = [f"field_{i}_" + "n" * 200 for i in range(40)]  # ~8.5 KB of names
    value = MatStruct.from_records([dict.fromkeys(names, 1)], names=names)
    blob = pack(value, compress=False)
    cut = peek(blob[:PEEK_BYTES])
    assert (cut.kind, cut.shape, cut.fields) == ("struct", (1,), None)
    assert peek(blob[:20_000]).fields == tuple(names)


# --- truncation --------------------------------------------------------------------------------
TRUNCATION_VALUES = [
    np.arange(12.0).reshape(3, 4),
    _struct(),
    MatCell.from_items([1, 2]),
    {"k": 1},
    np.zeros(3, dtype=[("ab", "f8"), ("cd", "i1")]),
    "text",
    datetime.datetime(2024, 1, 2),
]


@pytest.mark.parametrize("value", TRUNCATION_VALUES, ids=lambda v: type(v).__name__)
def test_every_short_prefix(value):
    """A short prefix gives 'unknown' or the right kind with None for what is cut off."""
    blob = pack(value, compress=False)
    full = peek(blob, len(blob))
    for cut in range(len(blob)):
        summary = peek(blob[:cut])
        assert summary.kind == ("unknown" if cut < 5 else full.kind)
        for name in ("dtype", "shape", "length", "fields"):
            assert getattr(summary, name) in (None, getattr(full, name)), (cut, name)
        assert (
            summary.compressed is False
            and summary.packed_size is None
            and summary.stored_size is None
        )


@pytest.mark.parametrize("value", TRUNCATION_VALUES, ids=lambda v: type(v).__name__)
def test_truncated_blob_with_total_size(value):
    """When total_size says the blob ends inside what peek reads, that is a BlobError."""
    blob = pack(value, compress=False)
    header_end = next(cut for cut in range(len(blob) + 1) if peek(blob[:cut]) == peek(blob))
    for cut in range(header_end):
        with pytest.raises(BlobError, match=r"truncated|cannot|left"):
            peek(blob[:cut], cut)


def test_truncated_array_data_with_total_size():
    blob = pack(np.arange(100.0), compress=False)
    with pytest.raises(BlobError, match=r"array data .* needs 800 bytes, only 799 left"):
        peek(blob[:-1], len(blob) - 1)


def test_compressed_prefixes():
    blob = pack(np.arange(2**17, dtype=np.float64).reshape(512, 256))
    assert blob[:6] == ZL123
    for cut in range(14):
        assert peek(blob[:cut]).kind == "unknown"
    assert peek(blob[:14]) == BlobSummary("unknown", compressed=True, packed_size=2**20 + 37)
    shapes = {peek(blob[:cut]).shape for cut in range(14, 200)}
    assert shapes <= {None, (512, 256)} and (512, 256) in shapes
    with pytest.raises(BlobError, match="truncated blob: the uncompressed size"):
        peek(blob[:10], 10)


# --- bytes that are not blobs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, match",
    [
        (b"abcd\xff", "unknown protocol header"),
        (b"x", "unknown protocol header"),
        (b"ZL12x\0", "unknown protocol header"),
        (b"mYm\0Q", "unknown body code 0x51"),
        (b"mYm\0A" + struct.pack("<QQII", 1, 1, 99, 0), "unsupported array type id 99"),
        (b"mYm\0A" + struct.pack("<Q", 65), "ndim 65"),
        (b"mYm\0A" + struct.pack("<QQQII", 2, 1 << 62, 1 << 62, 6, 0), "too large"),
        (b"dj0\0A" + struct.pack("<QII", 0, 65536 + 9, 1), "complex datetime64"),
        (b"dj0\0F" + struct.pack("<I", 1) + b"a\0Z", "not an array"),
        (b"dj0\0S" + struct.pack("<QQI", 1, 1, 1) + b"\xff\xfe\0", "not UTF-8"),
        (ZL123 + (100).to_bytes(8, "little") + b"not zlib at all", "zlib data"),
        (ZL123 + (10**9).to_bytes(8, "little") + zlib.compress(b"dj0\0\xff"), "cannot come from"),
        (ZL123 + (100).to_bytes(8, "little") + zlib.compress(b"dj0\0\xff"), "size mismatch"),
        (ZL123 + (5).to_bytes(8, "little") + zlib.compress(b"abcd\xff"), "unknown protocol header"),
    ],
)
def test_not_a_blob(data, match):
    with pytest.raises(BlobError, match=match):
        peek(data, len(data))


def test_lengths_that_cannot_fit():
    for data in (
        b"dj0\0\x02" + struct.pack("<Q", 10**6) + bytes(20),
        b"dj0\0\x05" + struct.pack("<Q", 21) + bytes(20),
        b"dj0\0C" + struct.pack("<QQ", 1, 10**6) + bytes(20),
    ):
        with pytest.raises(BlobError, match=r"cannot fit|needs"):
            peek(data, len(data))
        assert peek(data).kind in (
            "list",
            "str",
            "cell",
        )  # without total_size: not known to be wrong


def test_argument_errors():
    with pytest.raises(TypeError):
        peek("mYm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shorter than"):
        peek(b"mYm\0\xff", 3)


def test_memory_is_bounded():
    """Peeking at whole 16 MB blobs (compressed or not) or at a zlib bomb (declares 100
    bytes, inflates to 16 MiB) inflates or copies at most about PEEK_LIMIT."""
    array = np.arange(2**21, dtype=np.float64)
    inner = b"dj0\0\x06" + struct.pack("<Q", 1 << 24) + bytes(1 << 24)
    honest = ZL123 + len(inner).to_bytes(8, "little") + zlib.compress(inner)
    bomb = ZL123 + (100).to_bytes(8, "little") + zlib.compress(inner)
    for data in (
        pack(array, compression="datajoint"),
        pack(array),
        pack(array, compress=False),
        honest,
        bomb,
    ):
        tracemalloc.start()
        try:
            if data is bomb:
                with pytest.raises(BlobError, match="needs 16777216 bytes"):
                    peek(data, len(data))
            else:
                assert peek(data, len(data)).kind in ("array", "bytes")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 3 * PEEK_LIMIT
    assert peek(honest).length == 1 << 24


# --- properties -----------------------------------------------------------------------------------
def _expected_kind(value) -> str:
    if isinstance(value, MatStruct):
        return "struct" if value.dtype.names else "array"
    if isinstance(value, MatCell):
        return "cell"
    if isinstance(value, np.recarray):
        return "recarray"
    if isinstance(value, (np.ndarray, np.generic)):
        return "array"
    if value is None:
        return "none"
    for kind in ("str", "bytes", "list", "tuple", "set", "dict"):
        if type(value).__name__ == kind:
            return kind
    return "scalar"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=any_values, compress=st.booleans())
def test_peek_agrees_with_unpack(value, compress):
    blob = pack(value, compress=compress)
    summary = peek(blob, len(blob))
    unpacked = unpack(blob)
    assert summary.kind == _expected_kind(unpacked)
    assert summary.compressed == (blob[:6] == ZL123) and summary.stored_size == len(blob)
    if summary.kind == "array" and summary.dtype not in ("str",):
        assert summary.dtype == np.asarray(unpacked).dtype.name and summary.shape == np.shape(
            unpacked
        )
    if summary.kind in ("struct", "cell", "recarray"):
        assert summary.shape == unpacked.shape
    if summary.kind in ("struct", "recarray"):
        assert summary.fields == unpacked.dtype.names
    if summary.kind in ("list", "tuple", "set", "dict"):
        assert summary.length == len(unpacked)


def _only_blob_error(data: bytes, total_size=None, **kwargs) -> None:
    try:
        summary = peek(data, total_size, **kwargs)
    except BlobError:
        return
    assert isinstance(summary, BlobSummary)


@settings(max_examples=500, deadline=None)
@given(
    prefix=st.sampled_from(
        [
            b"",
            b"m",
            b"mYm\0",
            b"dj0\0",
            b"dj0\0A",
            b"mYm\0S",
            b"dj0\0C",
            b"dj0\0F",
            b"ZL1",
            ZL123,
            ZL123 + bytes(8) + b"x\x9c",
            ZL123 + b"\xff" * 8 + b"\x78\x01",
        ]
    ),
    tail=st.binary(max_size=300),
    extra=st.none() | st.integers(0, 1 << 64),
    small_dims=st.booleans(),
)
def test_random_bytes_only_blob_error(prefix, tail, extra, small_dims):
    data = prefix + tail
    _only_blob_error(data, None if extra is None else len(data) + extra, use_32bit_dims=small_dims)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=any_values, data=st.data())
def test_mutated_and_cut_blobs_only_blob_error(value, data):
    blob = bytearray(pack(value, compress=data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(0, 4))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    _only_blob_error(bytes(blob[:cut]))
    _only_blob_error(bytes(blob[:cut]), cut)
    _only_blob_error(bytes(blob), len(blob))


def test_prefix_of_uncompressed_blob_is_not_copied_beyond_limit():
    blob = pack(np.arange(2**20, dtype=np.float64), compress=False)
    summary = peek(memoryview(blob))
    assert summary.shape == (2**20,) and summary.packed_size is None
    assert peek(bytearray(blob[: PEEK_LIMIT + 10])).dtype == "float64"
