"""``links.url_for`` (issue 14): the remembered ``reverse`` gives exactly what ``reverse``
gives, for odd names too, and follows the script prefix and the URLconf it is called
under (both part of what it remembers)."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix
from hypothesis import given
from hypothesis import strategies as st

from pipeline_core.web.links import row_url, row_url_prefix, url_for

NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
    min_size=1,
    max_size=20,
)


@given(NAMES, NAMES)
def test_equals_reverse(schema, table):
    for view in ("web:table", "web:entry", "web:history", "web:jobs", "web:grid"):
        assert url_for(view, schema, table) == reverse(view, args=[schema, table])
    assert url_for("web:schema", schema) == reverse("web:schema", args=[schema])
    token = "eyJpZCI6MX0"
    assert row_url_prefix(schema, table) + token + "/" == reverse(
        "web:row", args=[schema, table, token]
    )


def test_row_url_is_reverses():
    assert row_url("s", "t", {"id": 1}) == reverse("web:row", args=["s", "t", "eyJpZCI6MX0"])


def test_follows_the_script_prefix():
    assert url_for("web:query") == "/query/"
    set_script_prefix("/lab/")
    try:
        assert url_for("web:query") == reverse("web:query") == "/lab/query/"
    finally:
        set_script_prefix("/")
    assert url_for("web:query") == "/query/"


def test_follows_the_urlconf(settings):
    assert url_for("web:query") == "/query/"
    settings.ROOT_URLCONF = "tests.unit.urlconf_other"
    with pytest.raises(NoReverseMatch):
        url_for("web:query")


def test_unknown_names_raise_as_reverse():
    with pytest.raises(NoReverseMatch):
        url_for("web:no_such_view")
