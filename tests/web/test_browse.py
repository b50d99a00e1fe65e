"""Browsing pages through Django's test client against the real MariaDB (demo pipeline)."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from django.urls import reverse
from PIL import Image as PILImage

from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.web.keys import decode_key

pytestmark = pytest.mark.integration


def table_url(ns_class) -> str:
    return reverse("web:table", args=[ns_class.database, ns_class.table_name])


def test_pages_require_login(client, demo):
    for url in [
        "/",
        reverse("web:schema", args=[demo.Subject.database]),
        table_url(demo.Subject),
        "/api/v1/schemas/",
    ]:
        response = client.get(url)
        assert response.status_code in (302, 401), url
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"]
        else:  # the API: a token challenge
            assert url.startswith("/api/") and response["WWW-Authenticate"] == "Token"


def test_home_lists_demo_schemas_with_tier_counts(lab_client, demo, pipeline_prefix):
    html = lab_client.get("/").content.decode()
    catalog = catalog_of(demo.Subject.connection)
    for schema in (demo.Subject.database, demo.Image.database):
        assert reverse("web:schema", args=[schema]) in html
        catalog.invalidate(schema)
        tables = catalog.tables(schema)
        link = re.escape(reverse("web:schema", args=[schema]))
        row = re.search(rf'href="{link}".*?</tr>', html, re.S).group(0)
        counts = [
            int(n) if n != "–" else 0 for n in re.findall(r'<td class="num">([^<]+)</td>', row)
        ]
        expected = [
            sum(t.tier == tier for t in tables)
            for tier in ("Lookup", "Manual", "Imported", "Computed", "Part")
        ] + [len(tables)]
        assert counts == expected


def _svg_links(html: str) -> set[str]:
    svg = re.search(r"<svg.*</svg>", html, re.S).group(0)
    return {unescape(h) for h in re.findall(r'href="([^"]+)"', svg)}


def test_schema_page_groups_tables_and_draws_linked_diagram(lab_client, demo):
    lab = demo.Subject.database
    response = lab_client.get(reverse("web:schema", args=[lab]))
    assert response.status_code == 200
    html = response.content.decode()
    links = _svg_links(html)
    for cls in (demo.Experimenter, demo.Subject, demo.Session, demo.Session.Trial):
        assert table_url(cls) in links, cls
    # cross-schema child (demo_imaging.Image depends on demo_lab.Session) is drawn and linked
    assert table_url(demo.Image) in links
    assert 'class="dag"' in html
    # parts are nested under their master in the table list
    tables = re.search(r'<section class="tables card".*?</section>', html, re.S).group(0)
    session = re.escape(table_url(demo.Session))
    session_item = re.search(rf'<a href="{session}">Session</a>.*?</li>\s*</ul>', tables, re.S)
    assert session_item and table_url(demo.Session.Trial) in session_item.group(0)


def test_imaging_diagram_shows_parent_from_other_schema(lab_client, demo):
    html = lab_client.get(reverse("web:schema", args=[demo.Image.database])).content.decode()
    assert table_url(demo.Session) in _svg_links(html)
    assert demo.Session.database in html  # the other schema's frame is labelled


def test_table_page_shows_heading_with_keys_types_defaults_and_parents(lab_client, demo):
    html = lab_client.get(table_url(demo.Session)).content.decode()
    definition = re.search(r'<table class="definition">.*?</table>', html, re.S).group(0)
    info = demo.Session.table_info()
    rows = {
        re.search(r"(\w+)</span></th>", r).group(1): r
        for r in re.findall(r"<tr[^>]*>.*?</tr>", definition, re.S)
        if "</span></th>" in r
    }
    assert list(rows) == info.heading.names
    for attr in info.heading:
        row = rows[attr.name]
        assert ('class="pk"' in row) == attr.in_key
        assert attr.type in unescape(re.sub("<[^>]+>", "", row))
    assert table_url(demo.Subject) in definition and table_url(demo.Experimenter) in definition
    assert info.heading["notes"].default_text() in unescape(rows["notes"])
    assert table_url(demo.Session.Trial) in html  # part table linked from the master


def _page_keys(html: str, pk: list[str]) -> list[tuple]:
    body = re.search(r'<table class="rows">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    keys = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            unescape(re.sub("<[^>]+>", "", c))
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        keys.append(tuple(cells[: len(pk)]))
    return keys


def test_rows_are_paged_by_primary_key_with_working_next_links(lab_client, populated):
    part = populated.Detection.Blob
    pk = part.heading.primary_key
    expected = [tuple(str(row[k]) for k in pk) for row in part().keys(order_by="KEY")]
    assert len(expected) > 100, "the demo should detect more than 100 blobs"
    url, seen, pages = table_url(part), [], 0
    while url:
        response = lab_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        keys = _page_keys(html, pk)
        assert 0 < len(keys) <= 100
        seen += keys
        pages += 1
        match = re.search(
            r'<a href="([^"]+)" hx-get="([^"]+)" hx-target="#rows"[^>]*rel="next"', html
        )
        if match:
            assert unescape(match.group(1)) == unescape(match.group(2))  # hx-get has a real href
            url = unescape(match.group(1))
        else:
            url = None
    assert seen == expected
    assert pages == -(-len(expected) // 100)


def test_htmx_page_request_returns_the_rows_partial(lab_client, populated):
    part = populated.Detection.Blob
    html = lab_client.get(table_url(part)).content.decode()
    next_url = unescape(re.search(r'<a href="([^"]+)"[^>]*rel="next"', html).group(1))
    token = re.search(r"after=([^&]+)", next_url).group(1)
    response = lab_client.get(next_url, headers={"HX-Request": "true", "HX-Target": "rows"})
    partial = response.content.decode()
    assert response.status_code == 200 and "<html" not in partial
    assert partial.lstrip().startswith('<section id="rows"')
    pk = part.heading.primary_key
    after = tuple(str(v) for v in decode_key(token).values())
    expected = [tuple(str(row[k]) for k in pk) for row in part().keys(order_by="KEY")]
    assert _page_keys(partial, pk) == expected[expected.index(after) + 1 :][:100]


def test_bad_page_key_is_a_clear_400(lab_client, demo):
    response = lab_client.get(table_url(demo.Subject) + "?after=not-a-key")
    assert response.status_code == 400
    assert b"not a valid key" in response.content


def test_unknown_table_is_404_naming_it(lab_client, demo):
    response = lab_client.get(reverse("web:table", args=[demo.Subject.database, "nope"]))
    assert response.status_code == 404
    assert b"nope" in response.content


def test_schema_outside_prefix_is_404(lab_client, demo):
    assert lab_client.get(reverse("web:schema", args=["mysql"])).status_code == 404


def test_blobs_show_dtype_shape_and_lazy_png_thumbnails(lab_client, demo):
    html = lab_client.get(table_url(demo.Image)).content.decode()
    images = re.findall(
        r'<img loading="lazy" src="([^"]+)" width="(\d+)" height="(\d+)" alt="([^"]+)"', html
    )
    rows = demo.Image().to_dicts(order_by="KEY")
    assert len(images) == len(rows)
    for (src, width, height, alt), row in zip(images, rows, strict=True):
        pixels = row["pixels"]
        assert alt == f"{pixels.dtype.name} {pixels.shape[0]}×{pixels.shape[1]}"
        assert max(int(width), int(height)) <= 96  # displayed small, served at 2x
        token = re.search(r"key=([^&]+)", unescape(src)).group(1)
        assert decode_key(token)["image_name"] == row["image_name"]
        response = lab_client.get(unescape(src))
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert "max-age" in response["Cache-Control"] and response["ETag"]
        image = PILImage.open(io.BytesIO(response.content))
        assert image.format == "PNG" and image.mode == "L"
        assert max(image.size) <= 192
        assert abs(image.size[0] / image.size[1] - pixels.shape[1] / pixels.shape[0]) < 0.05
        again = lab_client.get(unescape(src), headers={"If-None-Match": response["ETag"]})
        assert again.status_code == 304


def test_thumbnail_of_a_non_image_value_is_refused(lab_client, demo):
    row = demo.Subject().to_dicts(limit=1)[0]
    from pipeline_core.web.keys import encode_key

    url = reverse(
        "web:thumbnail", args=[demo.Subject.database, demo.Subject.table_name, "subject_name"]
    )
    response = lab_client.get(url + "?key=" + encode_key({"subject_id": row["subject_id"]}))
    assert response.status_code == 415


def test_api_lists_schemas_and_tables(lab_client, demo):
    data = lab_client.get("/api/v1/schemas/").json()
    by_name = {s["name"]: s for s in data}
    assert {demo.Subject.database, demo.Image.database} <= set(by_name)
    tables = {t["table_name"] for t in by_name[demo.Subject.database]["tables"]}
    assert tables == {
        t.table_name for t in catalog_of(demo.Subject.connection).tables(demo.Subject.database)
    }
