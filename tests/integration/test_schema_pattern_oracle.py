"""The schema pattern matcher against MariaDB/MySQL's own ``LIKE`` (its escape ``\\``,
case-sensitive binary collation), on random names and patterns."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_core.schema_patterns import matches

pytestmark = pytest.mark.integration

NAME_CHARS = "ab_%\\Aé"
TOKENS = ["a", "b", "A", "é", "_", "%", "\\_", "\\%", "\\\\", "\\a"]


@pytest.fixture(scope="module")
def server(dj_connect):
    conn = dj_connect()
    yield conn
    conn.close()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(alphabet=NAME_CHARS, max_size=8),
    pattern=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=7).map("".join),
)
def test_matches_like_the_server(server, name, pattern):
    with server.cursor() as cursor:
        cursor.execute("SELECT %s COLLATE utf8mb4_bin LIKE %s", (name, pattern))
        (expected,) = cursor.fetchone()
    assert matches(pattern, name) is bool(expected), (pattern, name)
