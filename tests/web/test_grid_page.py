"""The entry grid's page (``web:grid``): served to the entry role and above with its
configuration as JSON (heading, foreign keys, parts, API URLs, what the role allows), a
"Grid" link beside "Add" on Manual/Lookup table pages, 403/404 by role, 409 for tables
whose rows are not entered (Computed), no inline script."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.urls import reverse

from pipeline_core.models import RoleGrant
from pipeline_core.schema_patterns import escape

pytestmark = pytest.mark.integration


def grid_url(cls) -> str:
    return reverse("web:grid", args=[cls.database, cls.table_name])


def config_of(html: str) -> dict:
    found = re.search(
        r'<script id="grid-config" type="application/json">(.*?)</script>', html, re.S
    )
    assert found, "no grid configuration on the page"
    return json.loads(unescape(found.group(1)))


def as_role(client, django_user_model, demo, role: str):
    """``client`` logged in as a new user holding ``role`` on every session schema only."""
    user = django_user_model.objects.create_user(username=f"grid-{role}", password="x")
    prefix = demo.Subject.database[: -len("demo_lab")]
    RoleGrant.objects.create(user=user, schema_pattern=escape(prefix) + "%", role=role)
    client.force_login(user)
    return client


def test_the_grid_page_carries_the_heading_as_json(lab_client, demo):
    response = lab_client.get(grid_url(demo.Session))
    assert response.status_code == 200
    html = response.content.decode()
    config = config_of(html)
    assert config["schema"] == demo.Session.database and config["table"] == "session"
    assert config["primary_key"] == ["subject_id", "session_id"]
    columns = {c["name"]: c for c in config["columns"]}
    assert list(columns) == ["subject_id", "session_id", "session_date", "experimenter", "notes"]
    assert columns["subject_id"]["in_key"] and columns["subject_id"]["family"] == "integer"
    assert columns["session_date"]["family"] == "date"
    assert columns["notes"]["length"] == 1000 and columns["notes"]["comment"] == "free text"
    assert columns["notes"]["default"] == "" and not columns["notes"]["nullable"]
    # one foreign key per parent, with its attribute group and the FK search URL
    fks = config["foreign_keys"]
    assert [fk["attributes"] for fk in fks] == [["subject_id"], ["experimenter"]]
    assert columns["subject_id"]["fk"] == 0 and columns["experimenter"]["fk"] == 1
    assert columns["notes"]["fk"] is None
    assert fks[0]["url"] == reverse(
        "api:fk_choices", args=[demo.Session.database, "session", "subject_id"]
    )
    assert config["rows_url"] == reverse("api:rows", args=[demo.Session.database, "session"])
    assert config["undo_url"].endswith("/batches/{batch}/undo/")
    # the part table, with the master's key it inherits (never picked)
    (trial,) = config["parts"]
    assert trial["part_name"] == "Trial" and trial["inherited"] == ["subject_id", "session_id"]
    assert trial["foreign_keys"] == []
    assert [c["name"] for c in trial["columns"]][-2:] == ["start_time", "stop_time"]
    assert {c["family"] for c in trial["columns"][-2:]} == {"float"}
    # the entry role inserts but neither updates nor deletes
    assert config["can"] == {"insert": True, "update": False, "delete": False, "undo": False}
    # scripts come from static files only (the page gets a CSP)
    assert "grid.js" in html and "tabulator.min.js" in html and "papaparse.min.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert 'id="grid-delete"' not in html


def test_types_enums_and_defaults_in_the_config(staff_client, demo):
    config = config_of(staff_client.get(grid_url(demo.Subject)).content.decode())
    columns = {c["name"]: c for c in config["columns"]}
    assert columns["species"]["family"] == "enum"
    assert columns["species"]["enum"] == ["mouse", "rat", "zebrafish"]
    assert columns["species"]["default"] == "mouse"
    assert columns["date_of_birth"]["nullable"]
    assert columns["subject_name"]["family"] == "text" and columns["subject_name"]["length"] == 64
    assert config["can"] == {"insert": True, "update": True, "delete": True, "undo": True}


def test_compound_and_renamed_foreign_keys_and_read_only_types(staff_client, extra_tables):
    config = config_of(staff_client.get(grid_url(extra_tables.Note)).content.decode())
    columns = {c["name"]: c for c in config["columns"]}
    groups = {fk["index"]: fk["attributes"] for fk in config["foreign_keys"]}
    assert groups[columns["subject_id"]["fk"]] == ["subject_id", "session_id"]
    assert columns["session_id"]["fk"] == columns["subject_id"]["fk"]
    assert groups[columns["reviewer"]["fk"]] == ["reviewer"]
    assert columns["taken_at"]["family"] == "datetime"
    assert columns["meta"]["family"] == "json"
    assert columns["cost"]["family"] == "decimal" and columns["cost"]["scale"] == 3
    assert columns["flag"]["family"] == "bool"
    assert not any(c["read_only"] for c in config["columns"])


def test_blob_attributes_are_read_only(staff_client, demo):
    config = config_of(staff_client.get(grid_url(demo.Image)).content.decode())
    columns = {c["name"]: c for c in config["columns"]}
    assert columns["pixels"]["read_only"]


def test_grid_link_beside_add_on_manual_and_lookup_pages_only(lab_client, demo):
    for cls in (demo.Subject, demo.Experimenter):
        html = lab_client.get(reverse("web:table", args=[cls.database, cls.table_name]))
        html = html.content.decode()
        assert f'href="{grid_url(cls)}"' in html and ">Grid</a>" in html
    html = lab_client.get(
        reverse("web:table", args=[demo.Detection.database, demo.Detection.table_name])
    )
    assert ">Grid</a>" not in html.content.decode()


def test_viewers_see_no_grid_link_and_get_403(client, django_user_model, demo):
    as_role(client, django_user_model, demo, "viewer")
    table = client.get(reverse("web:table", args=[demo.Subject.database, "subject"]))
    assert ">Grid</a>" not in table.content.decode()
    response = client.get(grid_url(demo.Subject))
    assert response.status_code == 403
    assert "viewer" in response.content.decode() and "entry" in response.content.decode()


def test_a_schema_the_user_may_not_view_is_404(client, django_user_model, demo, settings):
    settings.LABBOOK_DEFAULT_ROLE = None
    user = django_user_model.objects.create_user(username="grid-none", password="x")
    client.force_login(user)
    assert client.get(grid_url(demo.Subject)).status_code == 404
    missing = reverse("web:grid", args=[demo.Subject.database, "no_such_table"])
    assert client.get(missing).status_code == 404


def test_visitors_are_sent_to_log_in(client, demo):
    response = client.get(grid_url(demo.Subject))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_computed_and_part_tables_are_409(lab_client, demo):
    response = lab_client.get(
        reverse("web:grid", args=[demo.Detection.database, demo.Detection.table_name])
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Computed table" in html and 'id="grid-config"' not in html
    part = reverse("web:grid", args=[demo.Session.database, "session__trial"])
    assert lab_client.get(part).status_code == 409


def test_post_is_405(lab_client, demo):
    assert lab_client.post(grid_url(demo.Subject)).status_code == 405
