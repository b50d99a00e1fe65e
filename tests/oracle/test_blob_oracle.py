"""The blob codec against the real ``datajoint`` 2.3.5 package as an oracle (spec §4).

For a corpus of values: our uncompressed ``pack`` is byte-identical to
``datajoint.blob.pack(x, compress=False)``, and ``pack(x, compression="datajoint")`` to
DataJoint's compressed blob; our default (``"fast"``) compressed blobs differ in bytes but
DataJoint unpacks them to the same values as its own blobs; each side unpacks the other's
blobs to the same value; and both unpack a blob to the same value (also with
``squeeze=True``). Known, deliberate differences are pinned down at the end.
"""

from __future__ import annotations

import datetime
import struct
import uuid
import warnings
from collections import OrderedDict
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipeline_core.datamodel.codecs import blob as ours

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # datajoint warns that no datajoint.json exists
    from datajoint import blob as dj

pytestmark = pytest.mark.oracle

ORACLE = settings(max_examples=100, deadline=None)


# --- value comparison across both implementations ---------------------------------------
def assert_same(a, b, path="value"):
    """Equal values of the same kind; MatStruct/MatCell of either package compare by name."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert type(a).__name__ == type(b).__name__, (path, type(a), type(b))
        assert a.shape == b.shape and a.dtype.names == b.dtype.names, (path, a, b)
        if a.dtype.names:
            for name in a.dtype.names:
                assert_same(np.asarray(a[name]), np.asarray(b[name]), f"{path}.{name}")
        elif a.dtype == object or b.dtype == object:
            assert a.dtype == b.dtype, (path, a.dtype, b.dtype)
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                assert_same(x, y, f"{path}[{i}]")
        elif a.dtype.kind == "c":
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), (path, a, b)
        else:
            assert a.dtype == b.dtype, (path, a.dtype, b.dtype)
            assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), (
                path,
                a,
                b,
            )
        return
    assert type(a) is type(b), (path, type(a), type(b))
    if (
        isinstance(a, np.generic) and a.dtype.kind == "c"
    ):  # datajoint rebuilds complex as re + 1j*im:
        assert a.dtype == b.dtype and a == b, (path, a, b)  # -0.0 imaginary parts become +0.0
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), (path, a, b)
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), (path, a, b)
    elif isinstance(a, complex):
        assert struct.pack("<dd", a.real, a.imag) == struct.pack("<dd", b.real, b.imag), (
            path,
            a,
            b,
        )
    elif isinstance(a, Decimal):
        assert str(a) == str(b), (path, a, b)
    elif isinstance(a, dict):
        assert len(a) == len(b), (path, a, b)
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            assert_same(ka, kb, f"{path} key")
            assert_same(va, vb, f"{path}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


# --- corpus: factories taking the module that provides MatStruct/MatCell ----------------
def struct_array(m, records, shape):
    names = list(records[0])
    array = np.empty(len(records), dtype=[(name, object) for name in names])
    for i, record in enumerate(records):
        for name in names:
            array[name][i] = record[name]
    return array.reshape(shape, order="F").view(m.MatStruct)


def cell_array(m, items, shape):
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array.reshape(shape, order="F").view(m.MatCell)


RNG = np.random.default_rng(20240102)
NORMAL = RNG.normal(size=(60, 50))
INTS = RNG.integers(-(2**62), 2**62, size=(7, 5, 3))
LARGE_NORMAL = RNG.normal(size=(100, 400))

CORPUS = {
    "int64_vector": lambda m: np.array([1, 2, 3]),
    "int32_matrix": lambda m: np.array([[1, 2], [3, 4]], dtype=np.int32),
    "eye3": lambda m: np.eye(3),
    "bool_matrix": lambda m: np.array([[True, False, True], [False, False, True]]),
    "uint8_vector": lambda m: np.array([0, 1, 254, 255], dtype=np.uint8),
    "int8_fortran": lambda m: np.asfortranarray(np.arange(-12, 12, dtype=np.int8).reshape(2, 3, 4)),
    "uint16_int16": lambda m: [np.arange(5, dtype=np.uint16), -np.arange(5, dtype=np.int16)],
    "uint32_int32_4d": lambda m: np.arange(120, dtype=np.uint32).reshape(2, 3, 4, 5),
    "uint64_limits": lambda m: np.array([0, 2**64 - 1], dtype=np.uint64),
    "float32_3d": lambda m: np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 3, 2),
    "float_specials": lambda m: np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]),
    "empty_2d": lambda m: np.zeros((0, 3)),
    "complex128": lambda m: np.array([1 + 2j, 3 - 1j, np.nan * 1j]),
    "complex64_matrix": lambda m: (
        (np.arange(6) + 1j * np.arange(6, 12)).astype(np.complex64).reshape(2, 3)
    ),
    "strided_view": lambda m: np.arange(40.0).reshape(5, 8)[::2, 1::3],
    "transposed": lambda m: np.arange(12).reshape(3, 4).T,
    "numpy_scalars": lambda m: [
        np.float64(3.14),
        np.float32(1.5),
        np.int16(5),
        np.uint64(2**64 - 1),
        np.bool_(True),
        np.complex128(1 - 2j),
        np.int8(-3),
    ],
    "python_floats": lambda m: [3.14, float("nan"), float("inf"), -0.0, 1e308],
    "python_ints": lambda m: [7, -1, 0, 300, 2**70, -(2**200), 255, -128],
    "python_bools": lambda m: (True, False),
    "python_complex": lambda m: 1 + 2j,
    "strings": lambda m: ["hello", "héllo", "", "日本語 ✓", np.str_("numpy str")],
    "bytes": lambda m: [b"ab", b"", bytes(range(256)), np.bytes_(b"xy"), bytearray(b"ba")],
    "none": lambda m: None,
    "dict": lambda m: {"a": 1, "b": "x"},
    "nested_containers": lambda m: {
        "l": [1, [2, [3, ()]]],
        "t": (1, 2.5, "x"),
        "s": {1, 2},
        3: {},
        (1, 2): [],
    },
    "ordered_dict_range": lambda m: [OrderedDict(z=1, a=2), range(4), frozenset({"q"})],
    "unicode_array": lambda m: np.array([["ab", "c"], ["", "déf"]]),
    "object_array": lambda m: np.array([1, "a", None, 2.5], dtype=object),
    "object_array_2d": lambda m: np.array([[1, "a"], [{"k": 1}, np.arange(3)]], dtype=object),
    "datetimes": lambda m: [
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        datetime.date(2024, 1, 2),
        datetime.time(3, 4, 5),
        datetime.time(0, 0),
        datetime.datetime(1, 1, 1),
    ],
    "datetime64_scalars": lambda m: [
        np.datetime64("2024-01-02", "D"),
        np.datetime64("2024-01-02T03:04:05.123456789", "ns"),
        np.datetime64("NaT", "s"),
        np.datetime64("2024", "Y"),
    ],
    "datetime64_arrays": lambda m: [
        np.array(["2024-01-02T00:00:00", "NaT"], dtype=f"datetime64[{u}]")
        for u in ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")
    ],
    "uuid_decimal": lambda m: [
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        Decimal("1.50"),
        Decimal("-1E+5"),
    ],
    "structured": lambda m: np.array([(1, 2.0), (3, 4.5)], dtype=[("a", "i4"), ("b", "f8")]),
    "structured_2d": lambda m: np.zeros((2, 3), dtype=[("x", "u1"), ("y", "c16"), ("z", "M8[s]")]),
    "recarray_nested": lambda m: np.zeros(
        3, dtype=[("a", "f4"), ("b", [("c", "i2"), ("d", "f8")])]
    ).view(np.recarray),
    "mat_struct": lambda m: struct_array(m, [{"f": 1.0, "g": "x"}], (1,)),
    "mat_struct_2x2": lambda m: struct_array(
        m, [{"a": np.arange(3.0), "b": i, "c": "s" * i} for i in range(4)], (2, 2)
    ),
    "mat_cell": lambda m: cell_array(m, [np.array([1.0]), "ab"], (2,)),
    "mat_cell_ragged_2d": lambda m: cell_array(
        m, [np.arange(2.0), np.arange(3.0), "x", None, 5, cell_array(m, [1], (1, 1))], (2, 3)
    ),
    "char_vector": lambda m: np.array([b"a", b"b", b"c"], dtype="S1"),
    "char_row": lambda m: np.array([[b"h", b"i"]], dtype="S1"),
    "zeros_1000": lambda m: np.zeros(1000),
    "arange_big": lambda m: np.arange(10_000),
    "normal_incompressible": lambda m: NORMAL.copy(),
    "random_ints_3d": lambda m: INTS.copy(),
    "long_string": lambda m: "x" * 5000,
    "mixed_big": lambda m: {
        "session": 1,
        "traces": [np.arange(300.0), np.ones((20, 20))],
        "notes": "n" * 500,
        "cell": cell_array(m, [np.zeros(200), "y"], (1, 2)),
    },
    # over 64 KiB: the "fast" policy samples before it compresses
    "arange_large": lambda m: np.arange(60_000.0).reshape(300, 200),
    "normal_large": lambda m: LARGE_NORMAL.copy(),
    "compressible_head_random_tail": lambda m: ["h" * 300_000, LARGE_NORMAL[:20_000].copy()],
    "random_head_compressible_tail": lambda m: [
        LARGE_NORMAL[:20_000].copy(),
        np.zeros(40_000, dtype=np.int32),
    ],
}
NAMES = sorted(CORPUS)


#: mode -> keyword arguments of our pack; DataJoint packs with compress=(mode != "raw").
MODES = {"raw": dict(compress=False), "datajoint": dict(compression="datajoint"), "fast": {}}


def _blobs(name, mode):
    return ours.pack(CORPUS[name](ours), **MODES[mode]), dj.pack(
        CORPUS[name](dj), compress=mode != "raw"
    )


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("mode", ["raw", "datajoint"])
@pytest.mark.parametrize("name", NAMES)
def test_pack_byte_identical(name, mode):
    our_blob, dj_blob = _blobs(name, mode)
    assert our_blob.hex() == dj_blob.hex()


@pytest.mark.parametrize("name", NAMES)
def test_default_compression_is_readable_by_datajoint(name):
    """Our default blob may differ from DataJoint's (zlib level 1, or left uncompressed)
    but DataJoint reads it as the same value as its own blob."""
    our_blob, dj_blob = _blobs(name, "fast")
    assert len(our_blob) <= len(ours.pack(CORPUS[name](ours), compress=False))
    if our_blob[:6] == b"ZL123\0":
        assert our_blob[14:16] == b"\x78\x01"  # zlib level 1
    assert_same(dj.unpack(our_blob), dj.unpack(dj_blob))


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", NAMES)
def test_unpack_crosswise(name, mode):
    our_blob, dj_blob = _blobs(name, mode)
    dj_value = dj.unpack(dj_blob)
    assert_same(ours.unpack(dj_blob), dj_value)  # datajoint's blob, read by us
    assert_same(dj.unpack(our_blob), ours.unpack(our_blob))  # our blob, read by datajoint
    assert_same(dj.unpack(our_blob), dj_value)
    assert_same(ours.unpack(memoryview(dj_blob)), dj_value)


SQUEEZE_BROKEN_IN_DJ = {
    "recarray_nested",
    "structured",
}  # datajoint squeezes each field: fails or differs


@pytest.mark.parametrize("name", [n for n in NAMES if n not in SQUEEZE_BROKEN_IN_DJ])
def test_unpack_squeeze_like_datajoint(name):
    blob = dj.pack(CORPUS[name](dj))
    assert_same(ours.unpack(blob, squeeze=True), dj.unpack(blob, squeeze=True))


def test_value_equals_original():
    """Both sides give back the original values, up to the documented type mapping."""
    value = CORPUS["nested_containers"](ours)
    assert_same(ours.unpack(dj.pack(value)), value)
    assert_same(dj.unpack(ours.pack(value)), value)
    array = CORPUS["int8_fortran"](ours)
    assert_same(ours.unpack(dj.pack(array)), array)
    assert_same(dj.unpack(ours.pack(array)), array)


# --- generated values ------------------------------------------------------------------
DJ_DTYPES = [
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
    "M8[D]",
    "M8[ns]",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.binary(max_size=6),
    st.uuids(),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.decimals(allow_nan=False),
)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)


def _dj_arrays(dtype: str):
    if dtype.startswith(
        "complex"
    ):  # datajoint turns an inf/nan imaginary part into a nan real part
        return hnp.arrays(
            dtype,
            SHAPES,
            elements=hnp.from_dtype(np.dtype(dtype), allow_nan=False, allow_infinity=False),
        )
    return hnp.arrays(dtype, SHAPES)


arrays = st.builds(
    lambda a, order: np.asfortranarray(a) if order else a,
    st.sampled_from(DJ_DTYPES).flatmap(_dj_arrays),
    st.booleans(),
)
nested = st.recursive(
    st.one_of(scalars, arrays),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), children, max_size=3),
    ),
    max_leaves=8,
)


@ORACLE
@given(value=nested, compress=st.booleans())
def test_generated_values_match_datajoint(value, compress):
    blob = ours.pack(value, compress=compress, compression="datajoint")
    assert blob == dj.pack(value, compress=compress)
    assert_same(ours.unpack(blob), dj.unpack(blob))
    if not compress:
        assert ours.pack(value, compress=False) == blob  # the policy only matters when compressing


@ORACLE
@given(value=nested)
def test_generated_values_fast_compression_read_by_datajoint(value):
    blob = ours.pack(value)
    assert_same(dj.unpack(blob), dj.unpack(dj.pack(value)))
    assert_same(ours.unpack(blob), dj.unpack(blob))


def _large_array(kind: str, n: int, dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = {
        "arange": lambda: np.arange(n),
        "random": lambda: rng.standard_normal(n) * 1e6,
        "zeros": lambda: np.zeros(n),
        "small_ints": lambda: rng.integers(0, 4, n),
        "half_random": lambda: np.concatenate(
            [np.zeros(n // 2), rng.standard_normal(n - n // 2) * 1e6]
        ),
    }[kind]()
    return data.astype(dtype)


large_arrays = st.builds(
    _large_array,
    st.sampled_from(["arange", "random", "zeros", "small_ints", "half_random"]),
    st.integers(100, 200_000),
    st.sampled_from(["float64", "float32", "int64", "uint8"]),
    st.integers(0, 2**32 - 1),
)


@settings(max_examples=25, deadline=None)
@given(array=large_arrays)
def test_generated_large_arrays_both_policies(array):
    """Large arrays (past the 64 KiB sampling limit): DataJoint's bytes are reproduced
    exactly, and DataJoint reads our default blob back to the array."""
    dj_blob = dj.pack(array)
    assert ours.pack(array, compression="datajoint") == dj_blob
    blob = ours.pack(array)
    assert blob[:6] == b"ZL123\0" or blob == dj.pack(array, compress=False)
    assert_same(dj.unpack(blob), array)
    assert_same(ours.unpack(blob), array)


# --- deliberate differences -------------------------------------------------------------
def test_difference_char_matrix_order():
    """datajoint writes S1 matrices in C order and reads them back transposed; we use Fortran
    order."""
    matrix = np.array([[b"a", b"b"], [b"c", b"d"]], dtype="S1")
    assert dj.pack(matrix, compress=False)[-8:] == b"a\0b\0c\0d\0"
    assert ours.pack(matrix, compress=False)[-8:] == b"a\0c\0b\0d\0"
    assert ours.unpack(ours.pack(matrix)).tolist() == [["a", "b"], ["c", "d"]]
    assert dj.unpack(ours.pack(matrix)).tolist() == [["a", "b"], ["c", "d"]]


def test_difference_big_endian_and_unknown_protocol():
    big = np.arange(3, dtype=">f8")
    with pytest.raises(dj.DataJointError):
        dj.pack(big)
    assert ours.pack(big) == dj.pack(big.astype("<f8"))
    assert dj.unpack(b"abc\0\xff") is None
    with pytest.raises(ours.BlobError, match="unknown protocol header"):
        ours.unpack(b"abc\0\xff")


def test_difference_object_array_of_equal_length_lists():
    value = np.empty(2, dtype=object)
    value[0], value[1] = [1, 2], [3, 4]
    blob = dj.pack(value)
    assert blob == ours.pack(value)
    with pytest.raises(ValueError, match="cannot reshape array of size 4"):
        dj.unpack(blob)
    result = ours.unpack(blob)
    assert result.shape == (2,) and result[1] == [3, 4]


def test_difference_complex_with_infinite_imaginary_part():
    value = np.array([complex(1.0, float("inf"))])
    blob = ours.pack(value)
    assert blob == dj.pack(value)
    assert np.isnan(dj.unpack(blob)[0].real)  # datajoint computes re + 1j*im
    assert ours.unpack(blob)[0].real == 1.0 and ours.unpack(blob)[0].imag == float("inf")


def test_difference_empty_cell_keeps_shape():
    blob = dj.pack(cell_array(dj, [], (0, 0)))
    assert dj.unpack(blob).shape == (0,)
    assert ours.unpack(blob).shape == (0, 0)


def test_namespace_for_factories():
    """The corpus factories need nothing but MatStruct/MatCell from the module given."""
    fake = SimpleNamespace(MatStruct=ours.MatStruct, MatCell=ours.MatCell)
    assert isinstance(CORPUS["mat_cell"](fake), ours.MatCell)
