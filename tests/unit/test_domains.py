"""The domains of attributes (pipeline_core.datamodel.domains): what a column can hold,
checked before a write so that the message names the rule."""

from __future__ import annotations

import decimal

import pytest

from pipeline_core.datamodel import domains
from pipeline_core.datamodel.errors import InvalidValueError
from pipeline_core.datamodel.heading import Attribute
from pipeline_core.datamodel.values import encode_for_write


def attr(declared: str, sql_type: str | None = None) -> Attribute:
    return Attribute(
        name="a",
        type=declared,
        sql_type=sql_type or declared,
        in_key=False,
        nullable=False,
        default=None,
        default_is_expression=False,
        comment="",
    )


@pytest.mark.parametrize(
    ("declared", "sql", "low", "high"),
    [
        ("int8", "tinyint", -128, 127),
        ("int16", "smallint", -32768, 32767),
        ("int32", "int", -(2**31), 2**31 - 1),
        ("int64", "bigint", -(2**63), 2**63 - 1),
        ("int unsigned", "int unsigned", 0, 2**32 - 1),
        ("smallint unsigned", "smallint unsigned", 0, 65535),
        ("mediumint", "mediumint", -(2**23), 2**23 - 1),
    ],
)
def test_integer_ranges(declared, sql, low, high):
    a = attr(declared, sql)
    assert encode_for_write(a, low) == low and encode_for_write(a, str(high)) == high
    for outside in (low - 1, high + 1):
        with pytest.raises(InvalidValueError, match=rf"out of range {low}\.\.{high}") as info:
            encode_for_write(a, outside, "`db`.`t`")
        assert info.value.attribute == "a" and info.value.table == "`db`.`t`"


def test_float32_magnitude():
    a = attr("float32", "float")
    assert encode_for_write(a, 3.4e38) == 3.4e38
    with pytest.raises(InvalidValueError, match="float32"):
        encode_for_write(a, 3.5e38)
    assert encode_for_write(attr("float64", "double"), 3.5e38) == 3.5e38


@pytest.mark.parametrize(
    ("value", "ok"),
    [("999.99", True), ("-999.99", True), ("999.994", True), ("999.995", False), ("1000", False)],
)
def test_decimal_digits(value, ok):
    a = attr("decimal(5,2)")
    if ok:
        assert encode_for_write(a, value) == decimal.Decimal(value)
    else:
        with pytest.raises(InvalidValueError, match=r"decimal\(5,2\)"):
            encode_for_write(a, value)


def test_lengths_in_characters_and_bytes():
    assert encode_for_write(attr("varchar(3)"), "äöü") == "äöü"  # characters, not bytes
    with pytest.raises(InvalidValueError, match="longer than 3 characters"):
        encode_for_write(attr("varchar(3)"), "abcd")
    with pytest.raises(InvalidValueError, match="longer than 2 characters"):
        encode_for_write(attr("char(2)"), "abc")
    with pytest.raises(InvalidValueError, match="255 bytes"):
        encode_for_write(attr("tinytext"), "é" * 128)


def test_enum_members_case_insensitively_as_declared():
    a = attr("enum('hit','miss')")
    assert encode_for_write(a, "MISS") == "miss"
    with pytest.raises(InvalidValueError, match="not one of 'hit', 'miss'"):
        encode_for_write(a, "maybe")


@pytest.mark.parametrize(
    ("text", "stored"),
    [("9:05", "9:05:00"), ("-12:00:01", "-12:00:01"), ("838:59:59", "838:59:59")],
)
def test_times(text, stored):
    assert encode_for_write(attr("time"), text) == stored


@pytest.mark.parametrize("text", ["839:00:00", "noon", "12:60"])
def test_bad_times(text):
    with pytest.raises(InvalidValueError):
        encode_for_write(attr("time"), text)


def test_bool_and_none_pass():
    assert encode_for_write(attr("bool", "tinyint"), "true") == 1
    assert domains.integer_range("varchar(3)") is None
