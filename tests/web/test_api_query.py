"""POST /api/v1/query/ through Django's test client against the real MariaDB (demo pipeline):
login required, 400 with the path for invalid descriptions, 404 for schemas outside the
prefix, rows with blobs summarised, keyset pages."""

from __future__ import annotations

import json

import pytest

from pipeline_core.datamodel.query_json.schema import VALIDATOR

pytestmark = pytest.mark.integration

URL = "/api/v1/query/"


def post(client, description):
    return client.post(URL, data=json.dumps(description), content_type="application/json")


def table(cls) -> dict:
    return {"schema": cls.database, "table": cls.table_name}


def test_login_required(client, demo):
    response = post(client, {"from": table(demo.Subject)})
    assert response.status_code in (401, 403)
    assert "rows" not in response.json()


def test_get_is_not_allowed(lab_client, demo):
    assert lab_client.get(URL).status_code == 405


def test_successful_query_with_join_restriction_and_order(lab_client, demo):
    description = {
        "from": table(demo.Session),
        "join": [{"schema": demo.Subject.database, "table": "Subject"}],
        "where": {"attribute": "species", "operator": "=", "value": "mouse"},
        "proj": {"keep": ["session_date", "subject_name"]},
        "order": [{"attribute": "session_date", "descending": True}],
    }
    response = post(lab_client, description)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["primary_key"] == ["subject_id", "session_id"]
    assert [h["name"] for h in data["heading"]] == [
        "subject_id",
        "session_id",
        "session_date",
        "subject_name",
    ]
    assert data["heading"][2]["type"] == "date" and data["heading"][0]["in_key"] is True
    expected = (demo.Session * demo.Subject & {"species": "mouse"}).to_dicts(
        order_by=["session_date DESC", "KEY"]
    )
    assert data["rows"] == [
        {
            "subject_id": r["subject_id"],
            "session_id": r["session_id"],
            "session_date": r["session_date"].isoformat(),
            "subject_name": r["subject_name"],
        }
        for r in expected
    ]
    assert data["rows"] and data["cursor"] is None
    assert data["query"]["join"] == [table(demo.Subject)]  # canonical: raw table names
    assert list(VALIDATOR.iter_errors(data["query"])) == []


def test_blobs_are_summarised_and_pages_follow_the_cursor(lab_client, demo):
    description = {"from": table(demo.Image), "limit": 1}
    seen, cursor = [], None
    while True:
        response = post(lab_client, dict(description, **({"after": cursor} if cursor else {})))
        assert response.status_code == 200, response.content
        data = response.json()
        seen += data["rows"]
        cursor = data["cursor"]
        if cursor is None:
            break
    images = demo.Image.to_dicts(order_by="KEY")
    assert [(r["subject_id"], r["session_id"], r["image_name"]) for r in seen] == [
        (r["subject_id"], r["session_id"], r["image_name"]) for r in images
    ]
    for row, image in zip(seen, images):
        assert row["pixels"] == {
            "kind": "blob",
            "dtype": "uint8",
            "shape": list(image["pixels"].shape),
        }


def test_aggregation(lab_client, demo):
    description = {
        "from": table(demo.Subject),
        "aggr": {
            "over": table(demo.Session.Trial),
            "compute": {
                "trials": {"function": "count", "attribute": "trial_id"},
                "last_stop": {"function": "max", "attribute": "stop_time"},
            },
        },
    }
    data = post(lab_client, description).json()
    expected = demo.Subject.aggr(
        demo.Session.Trial, trials="count(trial_id)", last_stop="max(stop_time)"
    ).to_dicts()
    assert sorted((r["subject_id"], r["trials"], r["last_stop"]) for r in data["rows"]) == sorted(
        (r["subject_id"], r["trials"], r["last_stop"]) for r in expected
    )


@pytest.mark.parametrize(
    "description, path, words",
    [
        (
            {
                "from": {"schema": "{lab}", "table": "subject"},
                "where": {"attribute": "wieght", "operator": "=", "value": 1},
            },
            "where.attribute",
            ["wieght", "unknown attribute"],
        ),
        (
            {
                "from": {"schema": "{lab}", "table": "subject"},
                "where": {
                    "and": [
                        {"attribute": "subject_id", "operator": ">", "value": 1},
                        {"attribute": "subject_name", "operator": "~", "value": "M"},
                    ]
                },
            },
            "where.and[1].operator",
            ["'~'"],
        ),
        ({"from": {"schema": "{lab}", "table": "nope"}}, "from.table", ["nope"]),
        ({"from": {"schema": "{lab}", "table": "subject"}, "limit": 0}, "limit", ["limit"]),
        (
            {
                "from": {"schema": "{lab}", "table": "subject"},
                "proj": {"rename": {"x": "subject_name || 1"}},
            },
            "proj.rename.x",
            ["unknown attribute"],
        ),
        ({"where": {}}, "from", ["from"]),
        ([], "", ["object"]),
        (
            {"from": {"schema": "{lab}", "table": "subject"}, "wher": {}},
            "wher",
            ["unknown key 'wher'", "did you mean 'where'?"],
        ),
        (
            {"from": {"schema": "{lab}", "table": "subject"}, "order": [{"attribute": 1}]},
            "order[0].attribute",
            ["expected an attribute name (a string), not a number"],
        ),
    ],
)
def test_invalid_descriptions_give_400_with_path(lab_client, demo, description, path, words):
    text = json.dumps(description).replace("{lab}", demo.Subject.database)
    response = lab_client.post(URL, data=text, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["path"] == path
    assert body["error"].startswith(path or "query")
    for word in words:
        assert word in body["error"]


def test_null_limit_and_cursor_mean_none(lab_client, demo):
    """The cursor of a last page is null; passed back as ``after`` it means the first page."""
    response = post(lab_client, {"from": table(demo.Subject), "limit": None, "after": None})
    assert response.status_code == 200, response.content
    assert len(response.json()["rows"]) == len(demo.Subject())


def test_malformed_json_gives_400(lab_client, demo):
    for text in ["{", "not json", '{"from": NaN}', "[" * 50_000]:
        response = lab_client.post(URL, data=text, content_type="application/json")
        assert response.status_code == 400, text[:10]
        assert response.json()["path"] == "" and "JSON" in response.json()["error"]
    response = lab_client.post(URL, data={"from": "x"})  # a form, not JSON
    assert response.status_code == 415


def test_invisible_schemas_give_404(lab_client, demo, pipeline_prefix):
    for schema in ["mysql", "information_schema", pipeline_prefix + "no_such_schema"]:
        response = post(lab_client, {"from": {"schema": schema, "table": "user"}})
        assert response.status_code == 404, (schema, response.content)
        assert "rows" not in response.json()
    # a visible table restricted by one outside the prefix: refused as well
    response = post(
        lab_client,
        {"from": table(demo.Subject), "where": {"matching": {"schema": "mysql", "table": "user"}}},
    )
    assert response.status_code == 404


@pytest.mark.parametrize("store_spec", ["file"], indirect=True)
def test_stored_values_are_summarised_without_reading_the_store(lab_client, stored_lab, tmp_path):
    import numpy as np

    from pipeline_core.datamodel.stores import Attachment

    source = tmp_path / "notes.txt"
    source.write_bytes(b"field notes\n")
    stored_lab.Recording.insert1(
        dict(
            rec_id=1,
            label="all",
            signal=np.arange(12.0).reshape(3, 4),
            inline_file=str(source),
            stored_file=Attachment("report.pdf", b"%PDF fake"),
            raw=b"raw bytes",
            arr=np.arange(6, dtype="int16").reshape(2, 3),
        )
    )
    backend = stored_lab.conn.stores.backend("main")
    for path, _ in list(backend.walk("")):
        backend.delete(path)  # a query that read the store would fail now
    response = post(lab_client, {"from": table(stored_lab.Recording)})
    assert response.status_code == 200, response.content
    row = response.json()["rows"][0]
    assert row["label"] == "all" and row["obj"] is None and row["fp"] is None
    assert (
        row["signal"]["kind"] == "stored"
        and row["signal"]["store"] == "main"
        and row["signal"]["size"] > 0
    )
    assert row["raw"]["kind"] == "stored"
    assert row["inline_file"] == {
        "kind": "attachment",
        "name": "notes.txt",
        "size": len(b"field notes\n"),
    }
    assert row["stored_file"]["kind"] == "attachment" and row["stored_file"]["size"] > 0
    assert row["arr"] == {"kind": "npy", "store": "main", "dtype": "int16", "shape": [2, 3]}


def test_a_query_past_the_time_limit_gives_504(lab_client, populated, settings):
    """LABBOOK_QUERY_TIMEOUT stops a described query on the server: the cross product of
    Detection.Blob with itself (about a million rows, sorted) within a millisecond."""
    blob = populated.Detection.Blob
    assert len(blob) > 500
    renamed = {"from": table(blob), "proj": {"rename": {f"{k}_b": k for k in blob.primary_key}}}
    description = {"from": renamed, "join": [dict(table(blob), cross=True)], "limit": 5}
    settings.LABBOOK_QUERY_TIMEOUT = 0.001
    response = post(lab_client, description)
    assert response.status_code == 504, response.content[:300]
    assert response.json()["error"] == "Query took too long"
    settings.LABBOOK_QUERY_TIMEOUT = 0
    response = post(lab_client, description)
    assert response.status_code == 200 and len(response.json()["rows"]) == 5
