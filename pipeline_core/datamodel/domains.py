"""The domain of an attribute: which encoded values its column can hold, checked before a
write so that a refusal names the table, the attribute and the rule (an int16 overflow
says the range, not the server's "Out of range value for column" message).

The rules are those of the column types of spec §2.2 (core types) and §2.3 (native types):
integer ranges by size and signedness, float32's largest magnitude, decimal(M, D) digits,
char/varchar lengths in characters, text sizes in bytes, enum members, time values. A
strict-mode server refuses the same values; checking first gives every problem of a batch
at once and a message people can act on.

Used by :func:`.values.encode_for_write` (insert, update1 and the batch check of
:mod:`.batch_check` share it: one implementation).
"""

from __future__ import annotations

import datetime
import decimal
import functools
import re
from typing import Any

from .errors import InvalidValueError
from .heading import Attribute
from .types import base_name, enum_values, type_family

#: Integer base type -> number of bits (spec §2.2: int8..int64 and their SQL names, §2.3).
_INTEGER_BITS = {
    "int8": 8,
    "tinyint": 8,
    "bool": 8,
    "int16": 16,
    "smallint": 16,
    "mediumint": 24,
    "int32": 32,
    "int": 32,
    "integer": 32,
    "int64": 64,
    "bigint": 64,
    "serial": 64,
}
#: Largest finite single-precision float (IEEE 754 binary32).
FLOAT32_MAX = 3.4028234663852886e38
#: text column sizes in bytes (MySQL's L < 2^8, 2^16, 2^24, 2^32).
_TEXT_BYTES = {"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 4294967295}
_LENGTH = re.compile(r"^\s*(?:var)?char\s*\(\s*(\d+)\s*\)", re.I)
_DECIMAL = re.compile(r"^\s*(?:decimal|numeric|dec|fixed)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", re.I)
#: MySQL TIME: [-]H..HHH:MM[:SS[.ffffff]] within ±838:59:59.
_TIME = re.compile(r"^\s*(-)?(\d{1,3}):([0-5]\d)(?::([0-5]\d)(\.\d{1,6})?)?\s*$")


@functools.lru_cache(maxsize=4096)
def integer_range(sql_type: str) -> tuple[int, int] | None:
    """``(min, max)`` of an integer column type (``smallint`` -> (-32768, 32767),
    ``int unsigned`` -> (0, 4294967295)), or None for other types."""
    bits = _INTEGER_BITS.get(base_name(sql_type))
    if bits is None:
        return None
    if "unsigned" in sql_type.lower() or base_name(sql_type) == "serial":
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


@functools.lru_cache(maxsize=4096)
def decimal_digits(sql_type: str) -> tuple[int, int] | None:
    """``(M, D)`` of ``decimal(M, D)`` (D defaults to 0; ``decimal`` alone is (10, 0)), or
    None for other types."""
    match = _DECIMAL.match(sql_type)
    if match:
        return int(match.group(1)), int(match.group(2) or 0)
    if base_name(sql_type) in ("decimal", "numeric", "dec", "fixed"):
        return 10, 0
    return None


@functools.lru_cache(maxsize=4096)
def char_length(sql_type: str) -> int | None:
    """The length in characters of ``char(N)`` / ``varchar(N)``, or None."""
    match = _LENGTH.match(sql_type)
    return int(match.group(1)) if match else None


@functools.lru_cache(maxsize=1024)
def members(sql_type: str) -> tuple[str, ...] | None:
    """The members of an ``enum(...)`` column in declaration order, or None."""
    if base_name(sql_type) != "enum":
        return None
    return tuple(enum_values(sql_type))


def _refuse(attr: Attribute, table: str | None, value: Any, reason: str) -> InvalidValueError:
    return InvalidValueError(
        f"{table or 'table'}: invalid value {value!r} for attribute `{attr.name}` of type "
        f"{attr.type}: {reason}",
        table=table,
        attribute=attr.name,
    )


def check(attr: Attribute, encoded: Any, table: str | None = None, given: Any = None) -> Any:
    """Check an encoded value (what :func:`.values.encode` returned) against the column's
    domain; return it, canonicalised where the column would do the same (an enum member
    given in another case becomes the member as declared; a time becomes ``H:MM:SS``).

    Args:
        attr: the attribute (its ``sql_type`` decides).
        encoded: the driver parameter (int, float, Decimal, str, bytes, ...). The DEFAULT
            marker and None are not passed here.
        table: full table name, for the message.
        given: the value as given (shown in the message; defaults to ``encoded``).

    Raises:
        InvalidValueError: out of the integer range (the message gives the range), beyond
            float32, more digits than decimal(M, D) holds, longer than char/varchar(N)
            characters or a text column's bytes, not a member of the enum (the message
            lists the members), or not a time.
    """
    shown = encoded if given is None else given
    sql_type = attr.sql_type
    family = type_family(attr.type)
    if isinstance(encoded, bool) or family == "bool":
        return encoded
    if isinstance(encoded, int):
        bounds = integer_range(sql_type)
        if bounds and not bounds[0] <= encoded <= bounds[1]:
            raise _refuse(attr, table, shown, f"out of range {bounds[0]}..{bounds[1]}")
        return encoded
    if isinstance(encoded, float):
        if base_name(sql_type) == "float" and abs(encoded) > FLOAT32_MAX:
            raise _refuse(attr, table, shown, f"beyond float32's range ±{FLOAT32_MAX:.7g}")
        return encoded
    if isinstance(encoded, decimal.Decimal):
        return _check_decimal(attr, table, shown, encoded)
    if isinstance(encoded, str):
        return _check_text(attr, table, shown, encoded)
    return encoded


def _check_decimal(attr, table, shown, number: decimal.Decimal) -> decimal.Decimal:
    digits = decimal_digits(attr.sql_type)
    if digits is None:
        return number
    m, d = digits
    if "unsigned" in attr.sql_type.lower() and number < 0:
        raise _refuse(attr, table, shown, "negative values are not allowed (unsigned)")
    rounded = number.quantize(decimal.Decimal(1).scaleb(-d), rounding=decimal.ROUND_HALF_UP)
    integer_digits = len(str(abs(int(rounded)))) if int(rounded) else 0
    if integer_digits > m - d:
        limit = "9" * (m - d) + ("." + "9" * d if d else "")
        raise _refuse(
            attr, table, shown, f"out of range for decimal({m},{d}) (at most ±{limit or '0'})"
        )
    return number


def _check_text(attr, table, shown, text: str) -> str:
    base = base_name(attr.sql_type)
    enum = members(attr.sql_type)
    if enum is not None:
        if text in enum:
            return text
        folded = {m.casefold(): m for m in enum}
        if text.casefold() in folded:
            return folded[text.casefold()]
        raise _refuse(attr, table, shown, "not one of " + ", ".join(repr(m) for m in enum))
    length = char_length(attr.sql_type)
    if length is not None and len(text) > length:
        raise _refuse(attr, table, shown, f"longer than {length} characters ({len(text)})")
    if base in _TEXT_BYTES and len(text.encode("utf-8")) > _TEXT_BYTES[base]:
        raise _refuse(attr, table, shown, f"longer than {_TEXT_BYTES[base]} bytes")
    if base == "time":
        return _check_time(attr, table, shown, text)
    return text


def _check_time(attr, table, shown, text: str) -> str:
    match = _TIME.match(text)
    if not match:
        raise _refuse(attr, table, shown, "not a time (H:MM or H:MM:SS)")
    sign, hours, minutes, seconds, fraction = match.groups()
    value = datetime.timedelta(
        hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0)
    ) + datetime.timedelta(seconds=float(fraction or 0))
    if value > datetime.timedelta(hours=838, minutes=59, seconds=59):
        raise _refuse(attr, table, shown, "out of range -838:59:59..838:59:59")
    return f"{sign or ''}{int(hours)}:{minutes}:{seconds or '00'}{fraction or ''}"
