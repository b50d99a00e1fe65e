"""Odd legacy identifiers (issue #15 part 6): tables and columns whose names DataJoint would
not declare but a legacy or hand-made database holds (``bad name``, ``a.b``, ``a`b``,
``x%y``, ``<b>x``, ``ünï``, reserved words, ``a/b``, ...) are listed, browsed, exported and
queried without error: quoted correctly in SQL, escaped in URLs and in HTML. Writes to
them are refused with a clear 409 (DataJoint would not declare them), never a 500.

The database is made with plain SQL, as a legacy one would be.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html import escape, unescape
from urllib.parse import quote

import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.catalog import catalog_of
from pipeline_core.datamodel.sql.quoting import full_name
from pipeline_core.datamodel.sql.quoting import quote as q
from pipeline_core.web.keys import encode_key

pytestmark = pytest.mark.integration

#: Table names DataJoint would not declare (or would, with another meaning), all of which
#: MariaDB holds. (tier the page shows: None for "no tier")
TABLES = {
    "bad name": None,
    "Mixed Case": None,
    "ünï": None,
    "a.b": None,
    "a`b": None,
    "has-dash": None,
    "select": "Manual",
    "order": "Manual",
    "key": "Manual",
    "x%y": None,
    "#lk weird": None,
    "__c weird": None,
    "<b>x": None,
    "trail$": None,
    "1abc": None,
    "a/b": None,
    "q'\"s": None,
    "pct%2Fx": None,
}
#: Column names of every table (``id`` is the primary key), and the value of the first row.
COLUMNS = {
    "id": "int NOT NULL PRIMARY KEY",
    "bad col": "varchar(20)",
    "Weird-Col": "int",
    "select": "int",
    "a`b": "int",
    "<i>c": "varchar(20)",
    "x%y": "int",
    "order": "int",
    "key": "int",
    "ünï": "int",
    "1abc": "int",
    "trail$": "int",
    "a,b DESC": "int",
}
#: Rows of every table: (id, bad col, Weird-Col, ...), 3 rows ordered differently by
#: each column.
ROWS = [
    (1, "b <two>", 30, 2, 7, "<i>x</i>", 1, 3, 2, 5, 9, 1, 3),
    (2, "a & one", 10, 3, 9, "y", 2, 2, 3, 4, 8, 2, 1),
    (3, "c 'three'", 20, 1, 8, "z", 3, 1, 1, 6, 7, 3, 2),
]


@pytest.fixture(scope="module")
def odd(demo, pipeline_prefix):
    """``{prefix}odd names/x%`é`` (a database name as odd as the tables'): every table of
    :data:`TABLES` with the columns of :data:`COLUMNS` and the rows of :data:`ROWS`;
    ``child odd`` references ``bad name``."""
    conn = demo.Subject.connection
    database = pipeline_prefix + "odd names/x%`é"
    conn.query(f"CREATE DATABASE IF NOT EXISTS {q(database)}")
    columns = ", ".join(f"{q(c)} {t}" for c, t in COLUMNS.items())
    marks = ", ".join(["%s"] * len(COLUMNS))
    for table in TABLES:
        conn.query(f"CREATE TABLE IF NOT EXISTS {full_name(database, table)} ({columns})")
        for row in ROWS:
            conn.query(f"INSERT IGNORE INTO {full_name(database, table)} VALUES ({marks})", row)
    conn.query(
        f"CREATE TABLE IF NOT EXISTS {full_name(database, 'child odd')} "
        f"(id int NOT NULL, {q('n o')} int NOT NULL, PRIMARY KEY (id, {q('n o')}), "
        f"FOREIGN KEY (id) REFERENCES {full_name(database, 'bad name')} (id))"
    )
    conn.query(f"INSERT IGNORE INTO {full_name(database, 'child odd')} VALUES (1, 1), (1, 2)")
    conn.query(  # a Manual table (``order``) referencing a table of no tier
        f"CREATE TABLE IF NOT EXISTS {full_name(database, 'pick')} (pick_id int NOT NULL "
        f"PRIMARY KEY, {q('x%y')} int NOT NULL, FOREIGN KEY ({q('x%y')}) "
        f"REFERENCES {full_name(database, 'x%y')} (id))"
    )
    catalog_of(conn).invalidate(database)
    return database


def url(name: str, database: str, table: str, *more: str) -> str:
    return reverse(f"web:{name}", args=[database, table, *more])


def api(name: str, database: str, table: str) -> str:
    return reverse(f"api:{name}", args=[database, table])


def post_json(client, path: str, body) -> object:
    return client.post(path, json.dumps(body), content_type="application/json")


# --- names in SQL ------------------------------------------------------------------------------
def test_the_catalog_lists_every_table_with_its_real_name_and_tier(odd, demo):
    infos = {t.table_name: t for t in catalog_of(demo.Subject.connection).tables(odd)}
    assert set(infos) == {*TABLES, "child odd", "pick"}
    for table, tier in TABLES.items():
        assert infos[table].tier == tier, table
        assert infos[table].heading.names == list(COLUMNS)
        assert infos[table].heading.primary_key == ["id"]
    fk = infos["child odd"].foreign_keys[0]
    assert fk.parent == dm.TableRef(odd, "bad name") and fk.columns == ("id",)


def test_names_a_legacy_database_holds_are_quoted_and_declaration_refuses_them(odd, demo):
    assert q("a`b") == "`a``b`" and full_name("d b", "x.y") == "`d b`.`x.y`"
    for refused in ("", "x" * 65, "a\x00b", "trail "):
        with pytest.raises(dm.DataJointError, match="Invalid SQL identifier"):
            q(refused)
    # a name the server accepts but DataJoint would not declare: refused at declaration
    schema = dm.Schema(demo.Subject.database, connection=demo.Subject.connection)

    class Bad(dm.Manual):
        _table_name_ = "bad table"
        definition = "id: int32"

    with pytest.raises(dm.DataJointError, match="Invalid SQL identifier 'bad table'"):
        schema(Bad)
    with pytest.raises(dm.DataJointError, match="Invalid SQL identifier"):
        dm.Schema(odd, connection=demo.Subject.connection)  # exists, but not declared so


# --- pages ------------------------------------------------------------------------------------
def test_the_schema_page_lists_links_and_draws_every_table(staff_client, odd):
    response = staff_client.get(reverse("web:schema", args=[odd]))
    assert response.status_code == 200
    html = response.content.decode()
    for table in TABLES:
        link = url("table", odd, table)
        assert f'href="{escape(link)}"' in html, table
        assert escape(table) in html
    assert "<b>x" not in html and "&lt;b&gt;x" in html  # a name, not markup
    # the diagram is well-formed SVG (labels escaped) linking every table, ids unique
    svg = re.search(r"<svg class=\"dag\".*?</svg>", html, re.S).group(0)
    from xml.etree import ElementTree

    tree = ElementTree.fromstring(svg)
    links = {
        a.get("{http://www.w3.org/1999/xlink}href") or a.get("href")
        for a in tree.iter("{http://www.w3.org/2000/svg}a")
    }
    assert {url("table", odd, t) for t in TABLES} <= links
    ids = [e.get("id") for e in tree.iter() if (e.get("id") or "").startswith("dag-")]
    assert len(ids) == len(set(ids))
    titles = "".join(t.text or "" for t in tree.iter("{http://www.w3.org/2000/svg}text"))
    assert "<b>x" in titles and "q'\"s" in titles and "a`b" in titles
    download = staff_client.get(reverse("web:schema_diagram", args=[odd]))
    assert download.status_code == 200
    ElementTree.fromstring(download.content)  # the self-contained file is well-formed too
    home = staff_client.get("/").content.decode()
    assert f'href="{escape(reverse("web:schema", args=[odd]))}"' in home
    assert staff_client.get(reverse("web:schema_progress", args=[odd])).status_code == 200


def test_the_api_lists_every_table_with_its_real_name_and_tier(staff_client, odd):
    schemas = {s["name"]: s for s in staff_client.get("/api/v1/schemas/").json()}
    tables = {t["table_name"]: t for t in schemas[odd]["tables"]}
    assert set(tables) == {*TABLES, "child odd", "pick"}
    for table, tier in TABLES.items():
        assert tables[table]["tier"] == tier
        assert tables[table]["primary_key"] == ["id"]
    assert tables["bad name"]["class_name"] == "bad name"  # no DataJoint class: raw name
    assert tables["select"]["class_name"] == "Select"


@pytest.mark.parametrize("table", list(TABLES))
def test_every_table_page_shows_its_rows_escaped(staff_client, odd, table):
    response = staff_client.get(url("table", odd, table))
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    assert escape(table) in html
    assert (TABLES[table] or "no tier") in html
    head = html.split('<table class="rows">', 1)[1].split("</thead>", 1)[0]
    for column in COLUMNS:  # the header's text (a sort link for sortable columns)
        assert f">{escape(column, quote=False)}<" in head, column
    assert "b &lt;two&gt;" in html and "a &amp; one" in html and "c &#x27;three&#x27;" in html
    assert "<i>" not in html  # a column name and a value, both shown as text
    for name in ("history", "export"):
        args = ["csv"] if name == "export" else []
        assert staff_client.get(url(name, odd, table, *args)).status_code == 200, name
    row = staff_client.get(url("row", odd, table, encode_key({"id": 2})))
    assert row.status_code == 200, row.content[:300]
    assert "a &amp; one" in row.content.decode() and "<i>" not in row.content.decode()


def test_foreign_keys_between_odd_tables_are_linked(staff_client, odd):
    html = staff_client.get(url("table", odd, "child odd")).content.decode()
    assert f'href="{escape(url("table", odd, "bad name"))}"' in html  # depends on
    html = staff_client.get(url("table", odd, "bad name")).content.decode()
    assert f'href="{escape(url("table", odd, "child odd"))}"' in html  # used by


@pytest.mark.parametrize(
    "table, segment",
    [
        ("bad name", "bad%20name"),
        ("a.b", "a.b"),
        ("a`b", "a%60b"),
        ("x%y", "x%2525y"),
        ("ünï", "%C3%BCn%C3%AF"),
        ("#lk weird", "%23lk%20weird"),
        ("a/b", "a%252Fb"),
        ("pct%2Fx", "pct%25252Fx"),
        ("q'\"s", "q'%22s"),
    ],
)
def test_names_are_one_url_segment_each(staff_client, odd, table, segment):
    """``reverse`` percent-encodes; ``%`` and ``/`` are written ``%25`` and ``%2F`` first
    (pipeline_core/url_names.py), so that every name is one segment and reads back."""
    schema = odd.replace("odd names/x%`é", "odd%20names%252Fx%2525%60%C3%A9")
    path = url("table", odd, table)
    assert path == f"/schemas/{schema}/tables/{segment}/"
    assert staff_client.get(path).status_code == 200
    assert api("rows", odd, table) == f"/api/v1/schemas/{schema}/tables/{segment}/rows/"


# --- exports, rows and queries -----------------------------------------------------------------
def body(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("table", ["bad name", "a`b", "x%y", "<b>x", "a/b"])
@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_exports_of_odd_tables(staff_client, odd, table, fmt):
    response = staff_client.get(url("export", odd, table, fmt))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = body(response)
    if fmt == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
        assert [list(r) for r in rows] == [list(COLUMNS)] * 3
        assert [r["bad col"] for r in rows] == [r[1] for r in ROWS]
    else:
        delimiter = "," if fmt == "csv" else "\t"
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        assert records[0] == list(COLUMNS) and len(records) == 4


@pytest.mark.parametrize("table", list(TABLES))
def test_the_rows_api_pages_through_every_table(staff_client, odd, table):
    seen, after = [], None
    for _ in range(4):
        query = "?limit=2" + (f"&after={quote(after)}" if after else "")
        response = staff_client.get(api("rows", odd, table) + query)
        assert response.status_code == 200, response.content[:300]
        data = response.json()
        seen += data["rows"]
        after = data["next"]
        if after is None:
            break
    assert [r["id"] for r in seen] == [1, 2, 3]
    assert [r["a`b"] for r in seen] == [r[4] for r in ROWS]


def column_index(name: str) -> int:
    return list(COLUMNS).index(name)


@pytest.mark.parametrize("table", ["x%y", "a`b", "Mixed Case", "<b>x", "select", "a/b"])
@pytest.mark.parametrize(
    "order_by", ["Weird-Col", "a`b", "bad col", "order", "key", "a,b DESC", "x%y", "ünï"]
)
def test_the_query_api_restricts_and_orders_by_odd_columns(staff_client, odd, table, order_by):
    description = {
        "from": {"schema": odd, "table": table},
        "where": {
            "and": [
                {"attribute": "x%y", "operator": "in", "value": [1, 2, 3]},
                {"attribute": "bad col", "operator": "!=", "value": "nothing"},
                {"attribute": "a`b", "operator": ">=", "value": 7},
                {"attribute": "<i>c", "operator": "is not null"},
            ]
        },
        "order": [{"attribute": order_by, "descending": True}],
        "limit": 2,
    }
    expected = sorted(ROWS, key=lambda r: r[column_index(order_by)], reverse=True)
    rows, after = [], None
    while True:
        response = post_json(staff_client, "/api/v1/query/", {**description, "after": after})
        assert response.status_code == 200, response.content[:500]
        rows += response.json()["rows"]
        after = response.json()["cursor"]
        if after is None:
            break
    assert [r["id"] for r in rows] == [r[0] for r in expected]
    # the same description exported
    exported = staff_client.get(
        "/api/v1/query/export.jsonl?q=" + quote(json.dumps(description), safe="")
    )
    assert exported.status_code == 200, exported.content[:300]
    assert [json.loads(line)["id"] for line in body(exported).splitlines()] == [
        r[0] for r in expected
    ]


def test_the_query_api_resolves_raw_names_before_class_names(staff_client, odd):
    def first(table):
        response = post_json(
            staff_client, "/api/v1/query/", {"from": {"schema": odd, "table": table}}
        )
        assert response.status_code == 200, response.content[:300]
        return response.json()

    assert first("Select")["rows"] == first("select")["rows"]  # a class name
    assert len(first("Mixed Case")["rows"]) == 3
    missing = post_json(
        staff_client, "/api/v1/query/", {"from": {"schema": odd, "table": "Bad name"}}
    )
    assert missing.status_code == 400 and "Bad name" in missing.json()["error"]
    joined = post_json(
        staff_client,
        "/api/v1/query/",
        {
            "from": {"schema": odd, "table": "child odd"},
            "join": [{"schema": odd, "table": "bad name"}],
            "where": {"attribute": "n o", "operator": "=", "value": 2},
        },
    )
    assert joined.status_code == 200, joined.content[:300]
    assert [(r["id"], r["n o"], r["bad col"]) for r in joined.json()["rows"]] == [(1, 2, "b <two>")]


# --- writes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", ["bad name", "<b>x", "#lk weird", "__c weird"])
def test_writes_to_tables_of_no_tier_are_refused_naming_the_table(staff_client, odd, table):
    why = "not a DataJoint table (DataJoint would not declare a table named"
    for name in ("entry", "grid"):
        response = staff_client.get(url(name, odd, table))
        assert response.status_code == 409
        assert (
            escape(why) in response.content.decode() and escape(table) in response.content.decode()
        )
    response = post_json(staff_client, api("rows", odd, table), {"rows": [{"id": 9}]})
    assert response.status_code == 409, response.content[:300]
    assert why in response.content.decode()
    assert table in json.dumps(response.json(), ensure_ascii=False)


def test_entering_a_row_that_references_a_table_of_no_tier(staff_client, odd):
    """``pick`` (Manual) references ``x%y``: its foreign key is searched and checked through
    the odd names, and the row saved (and deleted) like any other."""
    fk = reverse("api:fk_choices", args=[odd, "pick", "x%y"])
    found = staff_client.get(fk + "?q=2")
    assert found.status_code == 200, found.content[:300]
    assert [r["values"] for r in found.json()["results"]] == [{"x%y": 2}]
    html = staff_client.get(url("entry", odd, "pick")).content.decode()
    assert escape(fk) in html
    field = re.search(r'<input type="hidden" name="([^"]+)" value="" data-fk-value>', html)
    entered = staff_client.post(
        url("entry", odd, "pick"), {"pick_id": "3", unescape(field.group(1)) + "__text": "1"}
    )
    assert entered.status_code == 302, entered.content[-2000:]
    saved = post_json(staff_client, api("rows", odd, "pick"), {"rows": [{"pick_id": 1, "x%y": 2}]})
    assert saved.status_code == 201, saved.content[:300]
    refused = post_json(
        staff_client, api("rows", odd, "pick"), {"rows": [{"pick_id": 2, "x%y": 7}]}
    )
    assert refused.status_code == 400 and "x%y" in refused.content.decode()
    preview = post_json(staff_client, api("rows_delete", odd, "x%y"), {"keys": [{"id": 2}]})
    assert preview.status_code == 200, preview.content[:300]
    assert preview.json()["counts"] == {
        f"`{odd.replace('`', '``')}`.`x%y`": 1,
        f"`{odd.replace('`', '``')}`.`pick`": 1,
    }
    deleted = post_json(
        staff_client,
        api("rows_delete", odd, "pick"),
        {"keys": [{"pick_id": 1}, {"pick_id": 3}], "dry_run": False},
    )
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 2, deleted.content[:300]


def page_ids(html: str) -> list[int]:
    """The ``id`` (first column) of each row of a table page."""
    body = re.search(r'<table class="rows">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        int(re.sub(r"<[^>]+>", "", c))
        for c in re.findall(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>", body, re.S)
    ]


@pytest.mark.parametrize("table", ["bad name", "x%y", "a/b"])
@pytest.mark.parametrize("column", ["bad col", "a`b", "a,b DESC", "x%y", "<i>c", "ünï", "key"])
def test_table_pages_sort_and_filter_by_odd_columns(staff_client, odd, table, column):
    from pipeline_core.querystate import encode_description

    base = url("table", odd, table)
    for descending in (False, True):
        order = quote(("-" if descending else "") + column, safe="")
        response = staff_client.get(f"{base}?order={order}")
        assert response.status_code == 200, response.content[:500]
        expected = sorted(ROWS, key=lambda r: r[column_index(column)], reverse=descending)
        assert page_ids(response.content.decode()) == [r[0] for r in expected]
    where = encode_description(
        {"attribute": column, "operator": "=", "value": ROWS[1][column_index(column)]}
    )
    response = staff_client.get(f"{base}?where={where}")
    assert response.status_code == 200, response.content[:500]
    assert page_ids(response.content.decode()) == [2]
    exported = staff_client.get(
        url("export", odd, table, "jsonl") + f"?where={where}&order=-{quote(column, safe='')}"
    )
    assert exported.status_code == 200
    assert [json.loads(line)["id"] for line in body(exported).splitlines()] == [2]
    # the column's filter form: a redirect to the page with its where token
    value = str(ROWS[1][column_index(column)])
    form = {"filter": column, "op": "=", "value": value}
    response = staff_client.get(base, form, follow=True)
    assert response.status_code == 200, response.content[:500]
    assert page_ids(response.content.decode()) == [2]
