"""The ``q`` token of query descriptions and the SVG line charts of 1-D arrays."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

from pipeline_core.datamodel import QueryError
from pipeline_core.querystate import MAX_DECODED, decode_description, encode_description
from pipeline_core.web.sparkline import is_trace, line_svg

SVG = "{http://www.w3.org/2000/svg}"

DESCRIPTION = {
    "from": {"schema": "lab_ephys", "table": "session"},
    "where": {"or": [{"attribute": "note", "operator": "like", "value": "ünïcode %"}]},
    "order": [{"attribute": "session_date", "descending": True}],
}


def test_token_round_trips_and_is_url_safe():
    token = encode_description(DESCRIPTION)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_description(token) == DESCRIPTION


def test_token_is_raw_deflate_of_compact_json():
    """The browser writes the same token with CompressionStream("deflate-raw")."""
    token = encode_description({"a": 1})
    packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert zlib.decompress(packed, -15) == b'{"a":1}'


def test_plain_json_is_accepted():
    assert decode_description(' {"from": {"schema": "s", "table": "t"}}') == {
        "from": {"schema": "s", "table": "t"}
    }


@pytest.mark.parametrize("token", ["***", "abc", "{not json", '{"a": NaN}'])
def test_bad_tokens_are_query_errors(token):
    with pytest.raises(QueryError):
        decode_description(token)


def test_compression_bomb_is_refused():
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = packer.compress(b'{"a":"' + b"x" * (MAX_DECODED * 4) + b'"}') + packer.flush()
    token = base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    assert len(token) < 2000
    with pytest.raises(QueryError, match="more than"):
        decode_description(token)


def test_truncated_token_is_refused():
    token = encode_description(DESCRIPTION)
    with pytest.raises(QueryError):
        decode_description(token[: len(token) // 2])


def _points(svg: str) -> list[list[tuple[float, float]]]:
    root = ET.fromstring(svg)
    return [
        [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        for line in root.iter(SVG + "polyline")
    ]


def test_is_trace():
    assert is_trace(np.arange(5.0))
    assert is_trace(np.arange(6).reshape(1, 6))
    assert not is_trace(np.arange(6.0).reshape(2, 3))
    assert not is_trace(np.array([1.0]))
    assert not is_trace(np.array([True, False]))
    assert not is_trace([1, 2, 3])


def test_line_spans_the_box_and_keeps_extremes():
    values = np.zeros(100_000)
    values[77_777] = 5.0  # one spike in a long trace survives the reduction
    values[12_345] = -1.0
    svg = line_svg(values, (100, 20), label="float64 <trace>")
    (points,) = _points(svg)
    assert len(points) <= 200
    ys = [y for _, y in points]
    assert min(ys) == pytest.approx(1.0) and max(ys) == pytest.approx(19.0)
    xs = [x for x, _ in points]
    assert xs == sorted(xs) and xs[0] == pytest.approx(1.0) and xs[-1] <= 99.0
    assert "&lt;trace&gt;" in svg and ET.fromstring(svg).find(SVG + "title").text == (
        "float64 <trace>"
    )


def test_nan_breaks_the_line_and_flat_trace_is_centred():
    values = np.array([0.0, 1.0, np.nan, 2.0, 3.0])
    assert len(_points(line_svg(values, (50, 10)))) == 2
    (flat,) = _points(line_svg(np.ones(10), (50, 10)))
    assert {y for _, y in flat} == {5.0}


def test_not_a_trace_is_refused():
    with pytest.raises(ValueError, match="1-D array"):
        line_svg(np.arange(6.0).reshape(2, 3))
