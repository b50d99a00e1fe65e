"""Table pages (issue 14 part 2) through the real views and MariaDB: keyset paging forwards,
backwards and from the end, sorted by any column (duplicates and NULLs in it, float32
exactly) and filtered by column conditions, compared with the data model's ``to_dicts`` of
the same restriction and order; page labels only where the number is known; 400s for bad
parameters; approximate and exact row counts (the time limit too); line charts and
expandable structures in cells; exports equal to the page's rows."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from django.core.cache import cache
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core.querystate import decode_description, encode_description
from pipeline_core.web.keys import encode_key

pytestmark = pytest.mark.integration

ROWS = 250
HTMX = {"HX-Request": "true", "HX-Target": "rows"}


@pytest.fixture(scope="module")
def readings(demo, pipeline_prefix):
    """``{prefix}tablepages.Reading``: 250 rows whose ``grade`` repeats (7 values) and is
    NULL in every 11th row, ``score`` (float32, thirds: not exact in 6 digits) repeats and
    has NULLs, with a 1-D ``<blob>`` trace (every 5th row: a long one), a json dict and an
    enum."""
    schema = dm.Schema(pipeline_prefix + "tablepages", connection=demo.Subject.connection)

    @schema
    class Reading(dm.Manual):
        definition = """
        # readings with repeated and missing values
        reading_id: int32
        ---
        grade=null: int16
        score=null: float32
        label: varchar(16)
        kind: enum('b', 'a', 'c')
        taken=null: datetime
        cost=null: decimal(6, 2)
        trace=null: <blob>
        meta=null: json
        """

    rows = [
        {
            "reading_id": i,
            "grade": None if i % 11 == 0 else i % 7,
            "score": None if i % 13 == 0 else (i % 9) / 3,
            "label": f"r{i % 23:02d}",
            "kind": "bac"[i % 3],
            "taken": None if i % 4 == 0 else f"2026-01-{1 + i % 28:02d} 10:{i % 60:02d}:00",
            "cost": None if i % 6 == 0 else f"{i % 17}.25",
            "trace": np.sin(np.arange(40 if i % 5 else 20_000) / (3 + i % 4)),
            "meta": {"i": i, "tags": ["<x>", "y"], "nested": {"ok": i % 2 == 0}},
        }
        for i in range(ROWS)
    ]
    Reading.insert(rows, skip_duplicates=True)  # also declared by the browser tests
    return Reading


def table_url(cls, **params) -> str:
    base = reverse("web:table", args=[cls.database, cls.table_name])
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return base + (f"?{query}" if query else "")


def where(*conditions) -> str:
    return encode_description({"and": list(conditions)})


def page_ids(html: str) -> list[int]:
    """The ``reading_id`` (first column) of each row shown."""
    body = re.search(r'<table class="rows">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    ids = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        if 'class="hint"' in row:  # "No rows ..."
            continue
        first = re.search(r"<td[^>]*>(.*?)</td>", row, re.S).group(1)
        ids.append(int(unescape(re.sub(r"<[^>]+>", "", first))))
    return ids


def link(html: str, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" hx-get="([^"]+)"[^>]*rel="{rel}"', html)
    if match is None:
        return None
    assert match.group(1) == match.group(2)
    return unescape(match.group(1))


def label(html: str) -> str:
    return unescape(re.search(r'<span class="page-label">(.*?)</span>', html).group(1))


def expected(cls, condition, order: list[str]) -> list[int]:
    """The ids in the data model's order of the same restriction (the oracle)."""
    expr = cls()
    if condition is not None:
        from pipeline_core.datamodel import query_json

        expr = query_json.restrict(
            expr, condition, {"schema": cls.database, "table": cls.table_name}, cls.connection
        )
    return [r["reading_id"] for r in expr.to_dicts(order_by=[*order, "reading_id"])]


def walk_forwards(client, url) -> tuple[list[int], list[str], str]:
    """Every page from ``url`` by Next links: (ids, labels, the last page's HTML)."""
    ids, labels = [], []
    while True:
        html = client.get(url).content.decode()
        ids += page_ids(html)
        labels.append(label(html))
        url = link(html, "next")
        if url is None:
            return ids, labels, html
        assert len(labels) < 10


def walk_backwards(client, url, truth: list[int]) -> list[str]:
    """Every page from ``url`` by Previous links: each is a slice of ``truth`` ending where
    the page after it starts (the first page is whole, so it may overlap the second), and
    together they hold every row. Returns the labels, last page first."""
    labels, end = [], len(truth)
    while url:
        html = client.get(url).content.decode()
        ids, start = page_ids(html), max(0, end - 100)
        if start == 0:  # the first page: whole (up to 100 rows), overlapping the next
            assert ids == truth[:100], ids
        else:
            assert ids == truth[start:end]
        end = start
        labels.append(label(html))
        url = link(html, "prev")
        assert len(labels) < 10
    assert end == 0
    return labels


# ordering: (URL order, data-model order_by); conditions: where conditions (None: none)
ORDERS = {
    "key": ("", []),
    "grade": ("grade", ["grade"]),
    "grade desc": ("-grade", ["grade DESC"]),
    "float32 score": ("score", ["score"]),
    "score desc, label": ("-score,label", ["score DESC", "label"]),
    "kind (enum order)": ("kind", ["kind"]),
    "taken desc": ("-taken", ["taken DESC"]),
    "cost": ("cost", ["cost"]),
}
CONDITIONS = {
    "none": None,
    "kind != c": {"and": [{"attribute": "kind", "operator": "!=", "value": "c"}]},
    "grade >= 2 and label like": {
        "and": [
            {"attribute": "grade", "operator": ">=", "value": 2},
            {"attribute": "label", "operator": "like", "value": "r1%"},
        ]
    },
}


#: every ordering of the whole table; some with each restriction
CASES = [("none", order) for order in ORDERS] + [
    (condition, order)
    for condition in list(CONDITIONS)[1:]
    for order in ("grade desc", "float32 score", "taken desc")
]


@pytest.mark.parametrize(("condition", "order"), CASES)
def test_next_previous_and_last_pages_hold_every_row_once_in_order(
    lab_client, readings, order, condition
):
    order_param, order_by = ORDERS[order]
    cond = CONDITIONS[condition]
    truth = expected(readings, cond, order_by)
    params = {}
    if order_param:
        params["order"] = order_param
    if cond is not None:
        params["where"] = encode_description(cond)
    first = table_url(readings, **params)
    ids, labels, _ = walk_forwards(lab_client, first)
    assert ids == truth
    # walked from the first page: every page is numbered
    assert labels == [
        f"Rows {start + 1:,}–{min(start + 100, len(truth)):,}"
        for start in range(0, len(truth), 100)
    ]
    # backwards from the last page (reversed keyset order): the same rows; no numbers
    # until the first page is reached
    last_url = table_url(readings, **params, last="1")
    back_labels = walk_backwards(lab_client, last_url, truth)
    pages = -(-len(truth) // 100)
    if pages > 1:
        assert back_labels[0] == "The last 100 rows"
        assert back_labels[-1] == f"Rows 1–{min(100, len(truth))}"
        assert all(re.fullmatch(r"\d+ rows", text) for text in back_labels[1:-1])
    # previous links from numbered pages keep their numbers
    if pages >= 3:
        html = lab_client.get(first).content.decode()
        third = link(lab_client.get(link(html, "next")).content.decode(), "next")
        html = lab_client.get(third).content.decode()
        assert label(html) == "Rows 201–" + f"{min(300, len(truth))}"
        html = lab_client.get(link(html, "prev")).content.decode()
        assert label(html) == "Rows 101–200" and page_ids(html) == truth[100:200]
        assert link(html, "first") == first


def test_a_short_page_before_a_cursor_is_the_first_page_whole(lab_client, readings):
    truth = expected(readings, None, ["grade"])
    cursor = {"grade": 0, "reading_id": truth[30]}  # 30 rows before it
    html = lab_client.get(table_url(readings, order="grade", before=encode_key(cursor)))
    html = html.content.decode()
    assert page_ids(html) == truth[:100] and label(html) == "Rows 1–100"
    assert link(html, "prev") is None and link(html, "first") is None


def test_a_cursor_past_the_end_shows_no_rows_and_the_way_back(lab_client, readings):
    html = lab_client.get(table_url(readings, after=encode_key({"reading_id": 10**6})))
    html = html.content.decode()
    assert page_ids(html) == [] and "No rows on this page." in html
    assert link(html, "first") == table_url(readings) and link(html, "last")
    assert link(html, "next") is None and link(html, "prev") is None


def test_page_numbers_are_shown_only_when_known(lab_client, readings):
    truth = expected(readings, None, [])
    html = lab_client.get(table_url(readings, page="2000")).content.decode()
    assert label(html) == "Rows 1–100" and page_ids(html) == truth[:100]
    after = encode_key({"reading_id": truth[99]})
    for page in ("2", "2.0123456789ab", "2.", "x.y"):  # written by hand: not trusted
        html = lab_client.get(table_url(readings, after=after, page=page)).content.decode()
        assert label(html) == "100 rows" and page_ids(html) == truth[100:200]
    # the number LabBook wrote for this cursor is shown; for another cursor it is not
    written = link(lab_client.get(table_url(readings)).content.decode(), "next")
    number = parse_qs(urlsplit(written).query)["page"][0]
    assert label(lab_client.get(written).content.decode()) == "Rows 101–200"
    other = encode_key({"reading_id": truth[109]})
    html = lab_client.get(table_url(readings, after=other, page=number)).content.decode()
    assert label(html) == "100 rows"


def test_sort_headers_toggle_and_say_which_column_sorts(lab_client, readings):
    html = lab_client.get(table_url(readings, order="-grade")).content.decode()
    head = re.search(r'<table class="rows">\s*<thead>(.*?)</thead>', html, re.S).group(1)
    assert re.search(r'data-name="grade"[^>]*aria-sort="descending"', head)
    assert head.count("aria-sort=") == 1
    grade = re.search(r'data-name="grade".*?<a class="sort" href="([^"]+)"', head, re.S)
    assert parse_qs(urlsplit(unescape(grade.group(1))).query)["order"] == ["grade"]
    label_link = re.search(r'data-name="label".*?<a class="sort" href="([^"]+)"', head, re.S)
    assert parse_qs(urlsplit(unescape(label_link.group(1))).query)["order"] == ["label"]
    # blobs and json cannot be sorted or filtered: no link, no filter control
    for name in ("trace", "meta"):
        cell = re.search(rf'data-name="{name}".*?</th>', head, re.S).group(0)
        assert "<a " not in cell and "<form" not in cell
    default = lab_client.get(table_url(readings)).content.decode()
    assert re.search(r'data-name="reading_id"[^>]*aria-sort="ascending"', default)


def test_filter_forms_write_where_and_keep_the_order(lab_client, readings):
    base = table_url(readings)
    response = lab_client.get(
        base, {"order": "-score", "filter": "grade", "op": ">=", "value": "3"}
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["order"] == ["-score"]
    condition = decode_description(query["where"][0])
    assert condition == {"and": [{"attribute": "grade", "operator": ">=", "value": 3}]}
    # a second column adds a condition; the same column replaces its own
    token = query["where"][0]
    response = lab_client.get(base, {"where": token, "filter": "kind", "op": "=", "value": "a"})
    token = parse_qs(urlsplit(response["Location"]).query)["where"][0]
    response = lab_client.get(base, {"where": token, "filter": "grade", "op": "<", "value": "2"})
    final = parse_qs(urlsplit(response["Location"]).query)["where"][0]
    assert decode_description(final) == {
        "and": [
            {"attribute": "kind", "operator": "=", "value": "a"},
            {"attribute": "grade", "operator": "<", "value": 2},
        ]
    }
    # htmx: the rows partial of the new restriction, its URL pushed
    response = lab_client.get(
        base, {"where": final, "filter": "kind", "op": "", "value": ""}, headers=HTMX
    )
    pushed = response["HX-Push-Url"]
    assert decode_description(parse_qs(urlsplit(pushed).query)["where"][0]) == {
        "and": [{"attribute": "grade", "operator": "<", "value": 2}]
    }
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="rows"')
    cond = {"and": [{"attribute": "grade", "operator": "<", "value": 2}]}
    assert page_ids(html) == expected(readings, cond, [])[:100]
    # chips: one per condition, each removing only itself
    html = lab_client.get(base + "?where=" + final).content.decode()
    chips = re.findall(
        r'<li class="chip"><span>(.*?)</span><a class="chip-remove" href="([^"]+)"', html
    )
    assert [unescape(text) for text, _ in chips] == ['kind = "a"', "grade < 2"]
    removed = parse_qs(urlsplit(unescape(chips[0][1])).query)["where"][0]
    assert decode_description(removed) == cond
    # the filter control of a filtered column is prefilled
    assert re.search(r'<option value="&lt;" selected>', html)


def test_bad_parameters_are_400_pages_naming_the_attribute(lab_client, readings):
    cases = {
        "where=not-a-token": "not a valid query token",
        "where=" + encode_description([1, 2]): "must be a condition",
        "where=" + where({"attribute": "nope", "operator": "=", "value": 1}): "nope",
        "where=" + where({"attribute": "grade", "operator": "=", "value": "x"}): "grade",
        "where=" + where({"attribute": "trace", "operator": "=", "value": 1}): "trace",
        "order=nope": "nope",
        "order=trace": "cannot sort by `trace`",
        "order=grade,-grade": "twice",
        "after=not-a-key": "not a valid key token",
        "order=grade&after=" + encode_key({"reading_id": 3}): "lacks `grade`",
        "after=" + encode_key({"reading_id": "abc"}): "reading_id",
        "last=1&after=" + encode_key({"reading_id": 3}): "give one of them",
        "filter=grade&op=%3E&value=abc": "grade",
        "filter=grade&op=like&value=1": "cannot filter `grade`",
        "filter=trace&op=%3D&value=1": "trace",
        "filter=nope&op=%3D&value=1": "nope",
    }
    base = table_url(readings)
    for query, needle in cases.items():
        response = lab_client.get(f"{base}?{query}")
        assert response.status_code == 400, (query, response.status_code)
        assert needle in unescape(response.content.decode()), (query, needle)
    export = reverse("web:export", args=[readings.database, readings.table_name, "csv"])
    assert lab_client.get(export + "?order=trace").status_code == 400
    count = reverse("web:count", args=[readings.database, readings.table_name])
    assert lab_client.get(count + "?where=%7Bbad").status_code == 400


def test_cursors_hold_float32_exactly_and_nulls(lab_client, readings):
    """The Next link after a row whose float32 score is a third carries the stored number
    (the double it widens to), not the 6 digits the server shows; a cursor may hold NULL."""
    from pipeline_core.web.keys import decode_key

    truth = expected(readings, None, ["score"])
    html = lab_client.get(table_url(readings, order="score")).content.decode()
    cursor = decode_key(parse_qs(urlsplit(link(html, "next")).query)["after"][0], allow_null=True)
    last = readings() & {"reading_id": truth[99]}
    stored = float(np.float32(last.to_dicts()[0]["score"]))
    assert cursor == {"score": stored, "reading_id": truth[99]}
    assert str(stored) != f"{stored:.6g}"  # not exact in 6 digits: the case that matters
    # NULL grades sort first ascending, last descending: pages start after / end before them
    ascending, descending = (expected(readings, None, o) for o in (["grade"], ["grade DESC"]))
    null_row = {"grade": None, "reading_id": ascending[4]}
    html = lab_client.get(table_url(readings, order="grade", after=encode_key(null_row)))
    assert page_ids(html.content.decode()) == ascending[5:105]
    position = descending.index(ascending[4])
    html = lab_client.get(table_url(readings, order="-grade", before=encode_key(null_row)))
    assert page_ids(html.content.decode()) == descending[position - 100 : position]


def test_row_counts_approximate_and_exact(lab_client, readings, demo):
    conn = readings.connection
    conn.query(f"ANALYZE TABLE {readings.full_table_name}").fetchall()
    cache.clear()  # the estimate an earlier page read (kept 30 s) is read again
    html = lab_client.get(table_url(readings)).content.decode()
    count = unescape(re.search(r'<span class="row-count">(.*?)</span>', html).group(1))
    assert re.fullmatch(r"~[\d,]+ rows", count), count  # the server's statistics, marked ~
    count_url = unescape(re.search(r'<a class="count-link" href="([^"]+)"', html).group(1))
    response = lab_client.get(count_url, headers={"HX-Request": "true"})
    assert f"{ROWS} rows (exact)" in response.content.decode()
    # restricted: no estimate, the exact count on demand, with the same where
    cond = CONDITIONS["kind != c"]
    html = lab_client.get(table_url(readings, where=encode_description(cond))).content.decode()
    assert '<span class="row-count">' not in html
    count_url = unescape(re.search(r'<a class="count-link" href="([^"]+)"', html).group(1))
    text = lab_client.get(count_url).content.decode()  # a page of its own without htmx
    assert f"{len(expected(readings, cond, []))} rows (exact)" in text and "<html" in text
    # everything on one page: the exact count, no query, no control
    few = {"and": [{"attribute": "label", "operator": "=", "value": "r05"}]}
    html = lab_client.get(table_url(readings, where=encode_description(few))).content.decode()
    n = len(expected(readings, few, []))
    assert f'<span class="row-count">{n} rows</span>' in html and "count-link" not in html
    # the last page walked from the first: exact too
    _, _, last_html = walk_forwards(lab_client, table_url(readings))
    assert f'<span class="row-count">{ROWS} rows</span>' in last_html


def test_exact_count_out_of_time_says_so(lab_client, readings, settings, dj_connect):
    """A count that runs longer than LABBOOK_QUERY_TIMEOUT (here: it waits for a table
    lock held by another connection) answers that it was not finished, not a 500."""
    settings.LABBOOK_QUERY_TIMEOUT = 0.3
    count_url = reverse("web:count", args=[readings.database, readings.table_name])
    lab_client.get(count_url)  # introspection done before the lock
    locker = dj_connect()
    try:
        with locker.cursor() as cursor:
            cursor.execute(f"LOCK TABLES {readings.full_table_name} WRITE")
            response = lab_client.get(count_url, headers={"HX-Request": "true"})
            cursor.execute("UNLOCK TABLES")
    finally:
        locker.close()
    assert response.status_code == 200
    assert "within the time limit (0.3 s)" in response.content.decode()


def test_cells_draw_traces_and_expand_structures(lab_client, readings):
    html = lab_client.get(table_url(readings)).content.decode()
    body = re.search(r'<table class="rows">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    first = rows[1]  # reading 1: a 40-sample trace, decoded with the page
    assert '<td class="trace"><svg xmlns="http://www.w3.org/2000/svg" class="sparkline"' in first
    assert "<polyline" in first and "float64 40" in first
    # a long trace (160 kB) stays a summary with a control drawing it on demand
    long_row = rows[5]
    plot = re.search(r'<a class="load" href="([^"]+)"[^>]*>plot</a>', long_row)
    assert plot and "float64 20000" in long_row
    cell = lab_client.get(unescape(plot.group(1)), headers={"HX-Request": "true"})
    assert '<td class="trace"><svg' in cell.content.decode()
    # json dicts: expandable, escaped
    meta = re.search(
        r'<td class="tree"><details><summary[^>]*>(.*?)</summary><pre>(.*?)</pre>', first, re.S
    )
    assert meta.group(1) == "dict (3 keys)"
    shown = json.loads(unescape(meta.group(2)))
    assert shown == {"i": 1, "tags": ["<x>", "y"], "nested": {"ok": False}}
    assert "<x>" not in meta.group(2)


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_npy_traces_are_drawn_by_the_thumbnail_route(lab_client, stored_lab):
    recording = stored_lab.Recording
    recording.insert1({"rec_id": 1, "arr": np.cumsum(np.ones(500))})
    html = lab_client.get(
        reverse("web:table", args=[recording.database, recording.table_name])
    ).content.decode()
    img = re.search(r'<td class="trace"><img class="sparkline" loading="lazy" src="([^"]+)"', html)
    assert img, html
    response = lab_client.get(unescape(img.group(1)))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and b"<polyline" in response.content


def test_export_links_give_exactly_the_filtered_sorted_rows(lab_client, readings):
    cond = CONDITIONS["grade >= 2 and label like"]
    url = table_url(readings, where=encode_description(cond), order="-score")
    ids, _, _ = walk_forwards(lab_client, url)
    html = lab_client.get(url).content.decode()
    export = unescape(re.search(r'<a href="([^"]*/export\.csv[^"]*)" download>', html).group(1))
    query = parse_qs(urlsplit(export).query)
    assert query["order"] == ["-score"] and decode_description(query["where"][0]) == cond
    response = lab_client.get(export)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    exported = [int(row["reading_id"]) for row in csv.DictReader(io.StringIO(text))]
    assert exported == ids and ids == expected(readings, cond, ["score DESC"])
    # the export menu of an htmx page is swapped with the rows (out of band) when the
    # restriction or order changes, not when paging keeps them
    partial = lab_client.get(url, headers=HTMX).content.decode()
    assert 'id="export-menu" hx-swap-oob="true"' in partial and "where=" in partial
    paged = {**HTMX, "HX-Current-URL": "http://testserver" + url}
    nxt = link(lab_client.get(url).content.decode(), "next")
    assert 'id="export-menu"' not in lab_client.get(nxt, headers=paged).content.decode()


def test_count_and_export_links_are_the_reversed_urls(lab_client, readings):
    """The count and export links of a page are ``web:count`` and ``web:export`` with the
    page's ``order``."""
    args = [readings.database, readings.table_name]
    html = unescape(lab_client.get(table_url(readings, order="-score")).content.decode())
    assert f'href="{reverse("web:count", args=args)}?order=-score"' in html
    for fmt in ("csv", "tsv", "jsonl"):
        export = reverse("web:export", args=[*args, fmt])
        assert f'href="{export}?order=-score" download' in html


def _query_panel_description(html: str) -> dict:
    href = re.search(
        r'<details class="query-panel" id="query-panel"[^>]*>.*?href="([^"]+)"', html, re.S
    )
    token = parse_qs(urlsplit(unescape(href.group(1))).query)["q"][0]
    return decode_description(token)


def test_the_query_panel_starts_from_the_filtered_sorted_rows(lab_client, readings):
    """The "Query" panel opens the builder on the rows the page shows; after an htmx swap of
    the rows it is replaced out of band with them."""
    cond = {"attribute": "kind", "operator": "=", "value": "a"}
    html = lab_client.get(table_url(readings, where=where(cond), order="-score")).content.decode()
    description = _query_panel_description(html)
    assert description == {
        "from": {"schema": readings.database, "table": readings.table_name},
        "where": {"and": [cond]},
        "order": [{"attribute": "score", "descending": True}],
    }
    partial = lab_client.get(
        table_url(readings, order="label"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="rows"
    ).content.decode()
    assert 'id="query-panel" hx-swap-oob="true"' in partial
    assert _query_panel_description(partial)["order"] == [{"attribute": "label"}]
    assert "where" not in _query_panel_description(partial)
