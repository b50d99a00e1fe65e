"""Schema patterns of role grants (MySQL-grant style): wildcards, escapes, validation."""

from __future__ import annotations

import pytest

from pipeline_core.schema_patterns import PatternError, escape, matches, validate_pattern


@pytest.mark.parametrize(
    "pattern, name, expected",
    [
        ("%", "anything", True),
        ("%", "", True),
        ("lab\\_%", "lab_ephys", True),
        ("lab\\_%", "lab_", True),
        ("lab\\_%", "lab2", False),  # \_ is a literal underscore
        ("lab\\_%", "labx_y", False),
        ("lab\\_%", "mylab_x", False),  # the whole name, not a substring
        ("lab_%", "lab2x", True),  # an unescaped _ is one character, as in MySQL
        ("lab_%", "lab", False),  # ... exactly one
        ("lab_", "lab_", True),
        ("lab_", "labxy", False),
        ("a_c", "abc", True),
        ("a_c", "ac", False),
        ("a_c", "a\u00e9c", True),  # one character, not one byte
        ("a\\%", "a%", True),  # \% is a literal percent sign
        ("a\\%", "ab", False),
        ("a\\\\b", "a\\b", True),  # \\ is a literal backslash
        ("a\\\\%", "a\\xyz", True),
        ("a\\\\%", "axyz", False),
        ("a\\b", "ab", True),  # \ before any other character: that character
        ("Lab%", "lab_x", False),  # case-sensitive, as database names on Linux
        ("a.c", "abc", False),  # regex characters are literal
        ("a*", "aaa", False),
        ("(x)", "(x)", True),
        ("%_demo\\_lab", "lbt_12_demo_lab", True),
        ("%_demo\\_lab", "demo_lab", False),
        ("%_demo\\_lab", "_demo_lab", True),
        ("%%", "", True),
        ("x%y%z", "xyz", True),
        ("x%y%z", "x--y--z", True),
        ("x%y%z", "x--z--y", False),
        ("%", "line\nbreak", True),
    ],
)
def test_matches(pattern, name, expected):
    assert matches(pattern, name) is expected


@pytest.mark.parametrize("name", ["lab_x", "100%", "a\\b", "plain", "_%\\", ""])
def test_escape_matches_exactly_the_name(name):
    pattern = escape(name)
    assert matches(pattern, name)
    assert not matches(pattern, name + "x")
    if "_" in name:
        assert not matches(pattern, name.replace("_", "Q"))
    if name:
        assert matches(pattern + "%", name + "_suffix")


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ("", "may not be empty"),
        ("lab\\", "lone backslash"),
        ("a\\\\\\", "lone backslash"),
        ("x" * 129, "at most 128"),
    ],
)
def test_invalid_patterns_are_refused(pattern, reason):
    with pytest.raises(PatternError, match=reason):
        validate_pattern(pattern)


def test_valid_patterns_are_returned():
    assert validate_pattern("lab\\_%") == "lab\\_%"
    assert validate_pattern("a\\\\") == "a\\\\"  # an escaped backslash at the end is fine
