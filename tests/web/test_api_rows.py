"""The rows API (issue #12) through Django's test client against the real MariaDB: keyset
pages, a batch checked whole (every error class, by list, row and attribute), dry runs that
write nothing, masters with parts in one transaction, update1, deletes with their cascade
preview, undo from the audit trail, and concurrent saves of one key."""

from __future__ import annotations

import json
import threading

import pytest
from django.test import Client

from pipeline_core import datamodel as dm
from pipeline_core.models import RoleGrant
from tests.web.rows_fixtures import declare_lab

pytestmark = pytest.mark.integration


@pytest.fixture
def lab(dm_conn, new_db):
    return declare_lab(dm_conn, new_db("lab"))


@pytest.fixture
def editor_client(db, django_user_model):
    user = django_user_model.objects.create_user(username="ed", password="pw-ed-12345")
    RoleGrant.objects.create(user=user, schema_pattern="%", role="editor", created_by="tests")
    client = Client()
    client.force_login(user)
    return client


def url(lab, table="Session", tail="rows/"):
    cls = lab.Session.Trial if table == "Session.Trial" else getattr(lab, table)
    return f"/api/v1/schemas/{lab.database}/tables/{cls.table_name}/{tail}"


def post(client, target, body):
    return client.post(target, data=json.dumps(body), content_type="application/json")


def session(subject=1, when="2024-05-01 10:00:00", rig="A", **more):
    return {"subject_id": subject, "session_datetime": when, "rig": rig, **more}


def errors_of(response) -> list[tuple]:
    return [(e["list"], e["row"], e["attribute"]) for e in response.json()["errors"]]


def counts(lab) -> tuple[int, int, int]:
    return len(lab.Session()), len(lab.Session.Trial()), len(lab.Scan())


# --- reading ------------------------------------------------------------------------------


def test_keyset_pages_cover_every_row_once(lab_client, lab):
    lab.Session.insert([session(1, f"2024-05-01 10:{m:02d}:00") for m in range(7)])
    seen, after = [], None
    while True:
        query = "?limit=3" + (f"&after={after}" if after else "")
        data = lab_client.get(url(lab) + query).json()
        seen += [r["session_datetime"] for r in data["rows"]]
        assert len(data["rows"]) <= 3
        after = data["next"]
        if after is None:
            break
    assert seen == [f"2024-05-01 10:{m:02d}:00" for m in range(7)]
    assert [h["name"] for h in data["heading"]][:2] == ["subject_id", "session_datetime"]


def test_bad_limit_and_cursor_are_400(lab_client, lab):
    assert lab_client.get(url(lab) + "?limit=0").status_code == 400
    assert lab_client.get(url(lab) + "?limit=5000").status_code == 400
    assert lab_client.get(url(lab) + "?after=%%%").status_code == 400


# --- saving -------------------------------------------------------------------------------


def test_save_master_with_parts_in_one_batch(lab_client, lab, settings):
    body = {
        "rows": [session(1, "2024-05-01 10:00", weight="21.5", notes="ok")],
        "parts": {
            "Trial": [
                {"subject_id": 1, "session_datetime": "2024-05-01 10:00", "trial": t, "outcome": o}
                for t, o in ((1, "hit"), (2, "MISS"))
            ]
        },
    }
    response = post(lab_client, url(lab), body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["inserted"] == 3 and data["updated"] == 0 and len(data["batch"]) == 32
    assert data["keys"] == [{"subject_id": 1, "session_datetime": "2024-05-01 10:00:00"}]
    assert counts(lab) == (1, 2, 0)
    assert sorted(lab.Session.Trial().to_arrays("outcome")) == ["hit", "miss"]  # enum member
    events = dm.audit.read_events(
        lab.Session.connection, settings.LABBOOK_AUDIT_DB, batch_id=data["batch"]
    )
    assert len(events) == 3 and {e["action"] for e in events} == {"insert"}


def test_every_error_class_reported_by_row_and_attribute_nothing_written(lab_client, lab):
    lab.Session.insert1(session(1, "2024-01-01 09:00"))
    rows = [
        session(1, "2024-05-01 10:00"),  # 0: fine
        session(1, "2024-05-01 11:00", n_spikes="40000"),  # 1: int16 range
        session(1, "2024-05-01 12:00", notes="x" * 21),  # 2: varchar length
        session(1, "not a date"),  # 3: type
        session(1, "2024-05-01 13:00", rig=None),  # 4: required
        session(1, "2024-05-01 10:00"),  # 5: duplicate in batch (row 0)
        session(1, "2024-01-01 09:00"),  # 6: duplicate against the table
        session(9, "2024-05-01 14:00"),  # 7: no parent Subject 9
        session(1, "2024-05-01 15:00", rig="Z"),  # 8: no parent Rig Z
        session(1, "2024-05-01 16:00", weight="12345.6"),  # 9: decimal(5,2)
        {**session(1, "2024-05-01 17:00"), "colour": "red"},  # 10: unknown attribute
    ]
    trials = [{"subject_id": 1, "session_datetime": "2024-05-01 10:00", "trial": 1, "outcome": "x"}]
    before = counts(lab)
    response = post(lab_client, url(lab), {"rows": rows, "parts": {"Trial": trials}})
    assert response.status_code == 400, response.content
    found = errors_of(response)
    assert ("rows", 1, "n_spikes") in found
    assert ("rows", 2, "notes") in found
    assert ("rows", 3, "session_datetime") in found
    assert ("rows", 4, "rig") in found
    assert ("rows", 5, None) in found and ("rows", 6, None) in found
    assert ("rows", 7, "subject_id") in found and ("rows", 8, "rig") in found
    assert ("rows", 9, "weight") in found and ("rows", 10, "colour") in found
    assert ("parts.Trial", 0, "outcome") in found
    assert not [e for e in found if e[:2] == ("rows", 0)]
    messages = {(e["row"], e["attribute"]): e["message"] for e in response.json()["errors"]}
    assert "-32768..32767" in messages[(1, "n_spikes")]  # the range, not the server's words
    assert "20 characters" in messages[(2, "notes")]
    assert lab.Session.full_table_name in messages[(6, None)]
    assert "'hit'" in response.json()["errors"][-1]["message"]
    assert all(e["table"] for e in response.json()["errors"])
    assert counts(lab) == before


def test_dry_run_checks_and_writes_nothing(lab_client, lab):
    before = counts(lab)
    ok = post(lab_client, url(lab), {"rows": [session()], "dry_run": True})
    assert ok.status_code == 200 and ok.json() == {"errors": [], "resolved": []}
    bad = post(lab_client, url(lab), {"rows": [session(rig="Z")], "dry_run": True})
    assert bad.status_code == 200 and errors_of(bad) == [("rows", 0, "rig")]
    assert counts(lab) == before


def test_foreign_key_text_resolves_to_the_parent(lab_client, lab):
    lab.Subject.insert1({"subject_id": 4, "subject_name": "Mickey", "sex": "F"})  # 2 Mickeys
    rows = [
        session("Minnie", "2024-05-02 10:00"),
        session("Pluto", "2024-05-02 11:00"),
        session("Donald", "2024-05-02 12:00"),
        session("Mickey", "2024-05-02 13:00"),
    ]
    checked = post(lab_client, url(lab), {"rows": rows[:2], "dry_run": True}).json()
    assert checked["errors"] == []
    assert [r["values"]["subject_id"] for r in checked["resolved"]] == [2, 3]
    refused = post(lab_client, url(lab), {"rows": rows})
    assert refused.status_code == 400
    by_row = {e["row"]: e for e in refused.json()["errors"]}
    assert set(by_row) == {2, 3}
    assert "no row of Subject" in by_row[2]["message"] and by_row[2]["attribute"] == "subject_id"
    assert "2 rows of Subject" in by_row[3]["message"]
    saved = post(lab_client, url(lab), {"rows": rows[:2]})
    assert saved.status_code == 201
    assert sorted(lab.Session().to_arrays("subject_id")) == [2, 3]


def test_a_table_that_is_not_entered_by_people_is_409(lab_client, demo):
    target = f"/api/v1/schemas/{demo.Detection.database}/tables/{demo.Detection.table_name}/rows/"
    response = post(lab_client, target, {"rows": [{"subject_id": 1}]})
    assert response.status_code == 409 and "Manual and Lookup" in response.json()["detail"]


def test_unknown_part_and_malformed_body_are_clear(lab_client, lab):
    response = post(lab_client, url(lab), {"rows": [], "parts": {"Nope": [{}]}})
    assert response.status_code == 404 and "Trial" in response.json()["detail"]
    response = post(lab_client, url(lab), {"rows": "no"})
    assert response.status_code == 400 and "`rows`" in response.json()["detail"]


# --- updates ------------------------------------------------------------------------------


def test_updates_need_the_editor_role(lab_client, editor_client, lab):
    lab.Session.insert1(session(notes="before"))
    body = {"key": {"subject_id": 1, "session_datetime": "2024-05-01 10:00"}, "set": {"notes": "x"}}
    target = url(lab)
    assert (
        lab_client.patch(target, data=json.dumps(body), content_type="application/json").status_code
        == 403
    )
    refused = post(lab_client, target, {"rows": [], "updates": [body]})
    assert refused.status_code == 403
    response = editor_client.patch(target, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["updated"] == 1
    assert lab.Session().to_arrays("notes").tolist() == ["x"]


def test_update_errors(editor_client, lab):
    lab.Session.insert1(session())
    key = {"subject_id": 1, "session_datetime": "2024-05-01 10:00"}
    updates = [
        {"key": key, "set": {"session_datetime": "2024-06-01 10:00"}},  # primary key
        {"key": {"subject_id": 1, "session_datetime": "2030-01-01 00:00"}, "set": {"notes": "a"}},
        {"key": key, "set": {"n_spikes": 99999}},
        {"key": key, "set": {"rig": "Z"}},
        {"key": {"subject_id": 1}, "set": {"notes": "a"}},
    ]
    response = post(editor_client, url(lab), {"rows": [], "updates": updates})
    assert response.status_code == 400
    found = errors_of(response)
    assert ("updates", 0, "session_datetime") in found
    assert ("updates", 1, None) in found
    assert ("updates", 2, "n_spikes") in found
    assert ("updates", 3, "rig") in found
    assert ("updates", 4, "session_datetime") in found
    assert lab.Session().to_arrays("rig").tolist() == ["A"]


# --- deleting -----------------------------------------------------------------------------


def test_delete_preview_then_delete_with_cascade(editor_client, lab):
    lab.Session.insert([session(1, "2024-05-01 10:00"), session(2, "2024-05-01 10:00")])
    lab.Session.Trial.insert(
        [{"subject_id": 1, "session_datetime": "2024-05-01 10:00", "trial": 1, "outcome": "hit"}]
    )
    lab.Scan.insert1({"subject_id": 1, "session_datetime": "2024-05-01 10:00", "scan_id": 1})
    restriction = {"attribute": "subject_id", "operator": "=", "value": 1}
    target = url(lab, "Subject", "rows/delete/")
    preview = post(editor_client, target, {"restriction": restriction, "dry_run": True})
    assert preview.status_code == 200, preview.content
    names = {n.split(".")[-1].strip("`"): c for n, c in preview.json()["counts"].items()}
    assert names == {"subject": 1, "session": 1, "session__trial": 1, "scan": 1}
    assert len(lab.Subject()) == 3
    done = post(editor_client, target, {"restriction": restriction, "dry_run": False})
    assert done.status_code == 200 and done.json()["deleted"] == 1
    assert len(lab.Subject()) == 2 and counts(lab) == (1, 0, 0)


def test_delete_by_keys_part_rows_and_roles(lab_client, editor_client, lab):
    lab.Session.insert1(session())
    key = {"subject_id": 1, "session_datetime": "2024-05-01 10:00:00"}
    target = url(lab, "Session", "rows/delete/")
    assert post(lab_client, target, {"keys": [key], "dry_run": False}).status_code == 403
    part = url(lab, "Session.Trial", "rows/delete/")
    assert post(editor_client, part, {"keys": [key]}).status_code in (404, 409)
    assert post(editor_client, target, {"keys": [key], "restriction": {}}).status_code == 400
    done = post(editor_client, target, {"keys": [key], "dry_run": False})
    assert done.status_code == 200 and done.json()["deleted"] == 1 and len(lab.Session()) == 0


# --- undo ---------------------------------------------------------------------------------


def test_undo_takes_back_a_save_once(lab_client, lab):
    body = {
        "rows": [session(1, "2024-05-01 10:00")],
        "parts": {
            "Trial": [
                {
                    "subject_id": 1,
                    "session_datetime": "2024-05-01 10:00",
                    "trial": 1,
                    "outcome": "hit",
                }
            ]
        },
    }
    batch = post(lab_client, url(lab), body).json()["batch"]
    assert counts(lab) == (1, 1, 0)
    response = lab_client.post(f"/api/v1/batches/{batch}/undo/")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "undone": batch,
        "batch": f"undo-{batch}",
        "deleted": 2,
        "restored": 0,
    }
    assert counts(lab) == (0, 0, 0)
    again = lab_client.post(f"/api/v1/batches/{batch}/undo/")
    assert again.status_code == 409 and "undone already" in again.json()["detail"]
    assert lab_client.post("/api/v1/batches/feedbeef/undo/").status_code == 404


def test_another_users_batch_needs_the_editor_role(lab_client, editor_client, lab):
    batch = post(editor_client, url(lab), {"rows": [session()]}).json()["batch"]
    refused = lab_client.post(f"/api/v1/batches/{batch}/undo/")
    assert refused.status_code == 403 and len(lab.Session()) == 1
    assert editor_client.post(f"/api/v1/batches/{batch}/undo/").status_code == 200
    assert len(lab.Session()) == 0


def test_undo_refuses_when_rows_were_entered_below(lab_client, lab):
    batch = post(lab_client, url(lab), {"rows": [session()]}).json()["batch"]
    lab.Scan.insert1({"subject_id": 1, "session_datetime": "2024-05-01 10:00", "scan_id": 1})
    response = lab_client.post(f"/api/v1/batches/{batch}/undo/")
    assert response.status_code == 409
    assert lab.Scan.full_table_name in response.json()["detail"]
    assert counts(lab) == (1, 0, 1)


def test_undo_restores_updated_values_and_refuses_changed_rows(editor_client, lab):
    lab.Session.insert1(session(notes="first", weight=20))
    key = {"subject_id": 1, "session_datetime": "2024-05-01 10:00"}
    update = {"key": key, "set": {"notes": "second", "weight": "21.25"}}
    batch = post(editor_client, url(lab), {"rows": [], "updates": [update]}).json()["batch"]
    response = editor_client.post(f"/api/v1/batches/{batch}/undo/")
    assert response.status_code == 200 and response.json()["restored"] == 1
    row = lab.Session().to_dicts()[0]
    assert row["notes"] == "first" and float(row["weight"]) == 20
    batch = post(editor_client, url(lab), {"rows": [], "updates": [update]}).json()["batch"]
    lab.Session.update1({**key, "notes": "by hand"})
    refused = editor_client.post(f"/api/v1/batches/{batch}/undo/")
    assert refused.status_code == 409 and "changed since" in refused.json()["detail"]
    assert lab.Session().to_dicts()[0]["notes"] == "by hand"


# --- concurrency --------------------------------------------------------------------------


def test_concurrent_saves_of_one_key_exactly_one_wins(lab_user, lab, transactional_db):
    """Two clients save the same new key at the same moment: one 201, one 400 naming the
    table (whichever the server lets through first)."""
    results: list = []
    barrier = threading.Barrier(2)

    def save(note):
        client = Client()
        client.force_login(lab_user)
        barrier.wait()
        results.append(post(client, url(lab), {"rows": [session(notes=note)]}))

    threads = [threading.Thread(target=save, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 400], [r.content for r in results]
    loser = next(r for r in results if r.status_code == 400).json()["errors"][0]
    assert lab.Session.full_table_name in loser["message"] and "duplicate" in loser["message"]
    assert len(lab.Session()) == 1


def test_part_rows_added_later_to_a_saved_master(lab_client, lab):
    """A Session saved with its first Trial can be completed later (its master exists)."""
    trial = {"subject_id": 1, "session_datetime": "2024-05-01 10:00", "outcome": "hit"}
    first = {"rows": [session()], "parts": {"Trial": [{**trial, "trial": 1}]}}
    assert post(lab_client, url(lab), first).status_code == 201
    later = post(lab_client, url(lab), {"rows": [], "parts": {"Trial": [{**trial, "trial": 2}]}})
    assert later.status_code == 201, later.content
    assert counts(lab) == (1, 2, 0)
    orphan = {**trial, "session_datetime": "2030-01-01 00:00", "trial": 1}
    refused = post(lab_client, url(lab), {"rows": [], "parts": {"Trial": [orphan]}})
    assert refused.status_code == 400 and errors_of(refused) == [("parts.Trial", 0, None)]
