"""Entry forms: widgets from declared types, foreign keys as searchable pickers,
master + part rows in one transaction, errors beside their fields, nothing on error."""

from __future__ import annotations

import datetime
import json
import re
from html import unescape

import pytest
from django.urls import reverse

from pipeline_core.web.keys import encode_key

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


def fk_picker(html: str, name: str) -> dict:
    """The search URL and columns of the foreign-key picker whose key input is ``name``."""
    match = re.search(
        rf'<div class="fk-picker" data-fk-url="([^"]+)" data-fk-columns="([^"]+)">'
        rf'<input type="hidden" name="{re.escape(name)}"',
        html,
    )
    assert match, name
    return {"url": unescape(match.group(1)), "columns": json.loads(unescape(match.group(2)))}


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


def test_more_widgets_and_fk_pickers(lab_client, demo, extra_tables):
    html = lab_client.get(entry_url(extra_tables.Note)).content.decode()
    assert 'step="any"' in tag(html, "score")
    assert 'type="checkbox"' in tag(html, "flag")
    assert 'type="datetime-local"' in tag(html, "taken_at")
    assert tag(html, "meta").startswith("<textarea")
    assert 'step="0.001"' in tag(html, "cost")
    # the compound foreign key to Session is ONE picker filling both columns, searching
    # the parent through the API by any of its attributes
    picker = fk_picker(html, "fk_subject_id__session_id")
    assert picker["url"] == reverse(
        "api:fk_choices", args=[extra_tables.Note.database, "note", "subject_id"]
    )
    assert picker["columns"] == ["subject_id", "session_id"]
    assert "required" in tag(html, "fk_subject_id__session_id__text")
    # the renamed foreign key maps subject_id -> reviewer, and is optional (nullable)
    assert fk_picker(html, "fk_reviewer")["columns"] == ["reviewer"]
    assert "required" not in tag(html, "fk_reviewer__text")
    assert "<select" not in html.split('name="fk_reviewer"')[0][-300:]


def test_session_form_has_pickers_for_subjects_and_experimenters(lab_client, demo):
    html = lab_client.get(entry_url(demo.Session)).content.decode()
    for name in ("fk_subject_id", "fk_experimenter"):
        text = tag(html, name + "__text")
        assert 'role="combobox"' in text and 'aria-autocomplete="list"' in text
        assert f'id="id_{name}"' in text and f'<label for="id_{name}">' in html  # labelled
    assert 'name="part0-TOTAL_FORMS"' in html and 'name="part0-0-trial_id"' in html


def test_fk_text_without_a_choice_is_resolved_on_the_server(lab_client, demo):
    session_id = next_id(demo.Session & {"subject_id": 2}, "session_id")
    base = {"session_id": str(session_id), "session_date": "2026-11-02", "notes": ""}
    base.update({"part0-TOTAL_FORMS": "0", "part0-INITIAL_FORMS": "0"})
    # a name naming one parent row, typed without choosing from the list
    data = dict(base, fk_subject_id__text="minnie", fk_experimenter__text="Ben Okafor")
    response = lab_client.post(entry_url(demo.Session), data)
    assert response.status_code == 302, field_errors(response.content.decode())
    row = (demo.Session & {"subject_id": 2, "session_id": session_id}).fetch1()
    assert row["experimenter"] == "ben"
    # a text naming no parent is an error beside the picker, nothing inserted
    data = dict(base, session_id=str(session_id + 1), fk_subject_id__text="nobody at all")
    data["fk_experimenter"] = encode_key({"experimenter": "ana"})
    html = lab_client.post(entry_url(demo.Session), data).content.decode()
    assert "No Subject matches “nobody at all”" in field_errors(html)["fk_subject_id"][0]
    assert not demo.Session & {"subject_id": 2, "session_id": session_id + 1}
    # the text typed stays in the picker, the choice made keeps its label
    assert 'value="nobody at all"' in tag(html, "fk_subject_id__text")
    assert 'value="ana · Ana Ruiz"' in tag(html, "fk_experimenter__text")


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
