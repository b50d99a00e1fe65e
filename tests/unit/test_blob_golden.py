"""Golden tests: every test vector of spec §4.4, byte for byte, and back.

The vectors are DataJoint's default ``pack`` output; ``compression="datajoint"`` must
reproduce them exactly. LabBook's default ``"fast"`` compression differs only for the one
vector over the 1000-byte compression threshold (zeros_1000: zlib level 1, not 6).
"""

from __future__ import annotations

import datetime
import math
import uuid
import zlib
from decimal import Decimal

import numpy as np
import pytest

from pipeline_core.datamodel.codecs.blob import MatCell, MatStruct, pack, unpack


def assert_same(actual, expected):
    """Equal value *and* type; arrays also equal in class, dtype and shape."""
    assert type(actual) is type(expected), (type(actual), type(expected))
    if isinstance(expected, np.generic):
        assert actual.dtype == expected.dtype and actual.tobytes() == expected.tobytes()
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, (actual, expected)
        if expected.dtype.names:
            for name in expected.dtype.names:
                assert_same(np.asarray(actual[name]), np.asarray(expected[name]))
        elif expected.dtype == object:
            for a, e in zip(actual.ravel(), expected.ravel()):
                assert_same(a, e)
        else:
            assert np.array_equal(actual, expected, equal_nan=expected.dtype.kind in "fc")
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(actual)
    elif isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same(actual[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e)
    else:
        assert actual == expected


def _struct():
    return MatStruct.from_records([{"f": 1.0, "g": "x"}])


def _cell():
    return MatCell.from_items([np.array([1.0]), "ab"])


def _record():
    return np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])


# (id, value, hex of pack(value) from spec §4.4, expected unpack(...) or SAME)
SAME = object()
VECTORS = [
    (
        "int64_vector",
        np.array([1, 2, 3], dtype=np.int64),
        "6d596d00 41 0100000000000000 0300000000000000 0e000000 00000000"
        "0100000000000000 0200000000000000 0300000000000000",
        SAME,
    ),
    (
        "int32_matrix",
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        "6d596d0041020000000000000002000000000000000200000000000000 0c000000 00000000"
        "01000000030000000200000004000000",
        SAME,
    ),
    (
        "eye",
        np.eye(2),
        "6d596d0041020000000000000002000000000000000200000000000000060000000000000000000000"
        "0000f03f00000000000000000000000000000000000000000000f03f",
        SAME,
    ),
    (
        "bool_vector",
        np.array([True, False]),
        "6d596d00410100000000000000020000000000000003000000000000000100",
        SAME,
    ),
    (
        "uint8_vector",
        np.array([0, 255], dtype=np.uint8),
        "6d596d004101000000000000000200000000000000090000000000000000ff",
        SAME,
    ),
    (
        "empty_float64",
        np.array([], dtype=np.float64),
        "6d596d0041010000000000000000000000000000000600000000000000",
        SAME,
    ),
    (
        "complex_vector",
        np.array([1 + 2j, 3 - 1j]),
        "6d596d0041010000000000000002000000000000000600000001000000 "
        "000000000000f03f 0000000000000840"
        "0000000000000040 000000000000f0bf",
        SAME,
    ),
    ("python_float", 3.14, "646a3000 0d 1f85eb51b81e0940", SAME),
    (
        "float64_scalar",
        np.float64(3.14),
        "646a3000 41 0000000000000000 06000000 00000000 1f85eb51b81e0940",
        SAME,
    ),
    ("float32_scalar", np.float32(1.5), "646a300041000000000000000007000000000000000000c03f", SAME),
    ("int16_scalar", np.int16(5), "646a30004100000000000000000a000000000000000500", SAME),
    ("bool_scalar", np.bool_(True), "646a3000410000000000000000030000000000000001", SAME),
    ("int_7", 7, "646a3000 0a 0100 07", SAME),
    ("int_minus_1", -1, "646a3000 0a 0100 ff", SAME),
    ("int_300", 300, "646a3000 0a 0200 2c01", SAME),
    ("int_2_pow_70", 2**70, "646a3000 0a 0900 000000000000000040", SAME),
    ("python_bool", True, "646a3000 0b 01", SAME),
    ("python_complex", 1 + 2j, "646a3000 0c 000000000000f03f 0000000000000040", SAME),
    ("nan", float("nan"), "646a3000 0d 000000000000f87f", SAME),
    ("str", "hello", "646a3000 05 0500000000000000 68656c6c6f", SAME),
    ("str_utf8", "héllo", "646a3000 05 0600000000000000 68c3a96c6c6f", SAME),
    ("bytes", b"ab", "646a3000 06 0200000000000000 6162", SAME),
    ("none", None, "646a3000 ff", SAME),
    (
        "dict",
        {"a": 1, "b": "x"},
        "646a3000 04 0200000000000000"
        "0a00000000000000 05 0100000000000000 61"
        "0400000000000000 0a 0100 01"
        "0a00000000000000 05 0100000000000000 62"
        "0a00000000000000 05 0100000000000000 78",
        SAME,
    ),
    (
        "list",
        [1, 2.5, "x"],
        "646a3000 02 0300000000000000 0400000000000000 0a010001 0900000000000000 0d0000000000000440"
        "0a00000000000000 050100000000000000 78",
        SAME,
    ),
    (
        "tuple",
        (1, 2),
        "646a3000 01 0200000000000000 0400000000000000 0a010001 0400000000000000 0a010002",
        SAME,
    ),
    ("set", {1}, "646a3000 03 0100000000000000 0400000000000000 0a010001", SAME),
    ("empty_list", [], "646a3000 02 0000000000000000", SAME),
    (
        "unicode_array",
        np.array(["ab", "c"]),
        "646a3000 41 0100000000000000 0200000000000000 05000000 00000000"
        "0b00000000000000 05 0200000000000000 6162"
        "0a00000000000000 05 0100000000000000 63",
        np.array(["ab", "c"], dtype=object),
    ),
    (
        "object_array",
        np.array([1, "a"], dtype=object),
        "646a30004101000000000000000200000000000000050000000000000004000000000000000a010001"
        "0a0000000000000005010000000000000061",
        SAME,
    ),
    (
        "datetime",
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        "646a3000 74 e6d63401 467b471407000000",
        SAME,
    ),
    ("date", datetime.date(2024, 1, 2), "646a3000 74 e6d63401 ffffffffffffffff", SAME),
    ("time", datetime.time(3, 4, 5), "646a3000 74 ffffffff 407b471407000000", SAME),
    (
        "datetime64_scalar",
        np.datetime64("2024-01-02", "D"),
        "646a3000 41 0000000000000000 03000100 00000000 0c4d000000000000",
        SAME,
    ),
    (
        "datetime64_array",
        np.array(["2024-01-02T00:00:00"], dtype="datetime64[s]"),
        "646a3000410100000000000000010000000000000006000100000000000052936500000000",
        SAME,
    ),
    (
        "uuid",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "646a3000 75 12345678123456781234567812345678",
        SAME,
    ),
    ("decimal", Decimal("1.50"), "646a3000 64 0400000000000000 312e3530", SAME),
    (
        "structured",
        _record(),
        "646a3000 46 02000000 6100 6200"
        "41 0100000000000000 0100000000000000 0c000000 00000000 01000000"
        "41 0100000000000000 0100000000000000 06000000 00000000 0000000000000040",
        _record().view(np.recarray),
    ),
    (
        "mat_struct",
        _struct(),
        "646a3000 53 0100000000000000 0100000000000000 02000000 6600 6700"
        "0900000000000000 0d000000000000f03f"
        "0a00000000000000 05 0100000000000000 78",
        SAME,
    ),
    (
        "mat_cell",
        _cell(),
        "646a3000 43 0100000000000000 0200000000000000"
        "2100000000000000 41 0100000000000000 0100000000000000 06000000 00000000 000000000000f03f"
        "0b00000000000000 05 0200000000000000 6162",
        SAME,
    ),
    (
        "char_array",
        np.array([b"a", b"b"], dtype="S1"),
        "6d596d004101000000000000000200000000000000040000000000000061006200",
        np.array(["ab"]),
    ),
    (
        "zeros_1000",
        np.zeros(1000),
        "5a4c313233005d1f000000000000789cedc5410d00200c04b02324f8420622e61b193c165cb49fd6a9ec9176"
        "67bf02000000000000007c0f4e240267",
        SAME,
    ),
]


@pytest.mark.parametrize("name, value, hex_blob, expected", VECTORS, ids=[v[0] for v in VECTORS])
def test_pack_matches_vector(name, value, hex_blob, expected):
    assert pack(value, compression="datajoint").hex() == hex_blob.replace(" ", "")


@pytest.mark.parametrize("name, value, hex_blob, expected", VECTORS, ids=[v[0] for v in VECTORS])
def test_default_pack_of_vector(name, value, hex_blob, expected):
    """Up to 1000 bytes the policies agree; zeros_1000 is compressed at level 1 instead."""
    blob = pack(value)
    if name == "zeros_1000":
        assert blob[:16] == b"ZL123\0" + (8029).to_bytes(8, "little") + b"\x78\x01"
        assert zlib.decompress(blob[14:]) == pack(value, compress=False)
    else:
        assert blob.hex() == hex_blob.replace(" ", "")


@pytest.mark.parametrize("name, value, hex_blob, expected", VECTORS, ids=[v[0] for v in VECTORS])
def test_unpack_vector(name, value, hex_blob, expected):
    blob = bytes.fromhex(hex_blob.replace(" ", ""))
    assert_same(unpack(blob), value if expected is SAME else expected)


@pytest.mark.parametrize("name, value, hex_blob, expected", VECTORS, ids=[v[0] for v in VECTORS])
def test_uncompressed_pack_of_vector(name, value, hex_blob, expected):
    blob = pack(value, compress=False)
    if name == "zeros_1000":
        assert len(blob) == 8029
        assert zlib.compress(blob) == bytes.fromhex(hex_blob.replace(" ", ""))[14:]
    else:
        assert blob.hex() == hex_blob.replace(" ", "")


def test_zeros_vector_lengths():
    blob = pack(np.zeros(1000), compression="datajoint")
    assert len(blob) == 60
    assert blob[:6] == b"ZL123\0" and int.from_bytes(blob[6:14], "little") == 8029
    assert blob[14:16] == b"\x78\x9c"  # zlib default level, as DataJoint
    fast = pack(np.zeros(1000))
    assert fast[:6] == b"ZL123\0" and int.from_bytes(fast[6:14], "little") == 8029
    assert fast[14:16] == b"\x78\x01" and len(fast) < 8029 // 10  # level 1
    assert_same(unpack(fast), np.zeros(1000))


def test_unpack_squeeze_of_vectors():
    assert unpack(pack(np.float64(3.14)), squeeze=True) == 3.14
    assert unpack(pack(np.array([b"a", b"b"], dtype="S1")), squeeze=True) == "ab"
    assert unpack(pack(np.array([[1.0, 2.0]])), squeeze=True).shape == (2,)


def test_mat_struct_fields_after_unpack():
    value = unpack(pack(_struct()))
    assert isinstance(value, MatStruct) and value.shape == (1,)
    assert value.dtype.names == ("f", "g")
    assert value["f"][0] == 1.0 and value.g[0] == "x"
