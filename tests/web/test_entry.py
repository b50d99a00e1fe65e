"""Entry forms: widgets from declared types, foreign keys as dropdowns of parent keys,
master + part rows in one transaction, errors beside their fields, nothing on error."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse

from pipeline_core.web.keys import decode_key

pytestmark = pytest.mark.integration


def entry_url(cls) -> str:
    return reverse("web:entry", args=[cls.database, cls.table_name])


def next_id(table, attribute: str) -> int:
    values = (table() if isinstance(table, type) else table).fetch(attribute)
    return max(values, default=0) + 1


def tag(html: str, name: str) -> str:
    """The opening tag of the form control named ``name``."""
    match = re.search(rf'<(input|select|textarea)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, name
    return match.group(0)


def options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(
        rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S
    ).group(1)
    found = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    return [(unescape(v), unescape(t)) for v, t in found]


def part_rows(html: str) -> list[str]:
    """The part rows of the form (not the blank row kept in <template>)."""
    html = re.sub(r"<template.*?</template>", "", html, flags=re.S)
    return re.findall(r'<tr class="part-row">.*?</tr>', html, re.S)


def field_errors(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in re.findall(
        r'<p class="error field-error"[^>]*data-field="([^"]+)">([^<]*)</p>', html
    ):
        found.setdefault(name, []).append(unescape(text))
    return found


def test_widgets_follow_declared_types_with_defaults(lab_client, demo):
    html = lab_client.get(entry_url(demo.Subject)).content.decode()
    assert 'type="number"' in tag(html, "subject_id") and 'step="1"' in tag(html, "subject_id")
    assert "required" in tag(html, "subject_id")
    assert 'maxlength="64"' in tag(html, "subject_name")
    assert [v for v, _ in options(html, "species")] == ["mouse", "rat", "zebrafish"]
    assert re.search(r'<option value="mouse"[^>]*selected', html)  # default pre-filled
    assert re.search(r'<option value="U"[^>]*selected', html)
    dob = tag(html, "date_of_birth")
    assert 'type="date"' in dob and "required" not in dob  # nullable: may be left empty


def test_more_widgets_and_fk_dropdowns(lab_client, demo, extra_tables):
    html = lab_client.get(entry_url(extra_tables.Note)).content.decode()
    assert 'step="any"' in tag(html, "score")
    assert 'type="checkbox"' in tag(html, "flag")
    assert 'type="datetime-local"' in tag(html, "taken_at")
    assert tag(html, "meta").startswith("<textarea")
    assert 'step="0.001"' in tag(html, "cost")
    # the compound foreign key to Session is ONE dropdown filling both columns
    sessions = demo.Session().keys(order_by="KEY")
    offered = [
        (decode_key(v), label) for v, label in options(html, "fk_subject_id__session_id") if v
    ]
    assert [key for key, _ in offered] == sessions
    assert (
        offered[0][1]
        == f"subject_id={sessions[0]['subject_id']} · session_id={sessions[0]['session_id']}"
    )
    # the renamed foreign key maps subject_id -> reviewer, and is optional (nullable)
    reviewers = [decode_key(v) for v, _ in options(html, "fk_reviewer") if v]
    assert reviewers == [{"reviewer": k["subject_id"]} for k in demo.Subject().keys(order_by="KEY")]
    assert "required" not in tag(html, "fk_reviewer")


def test_session_form_offers_existing_subjects_and_experimenters(lab_client, demo):
    html = lab_client.get(entry_url(demo.Session)).content.decode()
    subjects = [decode_key(v) for v, _ in options(html, "fk_subject_id") if v]
    assert subjects == demo.Subject().keys(order_by="KEY")
    experimenters = [label for v, label in options(html, "fk_experimenter") if v]
    names = demo.Experimenter().fetch("experimenter", order_by="KEY")
    assert experimenters == [f"experimenter={e}" for e in names]
    assert 'name="part0-TOTAL_FORMS"' in html and 'name="part0-0-trial_id"' in html


def test_entry_form_inserts_a_subject(lab_client, demo):
    subject_id = next_id(demo.Subject, "subject_id")
    response = lab_client.post(
        entry_url(demo.Subject),
        {
            "subject_id": str(subject_id),
            "subject_name": "Web Mouse",
            "species": "rat",
            "sex": "F",
            "date_of_birth": "2026-05-04",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "web:table", args=[demo.Subject.database, demo.Subject.table_name]
    )
    row = (demo.Subject & {"subject_id": subject_id}).fetch1()
    assert row == {
        "subject_id": subject_id,
        "subject_name": "Web Mouse",
        "species": "rat",
        "sex": "F",
        "date_of_birth": datetime.date(2026, 5, 4),
    }
    page = lab_client.get(response["Location"]).content.decode()
    assert f"Inserted Subject subject_id={subject_id}" in page


def test_bad_date_is_shown_beside_its_field_and_nothing_is_inserted(lab_client, demo):
    before = len(demo.Subject())
    subject_id = next_id(demo.Subject, "subject_id")
    response = lab_client.post(
        entry_url(demo.Subject),
        {
            "subject_id": str(subject_id),
            "subject_name": "Bad Date",
            "species": "mouse",
            "sex": "U",
            "date_of_birth": "2026-02-30",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    errors = field_errors(html)
    assert list(errors) == ["date_of_birth"] and "2026-02-30" in errors["date_of_birth"][0]
    assert 'value="Bad Date"' in tag(html, "subject_name")  # the user's values are kept
    assert 'value="2026-02-30"' in tag(html, "date_of_birth")
    assert len(demo.Subject()) == before
    assert not demo.Subject & {"subject_id": subject_id}


def _session_post(demo, subject_id: int, session_id: int, trials: list[dict]) -> dict:
    from pipeline_core.web.keys import encode_key

    data = {
        "fk_subject_id": encode_key({"subject_id": subject_id}),
        "session_id": str(session_id),
        "session_date": "2026-11-02",
        "fk_experimenter": encode_key({"experimenter": "ben"}),
        "notes": "from the web",
        "part0-TOTAL_FORMS": str(len(trials)),
        "part0-INITIAL_FORMS": "0",
        "part0-MIN_NUM_FORMS": "0",
        "part0-MAX_NUM_FORMS": "1000",
    }
    for i, trial in enumerate(trials):
        data.update({f"part0-{i}-{k}": v for k, v in trial.items()})
    return data


def test_session_and_its_trials_go_in_together(lab_client, demo):
    subject_id = demo.Subject().keys(order_by="KEY")[0]["subject_id"]
    session_id = next_id(demo.Session & {"subject_id": subject_id}, "session_id")
    trials = [
        {"trial_id": "1", "start_time": "0", "stop_time": "4.5"},
        {"trial_id": "2", "start_time": "5", "stop_time": "9.25"},
        {"trial_id": "", "start_time": "", "stop_time": ""},
    ]  # a blank row is ignored
    response = lab_client.post(
        entry_url(demo.Session), _session_post(demo, subject_id, session_id, trials)
    )
    assert response.status_code == 302
    key = {"subject_id": subject_id, "session_id": session_id}
    assert (demo.Session & key).fetch1("experimenter", "notes") == ("ben", "from the web")
    rows = (demo.Session.Trial & key).to_dicts(order_by="KEY")
    assert [(r["trial_id"], r["start_time"], r["stop_time"]) for r in rows] == [
        (1, 0.0, 4.5),
        (2, 5.0, 9.25),
    ]


def test_invalid_second_trial_inserts_neither_session_nor_trials(lab_client, demo):
    subject_id = demo.Subject().keys(order_by="KEY")[-1]["subject_id"]
    session_id = next_id(demo.Session & {"subject_id": subject_id}, "session_id")
    counts = (len(demo.Session()), len(demo.Session.Trial()))
    trials = [
        {"trial_id": "1", "start_time": "0", "stop_time": "4"},
        {"trial_id": "2", "start_time": "five", "stop_time": "9"},
    ]
    response = lab_client.post(
        entry_url(demo.Session), _session_post(demo, subject_id, session_id, trials)
    )
    assert response.status_code == 200
    html = response.content.decode()
    rows = part_rows(html)
    assert len(rows) == 2
    assert 'data-field="start_time"' not in rows[0]
    assert re.search(r'data-field="start_time">[^<]*five', rows[1])  # beside that row's field
    assert (len(demo.Session()), len(demo.Session.Trial())) == counts


def test_a_refusal_by_the_server_inside_the_transaction_rolls_everything_back(lab_client, demo):
    subject_id = demo.Subject().keys(order_by="KEY")[0]["subject_id"]
    session_id = next_id(demo.Session & {"subject_id": subject_id}, "session_id")
    counts = (len(demo.Session()), len(demo.Session.Trial()))
    trials = [
        {"trial_id": "7", "start_time": "0", "stop_time": "1"},
        {"trial_id": "7", "start_time": "2", "stop_time": "3"},
    ]  # duplicate key: refused by the server
    response = lab_client.post(
        entry_url(demo.Session), _session_post(demo, subject_id, session_id, trials)
    )
    assert response.status_code == 200
    rows = part_rows(response.content.decode())
    assert "already exists" in rows[1] and "already exists" not in rows[0]
    assert (len(demo.Session()), len(demo.Session.Trial())) == counts
    assert not demo.Session & {"subject_id": subject_id, "session_id": session_id}


def test_compound_and_renamed_foreign_keys_fill_their_columns(lab_client, demo, extra_tables):
    from pipeline_core.web.keys import encode_key

    session = demo.Session().keys(order_by="KEY")[-1]
    reviewer = demo.Subject().keys(order_by="KEY")[0]["subject_id"]
    note_id = next_id(extra_tables.Note, "note_id")
    response = lab_client.post(
        entry_url(extra_tables.Note),
        {
            "fk_subject_id__session_id": encode_key(session),
            "note_id": str(note_id),
            "fk_reviewer": encode_key({"reviewer": reviewer}),
            "note": "fine",
            "score": "0.5",
            "flag": "on",
            "taken_at": "2026-11-02T10:30",
            "meta": '{"a": [1, 2]}',
            "cost": "12.125",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = (extra_tables.Note & dict(session, note_id=note_id)).fetch1()
    assert row["reviewer"] == reviewer and row["flag"] == 1 and row["meta"] == {"a": [1, 2]}
    assert (
        row["taken_at"] == datetime.datetime(2026, 11, 2, 10, 30) and float(row["cost"]) == 12.125
    )


def test_bad_json_and_duplicate_key_errors(lab_client, demo, extra_tables):
    from pipeline_core.web.keys import encode_key

    session = demo.Session().keys(order_by="KEY")[0]
    data = {
        "fk_subject_id__session_id": encode_key(session),
        "note_id": "1",
        "note": "x",
        "meta": "{nope",
    }
    html = lab_client.post(entry_url(extra_tables.Note), data).content.decode()
    assert list(field_errors(html)) == ["meta"]
    count = len(extra_tables.Note())
    data["meta"] = ""
    if not extra_tables.Note & dict(session, note_id=1):
        assert lab_client.post(entry_url(extra_tables.Note), data).status_code == 302
        count += 1
    html = lab_client.post(entry_url(extra_tables.Note), data).content.decode()
    assert "already exists" in re.search(r'<div class="errors"[^>]*>(.*?)</div>', html, re.S).group(
        1
    )
    assert len(extra_tables.Note()) == count


def test_required_blob_means_no_form(lab_client, demo):
    response = lab_client.get(entry_url(demo.Image))
    html = response.content.decode()
    assert "pixels" in html and "cannot be entered" in html
    assert 'id="entry-form"' not in html
    image_page = reverse("web:table", args=[demo.Image.database, demo.Image.table_name])
    page = lab_client.get(image_page).content.decode()
    assert entry_url(demo.Image) not in page and "No entry form" in page
    assert (
        entry_url(demo.Subject)
        in lab_client.get(
            reverse("web:table", args=[demo.Subject.database, demo.Subject.table_name])
        ).content.decode()
    )


def test_no_entry_into_computed_or_part_tables(lab_client, demo):
    assert lab_client.get(entry_url(demo.Detection)).status_code == 409
    assert lab_client.post(entry_url(demo.Session.Trial), {}).status_code == 409


def test_lookup_tables_whose_names_start_with_hash_work(lab_client, demo):
    page = reverse("web:table", args=[demo.Experimenter.database, demo.Experimenter.table_name])
    assert "%23" in page
    html = lab_client.get(page).content.decode()
    assert f'href="{entry_url(demo.Experimenter)}"' in html
    name = f"web{len(demo.Experimenter())}"
    response = lab_client.post(
        entry_url(demo.Experimenter), {"experimenter": name, "full_name": "Web User"}
    )
    assert response.status_code == 302 and response["Location"] == page
    assert (demo.Experimenter & {"experimenter": name}).fetch1("full_name") == "Web User"
