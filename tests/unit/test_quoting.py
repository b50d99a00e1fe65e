"""Names in SQL and in URLs (issue #15 part 6): the names the server accepts (any a legacy
database may hold) against the names DataJoint declares, quoting as a driver template, and
the ``<name:...>`` URL converter. No database: the server's side is in
tests/web/test_odd_names.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_core.datamodel.errors import DataJointError
from pipeline_core.datamodel.sql.quoting import (
    check_declared_name,
    check_identifier,
    full_name,
    literal,
    quote,
)
from pipeline_core.datamodel.tableref import TableRef
from pipeline_core.url_names import NameConverter

#: Names MariaDB 10.11 took in CREATE TABLE (tried by hand), none of which DataJoint declares.
SERVER_NAMES = [
    "bad name",
    "Mixed Case",
    "ünï",
    "表",
    "a.b",
    "a`b",
    "x%y",
    "x%s",
    "<b>x",
    "a/b",
    "a\\b",
    "nl\nx",
    " lead",
    "q'\"s",
    "é" * 64,
]
#: Names the server refuses: empty, 65 characters, NUL, a trailing space, outside the BMP.
REFUSED = ["", "é" * 65, "a\x00b", "trail ", "\U0001f600", "\ud800"]


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_names_the_server_accepts_are_identifiers_but_not_declared_names(name):
    assert check_identifier(name) == name
    with pytest.raises(DataJointError, match="Invalid SQL identifier"):
        check_declared_name(name)


@pytest.mark.parametrize("name", REFUSED)
def test_names_the_server_refuses(name):
    for check in (check_identifier, quote, check_declared_name):
        with pytest.raises(DataJointError, match="Invalid SQL identifier"):
            check(name)


@pytest.mark.parametrize(
    "name", ["subject_id", "#species", "__detection", "~~jobs", "a-b$", "1abc"]
)
def test_declared_names_are_identifiers_too(name):
    assert check_declared_name(name) == check_identifier(name) == name


def test_quote_doubles_backquotes_and_percent_signs():
    """Backquotes as SQL reads them; ``%`` because SQL text is a driver template (a table
    ``x%s`` must never take a parameter's place)."""
    assert quote("a`b") == "`a``b`"
    assert quote("x%s") == "`x%%s`"
    assert quote("plain") == "`plain`" and quote("plain") is quote("plain")  # memoised
    assert full_name("d b", "x%y") == "`d b`.`x%%y`"
    assert quote("x%s") % () == "`x%s`"  # what the driver sends
    assert literal("50% 'off'") % () == "'50% ''off'''"


@given(st.text(st.characters(min_codepoint=1, max_codepoint=0xFFFF), min_size=1, max_size=64))
def test_table_refs_read_back_from_their_full_names(name):
    if name.endswith(" ") or any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        with pytest.raises(DataJointError):
            TableRef("db", name)
        return
    ref = TableRef("db", name)
    assert TableRef.parse(ref.full_name) == ref
    assert ref.sql_name % () == ref.full_name  # the template the driver formats
    assert ref.full_name == "`db`.`" + name.replace("`", "``") + "`"


@given(st.text(st.characters(min_codepoint=1), min_size=1))
def test_url_segments_read_back(name):
    """``to_url`` leaves no ``/`` (one segment) and ``to_python`` of the decoded segment
    is the name (``reverse`` percent-encodes the ``%`` of ``%25`` and ``%2F`` once more,
    and the server decodes it once)."""
    converter = NameConverter()
    segment = converter.to_url(name)
    assert "/" not in segment
    assert converter.to_python(segment) == name
