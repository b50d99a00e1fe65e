"""Cells built in Python (:mod:`pipeline_core.web.cells`) are exactly what the per-cell
template partial made before (issue 14: the partial is gone from the rows loop), escaping
included; the shortcut for plain scalars gives the same markup as the general path."""

from __future__ import annotations

import datetime
import decimal
import itertools

import numpy as np
import pytest
from django.template import Context, Engine

from pipeline_core.services.browse import BlobPreview
from pipeline_core.web import cells, previews

#: The cell partial of frontend_templates/table.html as it was before issue 14.
OLD_PARTIAL = (
    '<td class="{{ c.kind }}">{% if c.kind == "image" %}<a href="{{ c.thumb }}&amp;size=1024" '
    'target="_blank" rel="noopener"><img loading="lazy" src="{{ c.thumb }}&amp;size=192" '
    'width="{{ c.width }}" height="{{ c.height }}" alt="{{ c.alt|default:c.text }}"></a>'
    '<span class="dim"{% if c.title %} title="{{ c.title }}"{% endif %}>{{ c.text }}</span>'
    '{% elif c.kind == "null" %}<span class="null">NULL</span>{% elif c.kind == "file" %}'
    '{% if c.href %}<a class="download" href="{{ c.href }}" download title="{{ c.title }}">'
    '{{ c.text }}</a>{% else %}<span title="{{ c.title }}">{{ c.text }}</span>{% endif %}'
    '{% if c.detail %} <span class="dim">{{ c.detail }}</span>{% endif %}'
    '{% elif c.kind == "stored" %}<span{% if c.title %} title="{{ c.title }}"{% endif %}>'
    '{{ c.text }}</span>{% if c.load %} <a class="load" href="{{ c.load }}" '
    'hx-get="{{ c.load }}" hx-target="closest td" hx-swap="outerHTML" '
    'title="read the value from its store">load</a>{% endif %}{% else %}<span'
    '{% if c.title %} title="{{ c.title }}"{% endif %}>{{ c.text }}</span>{% endif %}</td>'
)
NASTY = "<script>alert(\"x&y\")</script> 'q' & ü"


#: Cell kinds newer than the template (issue 14 part 2): line charts, expandable structures.
NEW_KINDS = ("trace", "tree")


def old_html(cell: dict) -> str:
    return Engine().from_string(OLD_PARTIAL).render(Context({"c": cell}))


KINDS = ["image", "null", "file", "stored", "folder", "npy", "blob", "value", NASTY]
OPTIONAL = {
    "title": ["", NASTY, "plain title"],
    "alt": [None, "", NASTY],
    "thumb": ["/t/?key=abc", NASTY],
    "href": [None, "", "/d/?key=a&b=<c>"],
    "detail": ["", "1.2 MB", NASTY],
    "load": [None, "/v/?key=\"'><"],
}


def synthetic_cells():
    """Every kind with every optional key present, absent, empty or hostile."""
    for kind in KINDS:
        for title, alt, thumb, href, detail, load in itertools.product(*OPTIONAL.values()):
            cell = {"kind": kind, "text": NASTY if kind != "value" else "t", "title": title}
            optional = {"alt": alt, "thumb": thumb, "href": href, "detail": detail, "load": load}
            cell.update({k: v for k, v in optional.items() if v is not None})
            if kind == "blob":  # blobs' "plot" control is newer than the template
                cell.pop("load", None)
            if kind == "image":
                cell.update(width=96, height=48)
            yield cell


def test_every_cell_kind_renders_as_the_template_did():
    seen = 0
    for cell in synthetic_cells():
        assert cells.cell_html(cell) == old_html(cell), cell
        seen += 1
    assert seen == len(KINDS) * 3 * 3 * 2 * 3 * 3 * 2


def test_hostile_text_is_escaped():
    html = cells.cell_html({"kind": "value", "text": NASTY, "title": NASTY})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'title="&lt;script&gt;alert(&quot;x&amp;y&quot;)' in html


SCALARS = [
    0,
    -7,
    2**63 - 1,
    10**130,  # longer than MAX_TEXT: cut, with a title
    0.5,
    1.0,
    1 / 3,
    1e-7,
    -2.5e300,
    float("nan"),
    float("inf"),
    "",
    "plain",
    NASTY,
    "x" * 119,
    "x" * 120,
    "<" * 121,
    "é" * 200,
    True,
    np.int16(-3),
    np.float32(0.1),
    decimal.Decimal("3.14159"),
    datetime.date(2024, 5, 1),
    datetime.datetime(2024, 5, 1, 12, 30, 5, 123),
    {"a": 1, "<b>": [1, 2]},
    [1, 2, 3],
    b"\x00<bytes>",
    np.arange(5.0),
    np.zeros((3, 4)),
    BlobPreview(size=12),
    BlobPreview(size=1234567, error="not a blob <x>"),
    None,
]


@pytest.mark.parametrize("value", SCALARS, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("codec", [None, "blob"])
def test_column_formatter_matches_the_template_path(value, codec):
    formatter = cells.column_formatter(codec, {})
    described = previews.cell(value, codec=codec)
    if described["kind"] in NEW_KINDS:  # the template had no such cells: their own markup
        html = formatter(value, "")
        assert html.startswith(f'<td class="{described["kind"]}">') and html.endswith("</td>")
        if described["kind"] == "tree":  # a dict or list, escaped, under its summary
            assert "<details><summary" in html and "<pre>" in html and "<b>" not in html
            assert "&lt;b&gt;" in html if isinstance(value, dict) else "2," in html
        else:
            assert "<svg" in html or "<img" in html
        return
    assert formatter(value, "") == old_html(described)


def test_linked_columns_build_their_links_per_row():
    urls = {"thumb_url": "/s/x/tables/t/thumbnail/img/"}
    formatter = cells.column_formatter("blob", urls)
    image = np.zeros((8, 8))
    html = formatter(image, "TOKEN")
    expected = old_html(previews.cell(image, thumb_url=urls["thumb_url"] + "?key=TOKEN"))
    assert html == expected and "?key=TOKEN&amp;size=192" in html
    assert formatter(None, "TOKEN") == old_html(previews.cell(None))
