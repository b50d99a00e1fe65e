"""Property tests of the blob codec (spec §4): round trips, zero-copy views, corrupt input."""

from __future__ import annotations

import contextlib
import datetime
import decimal
import math
import struct
import time
import tracemalloc
import uuid
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline_core.datamodel.codecs.blob import BlobError, MatCell, MatStruct, pack, unpack
from pipeline_core.datamodel.errors import DataJointError

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DATETIME_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")
NUMERIC_DTYPES = [
    np.dtype(t)
    for t in (
        "bool",
        "int8",
        "uint8",
        "int16",
        "uint16",
        "int32",
        "uint32",
        "int64",
        "uint64",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
] + [np.dtype(f"M8[{u}]") for u in DATETIME_UNITS]


# --- equality -------------------------------------------------------------------------
def expected_after_roundtrip(value):
    """What unpack(pack(value)) must give: same value, canonical types (spec §4.2–4.3)."""
    if isinstance(value, (np.number, np.bool_, np.datetime64)) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biufcM"
    ):
        return np.asarray(value).astype(value.dtype.newbyteorder("="))[()]  # 0-d: numpy scalar
    if isinstance(value, np.ndarray) and not isinstance(value, (MatCell, MatStruct)):
        if value.dtype.kind == "U":
            return (
                np.array(value.tolist(), dtype=object).reshape(value.shape)
                if value.ndim
                else np.array(str(value[()]), dtype=object)
            )
        if value.dtype.names:
            return value
        if value.dtype.kind != "O":
            return value.astype(value.dtype.newbyteorder("="))
    if isinstance(value, np.str_):
        return str.__str__(value)  # str(np.str_) would drop trailing NULs
    if isinstance(value, frozenset):
        return set(value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def assert_equal(actual, expected):
    """Recursive equality: same types, arrays equal in class, dtype, shape and bits."""
    expected = expected_after_roundtrip(expected)
    if isinstance(expected, np.generic):
        assert type(actual) is type(expected) and actual.dtype == expected.dtype, (actual, expected)
        assert actual.tobytes() == expected.tobytes(), (actual, expected)
    elif isinstance(expected, np.ndarray):
        _assert_array_equal(actual, expected)
    elif isinstance(expected, float):
        assert type(actual) is float and struct.pack("<d", actual) == struct.pack("<d", expected)
    elif isinstance(expected, complex):
        assert type(actual) is complex
        assert struct.pack("<dd", actual.real, actual.imag) == struct.pack(
            "<dd", expected.real, expected.imag
        )
    elif isinstance(expected, decimal.Decimal):
        assert type(actual) is decimal.Decimal and str(actual) == str(expected)
    elif isinstance(expected, dict):
        assert type(actual) is dict and len(actual) == len(expected)
        for (key, value), (exp_key, exp_value) in zip(actual.items(), expected.items()):
            assert_equal(key, exp_key)
            assert_equal(value, exp_value)
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_equal(a, e)
    else:
        assert type(actual) is type(expected) and actual == expected, (actual, expected)


def _assert_array_equal(actual, expected):
    assert isinstance(actual, np.ndarray), type(actual)
    for cls in (MatCell, MatStruct):
        assert isinstance(actual, cls) == isinstance(expected, cls)
    assert actual.shape == expected.shape
    if expected.dtype.names:
        assert actual.dtype.names == expected.dtype.names
        for name in expected.dtype.names:
            if isinstance(expected, MatStruct):
                assert actual.dtype[name] == np.dtype(object)
                for a, e in zip(
                    np.asarray(actual[name]).ravel(), np.asarray(expected[name]).ravel()
                ):
                    assert_equal(a, e)
            else:
                _assert_array_equal(np.asarray(actual[name]), np.asarray(expected[name]))
    elif expected.dtype.kind == "O":
        assert actual.dtype == object
        for a, e in zip(actual.ravel(), expected.ravel()):
            assert_equal(a, e)
    else:
        assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
        assert np.ascontiguousarray(actual).tobytes() == np.ascontiguousarray(expected).tobytes()


def roundtrip(value, compress):
    return unpack(pack(value, compress=compress))


# --- strategies -------------------------------------------------------------------------
small_shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
LAYOUTS = ("C", "F", "strided", "reversed", "transposed", "big-endian")


def relayout(array: np.ndarray, layout: str) -> np.ndarray:
    """The same values in another memory layout or byte order."""
    if layout == "F":
        return np.asfortranarray(array)
    if layout == "strided":
        return np.stack([array, array], axis=-1)[..., 0]
    if layout == "reversed":
        return array[::-1] if array.ndim else array
    if layout == "transposed":
        return np.ascontiguousarray(array.T).T
    if layout == "big-endian" and array.dtype.itemsize > 1:
        return array.astype(array.dtype.newbyteorder(">"))
    return array


@st.composite
def numeric_arrays(draw, dtypes=tuple(NUMERIC_DTYPES), shapes=small_shapes):
    array = draw(hnp.arrays(draw(st.sampled_from(dtypes)), draw(shapes)))
    return relayout(array, draw(st.sampled_from(LAYOUTS)))


hashable_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.binary(max_size=8), st.uuids()
)
leaves = st.one_of(
    hashable_leaves,
    st.integers(min_value=-(2**3000), max_value=2**3000),
    st.floats(),
    st.complex_numbers(),
    st.decimals(places=None),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.builds(np.str_, st.text(max_size=5)),
    numeric_arrays(shapes=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(hashable_leaves, children, max_size=4),
        st.sets(hashable_leaves, max_size=4),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=12,
)


@st.composite
def unicode_arrays(draw):
    """U arrays (no lone surrogates: those cannot be UTF-8 encoded, BlobError)."""
    shape = draw(small_shapes)
    texts = [draw(st.text(max_size=4)) for _ in range(math.prod(shape))]
    return np.array(texts, dtype=f"U{draw(st.integers(1, 4))}").reshape(shape)


@st.composite
def object_arrays(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    array = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        array[index] = draw(values)
    return array


field_names = st.lists(
    st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True), min_size=1, max_size=3, unique=True
)


@st.composite
def structured_arrays(draw):
    names = draw(field_names)
    dtype = np.dtype([(name, draw(st.sampled_from(NUMERIC_DTYPES))) for name in names])
    array = draw(
        hnp.arrays(dtype, draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3)))
    )
    return array.view(np.recarray) if draw(st.booleans()) else array


@st.composite
def mat_structs(draw):
    names = draw(field_names)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    records = [{name: draw(values) for name in names} for _ in range(math.prod(shape))]
    return MatStruct.from_records(records, shape=shape, names=names)


@st.composite
def mat_cells(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
    return MatCell.from_items([draw(values) for _ in range(math.prod(shape))], shape=shape)


any_values = st.one_of(
    values,
    numeric_arrays(),
    object_arrays(),
    structured_arrays(),
    mat_structs(),
    mat_cells(),
    unicode_arrays(),
)


# --- round trips ------------------------------------------------------------------------
@FAST
@given(array=numeric_arrays(), compress=st.booleans())
def test_numeric_array_roundtrip(array, compress):
    assert_equal(roundtrip(array, compress), array)


@FAST
@given(
    array=numeric_arrays(shapes=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40))
)
def test_larger_numeric_array_roundtrip_compressed(array):
    assert_equal(roundtrip(array, True), array)


@FAST
@given(value=values, compress=st.booleans())
def test_python_value_roundtrip(value, compress):
    assert_equal(roundtrip(value, compress), value)


@FEW
@given(value=st.one_of(object_arrays(), unicode_arrays()), compress=st.booleans())
def test_object_and_unicode_array_roundtrip(value, compress):
    assert_equal(roundtrip(value, compress), value)


@FEW
@given(array=structured_arrays(), compress=st.booleans())
def test_structured_array_roundtrip(array, compress):
    result = roundtrip(array, compress)
    assert type(result) is np.recarray
    assert_equal(result, array)


@FEW
@given(value=st.one_of(mat_structs(), mat_cells()), compress=st.booleans())
def test_matlab_container_roundtrip(value, compress):
    assert_equal(roundtrip(value, compress), value)


@FEW
@given(value=any_values, compression=st.sampled_from(["fast", "datajoint"]))
def test_roundtrip_both_compression_policies(value, compression):
    blob = pack(value, compression=compression)
    assert_equal(unpack(blob), value)
    assert blob == pack(value, compress=False) or blob[:6] == b"ZL123\0"


@FEW
@given(value=any_values)
def test_pack_is_deterministic_and_protocol_valid(value):
    blob = pack(value, compress=False)
    assert blob[:4] in (b"mYm\0", b"dj0\0")
    assert pack(value, compress=False) == blob
    compressed = pack(value)
    assert compressed == blob or (
        compressed[:6] == b"ZL123\0" and len(compressed) < len(blob) and len(blob) > 1000
    )


@pytest.mark.parametrize(
    "value",
    [
        2**70,
        -(2**70),
        2 ** (8 * 65535 - 1) - 1,
        -(2 ** (8 * 65535 - 1)) + 1,
        0,
        -1,
        255,
        256,
        -128,
        -129,
    ],
    ids=lambda v: f"bits{v.bit_length()}{'-' if v < 0 else '+'}",
)
def test_int_limits(value):
    assert unpack(pack(value)) == value


@pytest.mark.parametrize(
    "value", [2 ** (8 * 65535 - 1), -(2 ** (8 * 65535 - 1))], ids=["positive", "negative"]
)
def test_int_too_long(value):
    with pytest.raises(
        BlobError, match="65535 bytes"
    ):  # n_bytes = bit_length // 8 + 1, as DataJoint
        pack(value)


def test_special_floats():
    for value in (float("inf"), float("-inf"), -0.0, 5e-324, float("nan")):
        assert_equal(roundtrip(value, False), value)


def test_timezone_is_dropped_and_time_kinds_kept():
    aware = datetime.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=datetime.UTC)
    assert roundtrip(aware, False) == aware.replace(tzinfo=None)
    assert type(roundtrip(datetime.date(1, 1, 1), False)) is datetime.date
    assert roundtrip(datetime.time(0, 0), False) == datetime.time(0, 0)
    assert roundtrip(
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), False
    ) == datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)


def test_nested_record_array_and_mapping_types():
    inner = np.dtype([("x", "i2"), ("y", "f4")])
    array = np.zeros(3, dtype=[("a", "u1"), ("b", inner)])
    array["b"]["y"] = [1.5, 2.5, 3.5]
    result = roundtrip(array, False)
    assert result.dtype.names == ("a", "b") and result["b"].dtype.names == ("x", "y")
    assert list(result["b"]["y"]) == [1.5, 2.5, 3.5]
    from collections import OrderedDict, UserList

    assert roundtrip(OrderedDict(a=1), False) == {"a": 1}
    assert roundtrip(UserList([1]), False) == [1]
    assert roundtrip(range(3), False) == (0, 1, 2)
    assert roundtrip(bytearray(b"xy"), False) == b"xy"


def test_squeeze():
    assert unpack(pack(np.ones((1, 3, 1))), squeeze=True).shape == (3,)
    assert unpack(pack(np.array([[7]], dtype=np.int32)), squeeze=True) == 7
    cell = unpack(pack(MatCell.from_items([1, 2], shape=(1, 2))), squeeze=True)
    assert isinstance(cell, MatCell) and cell.shape == (2,)
    record = unpack(pack(np.zeros((1,), dtype=[("a", "f8"), ("b", "i4")])), squeeze=True)
    assert record.shape == () and record.dtype.names == ("a", "b")


def test_char_arrays():
    scalar = roundtrip(np.array(b"a", dtype="S1"), False)
    assert scalar.shape == () and scalar.dtype == "U1" and scalar[()] == "a"
    matrix = np.array([[b"a", b"b", b"c"], [b"d", b"e", b"f"]], dtype="S1")
    blob = pack(matrix, compress=False)
    assert blob[-12:] == b"a\0d\0b\0e\0c\0f\0"  # Fortran order, u16 code units
    result = unpack(blob)
    assert result.dtype == "U1" and result.tolist() == [["a", "b", "c"], ["d", "e", "f"]]
    empty = roundtrip(np.array([], dtype="S1"), False)
    assert empty.dtype == "U1" and empty.tolist() == [""]
    utf16 = (
        b"mYm\0A" + struct.pack("<QQQII", 2, 1, 4, 4, 0) + "h\u00e9\U0001f600".encode("utf-16-le")
    )
    assert unpack(utf16).tolist() == ["h\u00e9\U0001f600"]  # MATLAB UTF-16 code units


# --- zero-copy reads ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [d for d in NUMERIC_DTYPES if d.kind != "c"], ids=str)
@pytest.mark.parametrize("container", [bytes, bytearray, memoryview])
def test_unpack_returns_read_only_view(dtype, container):
    array = np.asfortranarray(np.arange(24).reshape(2, 3, 4).astype(dtype))
    blob = container(pack(array, compress=False))
    result = unpack(blob)
    assert np.shares_memory(result, np.frombuffer(blob, dtype=np.uint8))
    assert not result.flags.writeable
    assert result.flags.f_contiguous
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        result[(0,) * result.ndim] = result[(1,) * result.ndim]
    assert_equal(result, array)


def test_compressed_array_is_view_on_decompressed_bytes():
    result = unpack(pack(np.zeros(5000)))
    assert not result.flags.writeable and not result.flags.owndata


def test_pack_copies_large_array_at_most_twice():
    array = np.arange(1_000_000, dtype=np.float64).reshape(
        1000, 1000
    )  # C order: needs one reorder copy
    tracemalloc.start()
    try:
        blob = pack(array, compress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(blob) > array.nbytes
    assert peak < 2.2 * array.nbytes


# --- errors ---------------------------------------------------------------------------------
def test_blob_error_is_datajoint_error():
    assert issubclass(BlobError, DataJointError)


@pytest.mark.parametrize(
    "value",
    [
        object(),
        np.float16(1),
        np.array([1.0], dtype=np.float16),
        np.array([b"ab"]),
        np.timedelta64(1, "s"),
        np.array(["2020"], dtype="M8[2D]"),
        np.zeros(2, dtype=[]),
        {1: object()},
        (x for x in ()),
    ],
)
def test_pack_unsupported(value):
    with pytest.raises(BlobError):
        pack(value)


def test_pack_lone_surrogate():
    with pytest.raises(BlobError, match="cannot pack string"):
        pack(np.array(["\ud800"]))


def test_pack_self_referential():
    value: list = []
    value.append(value)
    with pytest.raises(BlobError, match="nested too deeply"):
        pack(value)


def test_unknown_protocol_names_header():
    with pytest.raises(BlobError, match=r"unknown protocol header b'xyz\\x00"):
        unpack(b"xyz\0\xff")
    with pytest.raises(TypeError):
        unpack(None)


def test_sparse_not_supported():
    with pytest.raises(BlobError, match=r"^MATLAB sparse arrays are not supported$"):
        unpack(b"mYm\0P" + bytes(40))


def test_truncation_error_names_field_and_offset():
    blob = pack([1, "hello"], compress=False)
    with pytest.raises(
        BlobError, match=r"list item needs 14 bytes at byte offset 33, only 13 left"
    ):
        unpack(blob[:-1])
    with pytest.raises(BlobError, match="length check failed"):
        unpack(blob + b"\0")


def _assert_rejected_cheaply(blob: bytes):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(BlobError):
            unpack(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 1.0
    assert peak < 1_000_000


U64_MAX = (1 << 64) - 1
CRAFTED = {
    "list_count": b"dj0\0\x02" + U64_MAX.to_bytes(8, "little"),
    "dict_count": b"dj0\0\x04" + (1 << 40).to_bytes(8, "little") + bytes(100),
    "string_length": b"dj0\0\x05" + U64_MAX.to_bytes(8, "little") + b"abc",
    "array_shape": b"mYm\0A" + struct.pack("<QQQII", 2, 1 << 31, 1 << 31, 6, 0) + bytes(64),
    "array_ndim": b"mYm\0A" + struct.pack("<Q", 1 << 60) + bytes(64),
    "empty_huge_shape": b"mYm\0A" + struct.pack("<QQQQII", 3, 0, 1 << 62, 1 << 62, 6, 0),
    "object_elements": b"dj0\0A" + struct.pack("<QQII", 1, 1 << 50, 5, 0) + bytes(64),
    "char_elements": b"mYm\0A" + struct.pack("<QQII", 1, 1 << 50, 4, 0) + bytes(64),
    "struct_fields": b"dj0\0S" + struct.pack("<QQI", 1, 1, 0xFFFFFFFF) + b"a\0" * 4,
    "struct_elements": b"dj0\0S"
    + struct.pack("<QQQI", 2, 1 << 31, 1 << 31, 1)
    + b"a\0"
    + bytes(64),
    "cell_elements": b"mYm\0C" + struct.pack("<QQ", 1, 1 << 40) + bytes(64),
    "record_fields": b"dj0\0F" + struct.pack("<I", 0xFFFFFFFF) + b"a\0b\0",
    "name_without_zero": b"dj0\0F" + struct.pack("<I", 1) + b"a" * 100_000,
    "zlib_size": b"ZL123\0" + (1 << 60).to_bytes(8, "little") + b"x\x9c" + bytes(50),
    "zlib_bomb": b"ZL123\0" + (1000).to_bytes(8, "little") + zlib.compress(bytes(1 << 22)),
    "int_length": b"dj0\0\x0a\xff\xff" + bytes(10),
    "bad_type_id": b"mYm\0A" + struct.pack("<QQII", 1, 1, 99, 0) + bytes(8),
    "bad_date": b"dj0\0t" + struct.pack("<iq", 20241399, -1),
    "bad_utf8": b"dj0\0\x05" + struct.pack("<Q", 2) + b"\xff\xfe",
    "bad_decimal": b"dj0\0d" + struct.pack("<Q", 3) + b"abc",
    "unhashable_key": b"dj0\0\x04"
    + struct.pack("<QQ", 1, 9)
    + b"\x02"
    + bytes(8)
    + struct.pack("<Q", 1)
    + b"\xff",
    "item_overrun": b"dj0\0\x02" + struct.pack("<QQ", 1, 1) + b"\x0b\x01",
    "deep_nesting": b"dj0\0" + b"\x02\x01\x00\x00\x00\x00\x00\x00\x00" * 5000,
}


@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_blob_rejected_cheaply(name):
    _assert_rejected_cheaply(CRAFTED[name])


@FEW
@given(value=any_values, compress=st.booleans(), data=st.data())
def test_every_truncation_raises_blob_error(value, compress, data):
    blob = pack(value, compress=compress)
    cuts = (
        range(len(blob))
        if len(blob) <= 300
        else data.draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=40))
    )
    for cut in cuts:
        with pytest.raises(BlobError):
            unpack(blob[:cut])


def _unpack_or_blob_error(blob: bytes) -> None:
    with contextlib.suppress(BlobError):
        unpack(blob)


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.sampled_from(
        [b"", b"mYm\0", b"dj0\0", b"dj0\0A", b"mYm\0S", b"dj0\0C", b"dj0\0F", b"ZL123\0"]
    ),
    tail=st.binary(max_size=200),
)
def test_random_bytes_never_raise_other_errors(prefix, tail):
    _unpack_or_blob_error(prefix + tail)


@FAST
@given(value=any_values, data=st.data())
def test_mutated_blobs_never_raise_other_errors(value, data):
    blob = bytearray(pack(value, compress=data.draw(st.booleans())))
    assume(len(blob) > 4)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(4, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    _unpack_or_blob_error(bytes(blob))


def test_uuid_and_decimal_types():
    value = {
        "id": uuid.uuid4(),
        "amount": decimal.Decimal("-12.3400"),
        "nan": decimal.Decimal("NaN"),
    }
    assert_equal(roundtrip(value, False), value)


def test_use_32bit_dims():
    legacy = b"mYm\0A" + struct.pack("<IIIII", 2, 1, 2, 6, 0) + struct.pack("<2d", 1.5, 2.5)
    assert unpack(legacy, use_32bit_dims=True).tolist() == [[1.5, 2.5]]
    compressed = b"ZL123\0" + struct.pack("<I", len(legacy)) + zlib.compress(legacy)
    assert unpack(compressed, use_32bit_dims=True).tolist() == [[1.5, 2.5]]
    with pytest.raises(BlobError):
        unpack(legacy)


def test_data_after_zlib_stream_is_ignored_as_in_datajoint():
    assert unpack(pack(np.zeros(1000)) + b"xyz").shape == (1000,)
    large = pack(np.arange(2**16, dtype=np.float64))  # inflated piecewise (> 256 KiB, ratio < 64)
    assert unpack(large + b"xyz").shape == (2**16,)


# --- large compressed blobs (inflated piecewise into one buffer) -----------------------------
def _zl123(raw: bytes, declared: int, level: int = 1) -> bytes:
    return b"ZL123\0" + declared.to_bytes(8, "little") + zlib.compress(raw, level)


@pytest.mark.parametrize("level", [1, 6])
def test_large_compressed_blob_errors(level):
    raw = pack(np.arange(2**16, dtype=np.float64), compress=False)  # 512 KiB, ratio ~7
    good = _zl123(raw, len(raw), level)
    assert unpack(good).tolist() == list(range(2**16))
    with pytest.raises(BlobError, match="end before the stream does"):
        unpack(good[: len(good) // 2])
    with pytest.raises(BlobError, match="inflate to more than the declared 523317 bytes"):
        unpack(_zl123(raw, len(raw) - 1000, level))
    with pytest.raises(BlobError, match="size mismatch"):
        unpack(_zl123(raw, len(raw) + 1000, level))
    corrupt = bytearray(good)
    corrupt[len(good) // 2] ^= 0xFF
    with pytest.raises(BlobError):
        unpack(bytes(corrupt))


def test_large_zlib_bomb_stops_at_declared_size():
    raw = b"dj0\0\x06" + struct.pack("<Q", 1 << 24) + bytes(1 << 24)
    declared = 4 << 20  # within 64x the compressed size: the piecewise path
    bomb = _zl123(raw, declared)
    tracemalloc.start()
    try:
        with pytest.raises(BlobError, match="inflate to more than the declared"):
            unpack(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.2 * declared


@pytest.mark.parametrize("data", ["arange", "zeros"])
def test_compressed_unpack_memory_and_read_only(data):
    array = np.arange(2**21, dtype=np.float64) if data == "arange" else np.zeros(2**21)
    blob = pack(array)
    assert blob[:6] == b"ZL123\0"
    tracemalloc.start()
    try:
        result = unpack(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(result, array)
    assert peak < (1.2 if data == "arange" else 2.2) * array.nbytes  # piecewise: one buffer
    with pytest.raises(ValueError, match="cannot set WRITEABLE flag to True"):
        result.flags.writeable = True
