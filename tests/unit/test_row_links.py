"""Links of the row page (issue 14, part 3), no database: the fast key tokens of table
pages equal :func:`encode_key`'s, primary-key cells link to their row pages with the same
markup whichever path builds them, and restricted table links carry the condition of the
``where`` contract."""

from __future__ import annotations

import datetime
import decimal
import uuid
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from pipeline_core.keys import decode_key, encode_key, key_encoder
from pipeline_core.querystate import decode_description
from pipeline_core.web import cells
from pipeline_core.web.links import key_condition, restricted_table_url, row_url, row_url_prefix

VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.uuids(),
)


@given(
    st.dictionaries(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
        VALUES,
        max_size=4,
    )
)
def test_key_encoder_equals_encode_key(key):
    names = list(key)
    assert key_encoder(names)({**key, "other": object()}) == encode_key(key)


@pytest.mark.parametrize(
    "key",
    [
        {"subject_id": 1},
        {"name": 'a "quoted" ünï\\code\n'},
        {"subject_id": 1, "session_id": 2, "image_name": "coins"},
        {"day": datetime.date(2026, 1, 2), "n": 3},
        {"id": uuid.UUID(int=7)},
        {"cost": decimal.Decimal("1.250")},
        {},
    ],
)
def test_key_encoder_tokens_decode_to_the_key(key):
    token = key_encoder(list(key))(key)
    assert token == encode_key(key)
    assert list(decode_key(token)) == list(key)


def show(value, token):
    return cells.column_formatter(None, {})(value, token)


@pytest.mark.parametrize(
    "value", [1, -20, "coins", "<b>&'\"", "x" * 200, 2.5, datetime.date(2026, 1, 2), True]
)
def test_key_cells_link_with_the_same_markup_on_every_path(value):
    prefix = "/schemas/s/tables/t/rows/"
    [(_, linked)] = cells.link_keys([("k", show)], ["k"], prefix)
    html = linked(value, "TOKEN")
    plain = show(value, "TOKEN")
    start = plain.index(">") + 1
    assert html == (
        f'{plain[:start]}<a class="row-link" href="{prefix}TOKEN/">{plain[start:-5]}</a></td>'
    )


def test_only_key_cells_link_and_links_do_not_nest():
    image = cells.column_formatter("blob", {"thumb_url": "/thumb/"})
    columns = cells.link_keys([("k", show), ("v", show), ("img", image)], ["k", "img"], "/r/")
    assert "row-link" not in columns[1][1]("x", "T")
    html = columns[2][1](np.zeros((4, 4)), "T")
    assert html.count("<a ") == 1 and "row-link" not in html


def test_row_urls():
    assert row_url_prefix("lab", "#kind") == "/schemas/lab/tables/%23kind/rows/"
    key = {"subject_id": 1, "session_id": 2}
    assert row_url("lab", "session", key) == f"/schemas/lab/tables/session/rows/{encode_key(key)}/"
    assert reverse("web:row", args=["lab", "session", "abc"]).startswith(
        row_url_prefix("lab", "session")
    )


def test_restricted_table_url_carries_the_condition():
    key = {"subject_id": 1, "day": datetime.date(2026, 1, 2), "name": "ü"}
    url = restricted_table_url("lab", "session__trial", key)
    parts = urlsplit(url)
    assert parts.path == reverse("web:table", args=["lab", "session__trial"])
    condition = decode_description(parse_qs(parts.query)["where"][0])
    assert (
        condition
        == key_condition(key)
        == {
            "and": [
                {"attribute": "subject_id", "operator": "=", "value": 1},
                {"attribute": "day", "operator": "=", "value": "2026-01-02"},
                {"attribute": "name", "operator": "=", "value": "ü"},
            ]
        }
    )
