"""Export (issue 14 part 5) through the real views and MariaDB: a table of every kind of
attribute exported from its table page as CSV, TSV and JSON Lines, parsed back (Python's
``csv`` module, ``json``) and compared with the data model's ``to_dicts()`` of the same
rows; query descriptions through ``GET /api/v1/query/export.<fmt>?q=`` compared with the
same expressions built in Python; the row cap; errors answered before streaming; the
query time limit lifted for the export only; rows streamed in batches; download URLs of
attachments and stored files that really download them."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import math
import uuid
from urllib.parse import quote

import numpy as np
import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.stores import Attachment, BlobRef, NpyRef, ObjectRef
from pipeline_core.services import export_columns
from pipeline_core.services.export_format import tsv_unescape
from pipeline_core.web.keys import encode_key

pytestmark = pytest.mark.integration

TEXTS = [
    "plain",
    "a,b",
    'quote "x" inside',
    "line one\nline two",
    "tab\there",
    "cr\r\nlf",
    "ünïcødé 表 😀",
    " padded ",
    "back\\slash \\n not a newline",
    "",
    '",\n\t',
]


@pytest.fixture(scope="module")
def everything(demo, pipeline_prefix, tmp_path_factory):
    """``{prefix}exportall.Everything``: every kind of in-table attribute, NULLs included;
    one row per text of :data:`TEXTS` plus a row of NULLs."""
    schema = dm.Schema(pipeline_prefix + "exportall", connection=demo.Subject.connection)

    @schema
    class Everything(dm.Manual):
        definition = """
        # one attribute of each kind
        item_id: int32
        ---
        label=null: varchar(60)
        big=null: int64
        ratio=null: float64
        single=null: float32
        price=null: decimal(10,3)
        kind=null: enum('alpha', 'beta', 'gamma')
        flag=null: bool
        day=null: date
        moment=null: datetime
        token=null: uuid
        meta=null: json
        signal=null: <blob>
        doc=null: <attach>
        """

    folder = tmp_path_factory.mktemp("exportfiles")
    blobs = [
        np.arange(300.0).reshape(3, 100),
        np.array([1, 2, 3], dtype=np.int16),
        {"a": 1, "b": [1, 2]},
        [1, "two", 3.0],
        "a text blob",
        np.float64(2.5),
    ]
    rows = []
    for i, text in enumerate(TEXTS):
        doc = folder / f"notes {i}.txt"
        doc.write_bytes(f"attachment {i}: {text}".encode())
        rows.append(
            dict(
                item_id=i + 1,
                label=text,
                big=2**62 - i,
                ratio=[0.1 + 0.2, -1e300, 0.0, 1 / 3][i % 4],
                single=1.5 + i,
                price=f"{i}.125",
                kind=["alpha", "beta", "gamma"][i % 3],
                flag=bool(i % 2),
                day=datetime.date(2026, 1, 1 + i),
                moment=datetime.datetime(2026, 2, 3, 4, 5, i),
                token=uuid.UUID(int=i * 7919 + 1),
                meta={"i": i, "text": text, "nested": {"list": [1, None, True]}},
                signal=blobs[i % len(blobs)],
                doc=str(doc),
            )
        )
    Everything.insert(rows, skip_duplicates=True)
    Everything.insert1({"item_id": 100}, skip_duplicates=True)
    return Everything


# --- the expected text of each value, from the data model's own values --------------------


def download_path(cls, attribute: str, row: dict) -> str:
    key = {k: row[k] for k in cls.primary_key}
    path = reverse("web:download", args=[cls.database, cls.table_name, attribute])
    return f"{path}?key={encode_key(key)}"


def blob_text(value) -> str:
    if isinstance(value, (np.ndarray, np.generic)):
        return f"<blob {value.dtype.name} {tuple(value.shape)}>"
    if isinstance(value, dict):
        return f"<blob dict {len(value)} keys>"
    if isinstance(value, (list, tuple)):
        return f"<blob {type(value).__name__} {len(value)} items>"
    if isinstance(value, str):
        return f"<blob str {len(value.encode())} bytes>"
    raise AssertionError(f"no expected text for a blob holding {type(value)}")


def blob_json(value, size: int) -> dict:
    if isinstance(value, (np.ndarray, np.generic)):
        return {"kind": "blob", "dtype": value.dtype.name, "shape": list(value.shape), "size": size}
    length = len(value.encode()) if isinstance(value, str) else len(value)
    return {"kind": "blob", "type": type(value).__name__, "length": length, "size": size}


def expected_json(cls, attr, row: dict, raw: dict):
    """The JSON Lines value of ``attr`` in ``row`` (decoded, lazy) / ``raw`` (column bytes)."""
    value = row[attr.name]
    if value is None:
        return None
    if attr.is_blob:
        return blob_json(value, len(raw[attr.name]))
    if isinstance(value, Attachment):
        return {
            "kind": "attachment",
            "name": value.name,
            "size": len(value.contents),
            "url": download_path(cls, attr.name, row),
        }
    if attr.type == "bool":
        return bool(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def expected_text(cls, attr, row: dict, raw: dict) -> str:
    """The CSV/TSV field of ``attr`` in ``row``."""
    value = expected_json(cls, attr, row, raw)
    if value is None:
        return ""
    if attr.is_blob:
        return blob_text(row[attr.name])
    if isinstance(value, dict) and "url" in value:
        return value["url"]
    if isinstance(value, bool):
        return "true" if value else "false"
    if attr.is_json:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value) if not isinstance(value, float) else repr(value)


def reference(cls, expr=None, order_by="KEY") -> tuple[list[dict], list[dict]]:
    """(decoded rows, raw rows) of ``expr`` (default: the table) in ``order_by``."""
    expr = cls() if expr is None else expr
    return (
        expr.to_dicts(order_by=order_by, lazy=True),
        expr.to_dicts(order_by=order_by, decode=False),
    )


def body(response) -> str:
    assert response.streaming, response.content[:300]
    return b"".join(response.streaming_content).decode()


def table_export_url(cls, fmt: str) -> str:
    return reverse("web:export", args=[cls.database, cls.table_name, fmt])


# --- a table of every kind, from its table page ---------------------------------------------


def test_the_table_page_offers_the_three_formats(lab_client, everything):
    html = lab_client.get(reverse("web:table", args=[everything.database, "everything"]))
    text = html.content.decode()
    for fmt in ("csv", "tsv", "jsonl"):
        assert f'href="{table_export_url(everything, fmt)}" download' in text


def test_csv_export_of_every_kind_of_attribute(lab_client, everything):
    response = lab_client.get(table_export_url(everything, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{everything.database}.Everything.csv"'
    )
    assert "X-LabBook-Truncated" not in response
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Accel-Buffering"] == "no"
    text = body(response)
    assert text.endswith("\r\n")
    records = list(csv.reader(io.StringIO(text, newline="")))
    names = everything.heading.names
    assert records[0] == names
    rows, raws = reference(everything)
    assert len(records) - 1 == len(rows) == len(TEXTS) + 1
    for record, row, raw in zip(records[1:], rows, raws):
        expected = [expected_text(everything, everything.heading[n], row, raw) for n in names]
        assert record == expected
    assert {r[names.index("label")] for r in records[1:]} >= set(TEXTS)


def test_tsv_export_escapes_text_and_parses_back(lab_client, everything):
    response = lab_client.get(table_export_url(everything, "tsv"))
    assert response["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    text = body(response)
    lines = text.split("\n")
    assert lines[-1] == ""  # every record ends with LF, none holds one
    records = [[tsv_unescape(f) for f in line.split("\t")] for line in lines[:-1]]
    names = everything.heading.names
    assert records[0] == names and all(len(r) == len(names) for r in records)
    rows, raws = reference(everything)
    for record, row, raw in zip(records[1:], rows, raws, strict=True):
        assert record == [expected_text(everything, everything.heading[n], row, raw) for n in names]
    assert "\r" not in text


def test_jsonl_export_gives_json_values_and_tells_null_from_empty(lab_client, everything):
    response = lab_client.get(table_export_url(everything, "jsonl"))
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    lines = body(response).split("\n")
    assert lines[-1] == ""
    objects = [json.loads(line) for line in lines[:-1]]
    rows, raws = reference(everything)
    assert len(objects) == len(rows)
    for obj, row, raw in zip(objects, rows, raws):
        assert list(obj) == everything.heading.names
        assert obj == {a.name: expected_json(everything, a, row, raw) for a in everything.heading}
    labels = [o["label"] for o in objects]
    assert "" in labels and None in labels


def test_download_urls_download_the_attachments(lab_client, everything):
    objects = [
        json.loads(line)
        for line in body(lab_client.get(table_export_url(everything, "jsonl"))).splitlines()
    ]
    rows, _ = reference(everything)
    checked = 0
    for obj, row in zip(objects, rows):
        if row["doc"] is None:
            assert obj["doc"] is None
            continue
        response = lab_client.get(obj["doc"]["url"])
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == row["doc"].contents
        checked += 1
    assert checked == len(TEXTS)


def test_rows_arrive_in_batches(lab_client, everything, monkeypatch):
    """With batches of 3 rows, the body is the header then one chunk per batch."""
    monkeypatch.setattr(export_columns, "BATCH_ROWS", 3)
    monkeypatch.setattr(export_columns, "BLOB_BATCH_ROWS", 3)
    response = lab_client.get(table_export_url(everything, "csv"))
    chunks = list(response.streaming_content)
    n = len(everything)
    assert len(chunks) == 1 + math.ceil(n / 3)
    assert chunks[0].decode() == ",".join(everything.heading.names) + "\r\n"
    for chunk in chunks[1:-1]:
        assert len(list(csv.reader(io.StringIO(chunk.decode(), newline="")))) == 3


# --- the row cap -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_row_cap_stops_the_export_and_says_so(lab_client, everything, settings, fmt):
    n = len(everything)
    settings.LABBOOK_EXPORT_MAX_ROWS = 4
    response = lab_client.get(table_export_url(everything, fmt))
    assert response["X-LabBook-Truncated"] == "4"
    lines = body(response).splitlines()
    ids = [json.loads(line)["item_id"] for line in lines] if fmt == "jsonl" else None
    if fmt == "csv":
        records = list(csv.reader(io.StringIO("\n".join(lines), newline="")))
        ids = [int(r[0]) for r in records[1:]]
    assert ids == [k["item_id"] for k in everything.keys(order_by="KEY")][:4]
    page = lab_client.get(reverse("web:table", args=[everything.database, "everything"]))
    assert b"at most 4" in page.content
    for cap in (n, n + 1):
        settings.LABBOOK_EXPORT_MAX_ROWS = cap
        response = lab_client.get(table_export_url(everything, "jsonl"))
        assert "X-LabBook-Truncated" not in response
        assert len(body(response).splitlines()) == n


# --- queries through the API ----------------------------------------------------------------


def source(cls) -> dict:
    return {"schema": cls.database, "table": cls.table_name}


def api_export(client, description, fmt="csv", accept="*/*"):
    q = quote(json.dumps(description))
    return client.get(f"/api/v1/query/export.{fmt}?q={q}", headers={"Accept": accept})


def csv_records(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response), newline="")))


def test_a_restricted_joined_query_gives_exactly_its_rows(lab_client, demo):
    description = {
        "from": source(demo.Session),
        "join": [source(demo.Subject)],
        "where": {"attribute": "species", "operator": "=", "value": "mouse"},
        "proj": {"keep": ["session_date", "subject_name"]},
        "order": [{"attribute": "session_date", "descending": True}],
        "limit": 1,  # paging: not applied to an export
    }
    response = api_export(lab_client, description)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{demo.Session.database}.Session.query.csv"'
    )
    expr = (demo.Session * demo.Subject & {"species": "mouse"}).proj("session_date", "subject_name")
    expected = expr.to_dicts(order_by=["session_date DESC", "KEY"])
    records = csv_records(response)
    assert records[0] == expr.heading.names
    assert len(expected) > 1
    assert records[1:] == [
        [
            str(r["subject_id"]),
            str(r["session_id"]),
            r["session_date"].isoformat(),
            r["subject_name"],
        ]
        for r in expected
    ]


def test_an_aggregation_and_blobs_in_json_lines(lab_client, demo):
    description = {
        "from": source(demo.Subject),
        "aggr": {
            "over": source(demo.Session.Trial),
            "compute": {"trials": {"function": "count", "attribute": "trial_id"}},
        },
    }
    response = api_export(lab_client, description, "jsonl")
    got = [json.loads(line) for line in body(response).splitlines()]
    expected = demo.Subject.aggr(demo.Session.Trial, trials="count(trial_id)").to_dicts(
        order_by="KEY"
    )
    assert [(o["subject_id"], o["trials"]) for o in got] == [
        (r["subject_id"], r["trials"]) for r in expected
    ]
    images = api_export(lab_client, {"from": source(demo.Image)}, "jsonl")
    got = [json.loads(line) for line in body(images).splitlines()]
    expected = demo.Image.to_dicts(order_by="KEY")
    raw = demo.Image.to_dicts(order_by="KEY", decode=False)
    assert len(got) == len(expected) > 0
    for obj, row, raw_row in zip(got, expected, raw):
        assert obj["pixels"] == blob_json(row["pixels"], len(raw_row["pixels"]))


def test_accept_headers_do_not_matter(lab_client, demo):
    for accept in ("text/csv", "application/json", "image/png"):
        response = api_export(lab_client, {"from": source(demo.Subject)}, "tsv", accept)
        assert response.status_code == 200, (accept, response.content[:200])
        assert len(body(response).splitlines()) == len(demo.Subject) + 1


@pytest.mark.parametrize(
    "q, status, path",
    [
        (None, 400, ""),
        ("", 400, ""),
        ("{not json", 400, ""),
        ('{"from": {"schema": "{db}", "table": "subject"}, "limit": 0}', 400, "limit"),
        ('{"from": {"schema": "{db}", "table": "nope"}}', 400, "from.table"),
        ('{"from": {"schema": "mysql", "table": "user"}}', 404, None),
        (
            '{"from": {"schema": "{db}", "table": "subject"}, '
            '"where": {"attribute": "wieght", "operator": "=", "value": 1}}',
            400,
            "where.attribute",
        ),
    ],
)
def test_errors_are_answered_before_streaming(lab_client, demo, q, status, path):
    url = "/api/v1/query/export.csv"
    if q is not None:
        url += "?q=" + quote(q.replace("{db}", demo.Subject.database))
    response = lab_client.get(url)
    assert response.status_code == status, response.content[:300]
    assert not response.streaming and response["Content-Type"] == "application/json"
    if path is not None:
        assert response.json()["path"] == path


def test_unknown_formats_are_not_found(lab_client, demo):
    response = api_export(lab_client, {"from": source(demo.Subject)}, "xml")
    assert response.status_code == 404 and "xml" in response.json()["detail"]
    response = lab_client.get(table_export_url(demo.Subject, "xlsx"))
    assert response.status_code == 404 and b"xlsx" in response.content


def test_the_query_time_limit_is_lifted_for_the_export_only(lab_client, populated, settings):
    """A query the time limit stops (the cross product of Detection.Blob with itself,
    counted) is exported whole; the next described query is stopped again."""
    blob = populated.Detection.Blob
    n = len(blob)
    assert n > 500
    renamed = {"from": source(blob), "proj": {"rename": {f"{k}_b": k for k in blob.primary_key}}}
    description = {
        "from": {"from": renamed, "join": [dict(source(blob), cross=True)]},
        "group": {"compute": {"pairs": {"function": "count"}}},
    }
    settings.LABBOOK_QUERY_TIMEOUT = 0.001

    def run():
        return lab_client.post(
            "/api/v1/query/", json.dumps(description), content_type="application/json"
        )

    assert run().status_code == 504
    response = api_export(lab_client, description, "jsonl")
    assert response.status_code == 200
    assert [json.loads(line) for line in body(response).splitlines()] == [{"pairs": n * n}]
    assert run().status_code == 504


# --- roles -------------------------------------------------------------------------------------


def test_who_may_export(client, django_user_model, demo, settings, pipeline_prefix):
    from pipeline_core.models import RoleGrant
    from pipeline_core.schema_patterns import escape

    settings.LABBOOK_DEFAULT_ROLE = "none"
    web_url = table_export_url(demo.Subject, "csv")
    description = {"from": source(demo.Session), "join": [source(demo.Subject)]}
    response = client.get(web_url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert api_export(client, description).status_code == 401
    outsider = django_user_model.objects.create_user(username="outsider", password="x")
    client.force_login(outsider)
    assert client.get(web_url).status_code == 404
    assert api_export(client, description).status_code == 404
    RoleGrant.objects.create(
        user=outsider, schema_pattern=escape(demo.Subject.database), role="viewer"
    )
    assert client.get(web_url).status_code == 200
    if demo.Session.database != demo.Subject.database:  # one schema viewable, not the other
        assert api_export(client, description).status_code == 404
    RoleGrant.objects.create(
        user=outsider, schema_pattern=escape(pipeline_prefix) + "%", role="viewer"
    )
    response = api_export(client, description)
    assert response.status_code == 200
    assert len(csv_records(response)) == len(demo.Session * demo.Subject) + 1


# --- stored values ------------------------------------------------------------------------------


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_stored_values_are_summarised_or_linked(lab_client, stored_lab, tmp_path):
    source_file = tmp_path / "notes.txt"
    source_file.write_bytes(b"field notes\n")
    folder = tmp_path / "scan"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"\x01\x02")
    stored_lab.conn.stores.backend("main").put("raw/session1.dat", b"recorded elsewhere")
    recording = stored_lab.Recording
    recording.insert1(
        dict(
            rec_id=1,
            label="all",
            signal=np.arange(12.0).reshape(3, 4),
            inline_file=str(source_file),
            stored_file=Attachment("report.pdf", b"%PDF fake"),
            raw=b"raw bytes",
            obj=("csv", b"t,v\n0,1\n"),
            folder=str(folder),
            arr=np.arange(6, dtype="int16").reshape(2, 3),
            fp="raw/session1.dat",
        )
    )
    recording.insert1(dict(rec_id=2, label="empty"))
    lines = body(lab_client.get(table_export_url(recording, "jsonl"))).splitlines()
    got = [json.loads(line) for line in lines]
    assert [o["rec_id"] for o in got] == [1, 2]
    assert all(v is None for k, v in got[1].items() if k not in ("rec_id", "label"))
    row = recording.to_dicts(order_by="KEY", lazy=True)[0]
    obj = got[0]
    assert isinstance(row["signal"], BlobRef) and isinstance(row["arr"], NpyRef)
    assert obj["signal"] == {"kind": "stored", "store": "main", "size": row["signal"].size}
    assert obj["arr"] == {"kind": "npy", "store": "main", "dtype": "int16", "shape": [2, 3]}
    assert obj["folder"]["kind"] == "object" and obj["folder"]["folder"] is True
    assert "url" not in obj["folder"] and "url" not in obj["raw"]
    queried = lab_client.post(
        "/api/v1/query/", json.dumps({"from": source(recording)}), content_type="application/json"
    ).json()["rows"]
    for name in recording.heading.names:  # the query API's values, plus download URLs
        value = obj[name]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "url"}
        assert value == queried[0][name], name
    for name in ("inline_file", "stored_file", "obj", "fp"):
        assert obj[name]["url"] == download_path(recording, name, row), name
        response = lab_client.get(obj[name]["url"])
        assert response.status_code == 200, (name, response.content[:200])
        downloaded = b"".join(response.streaming_content)
        value = row[name]
        if isinstance(value, Attachment):
            assert downloaded == value.contents
        else:
            assert isinstance(value, ObjectRef) and downloaded == value.read()
    records = csv_records(lab_client.get(table_export_url(recording, "csv")))
    first = dict(zip(records[0], records[1]))
    assert first["inline_file"] == obj["inline_file"]["url"]
    assert first["signal"] == f"<blob@main {row['signal'].size} bytes>"
    assert first["arr"] == "<npy@main int16 (2, 3)>"
    assert first["folder"] == f"<folder@main {row['folder'].path}>"
