"""GET /api/v1/schemas/<s>/tables/<t>/fk/<attribute>/ on the real server (demo pipeline and
webtest.Note, whose foreign keys are compound (-> Session) and renamed (reviewer)): the
contract's JSON shapes, limit, and 404/400 answers naming what is wrong."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline_core.models import RoleGrant
from pipeline_core.schema_patterns import escape

pytestmark = pytest.mark.integration


def url(cls, attribute: str) -> str:
    return reverse("api:fk_choices", args=[cls.database, cls.table_name, attribute])


def test_renamed_foreign_key_answers_in_child_names(lab_client, extra_tables, demo):
    response = lab_client.get(url(extra_tables.Note, "reviewer"), {"q": "mi"})
    assert response.status_code == 200
    assert response.json() == {
        "attributes": ["reviewer"],
        "parent": demo.Subject.full_table_name,
        "results": [
            {"values": {"reviewer": 1}, "label": "1 · Mickey · mouse"},
            {"values": {"reviewer": 2}, "label": "2 · Minnie · mouse"},
        ],
    }


def test_compound_foreign_key_by_any_of_its_attributes(lab_client, extra_tables, demo):
    first = lab_client.get(url(extra_tables.Note, "subject_id")).json()
    second = lab_client.get(url(extra_tables.Note, "session_id")).json()
    assert first == second
    assert first["attributes"] == ["subject_id", "session_id"]
    assert first["parent"] == demo.Session.full_table_name
    assert first["results"][0] == {
        "values": {"subject_id": 1, "session_id": 1},
        "label": "1 · 1 · 2026-10-05 · ana",
    }
    found = lab_client.get(url(extra_tables.Note, "session_id"), {"q": "2"}).json()["results"]
    # prefix matches of either key attribute, in key order
    values = [r["values"] for r in found]
    assert {"subject_id": 2, "session_id": 1} in values
    assert all("2" in (str(v["subject_id"])[0], str(v["session_id"])[0]) for v in values)
    assert values == sorted(values, key=lambda v: (v["subject_id"], v["session_id"]))


def test_limit(lab_client, demo):
    one = lab_client.get(url(demo.Session, "subject_id"), {"limit": 1}).json()["results"]
    assert one == [{"values": {"subject_id": 1}, "label": "1 · Mickey · mouse"}]
    for bad in ("0", "101", "x"):
        response = lab_client.get(url(demo.Session, "subject_id"), {"limit": bad})
        assert response.status_code == 400
        assert "limit" in response.json()


def test_wildcards_are_literal(lab_client, demo):
    for text in ("%", "_", "M_ckey"):
        response = lab_client.get(url(demo.Session, "subject_id"), {"q": text})
        assert response.json()["results"] == [], text


@pytest.mark.parametrize(
    "attribute, words",
    [
        ("nothing_here", ["has no attribute", "nothing_here"]),
        ("note", ["not part of a foreign key", "note"]),
    ],
)
def test_unknown_or_non_fk_attribute_is_404_naming_table_and_attribute(
    lab_client, extra_tables, attribute, words
):
    response = lab_client.get(url(extra_tables.Note, attribute))
    assert response.status_code == 404
    body = response.json()
    assert body["table"] == extra_tables.Note.full_table_name
    for word in words:
        assert word in body["detail"]


def test_unknown_table_is_404(lab_client, demo):
    response = lab_client.get(
        reverse("api:fk_choices", args=[demo.Subject.database, "nope", "subject_id"])
    )
    assert response.status_code == 404


def test_parent_in_a_schema_the_user_may_not_view_is_404(
    client, django_user_model, settings, extra_tables, demo
):
    settings.LABBOOK_DEFAULT_ROLE = "none"
    user = django_user_model.objects.create_user(username="webtest-only", password="x")
    RoleGrant.objects.create(
        user=user, schema_pattern=escape(extra_tables.Note.database), role="viewer"
    )
    client.force_login(user)
    response = client.get(url(extra_tables.Note, "reviewer"))
    assert response.status_code == 404
    assert demo.Subject.database in response.json()["detail"]
    # the parent's schema itself answers 404 too
    assert client.get(url(demo.Session, "subject_id")).status_code == 404


def test_login_required(client, demo):
    assert client.get(url(demo.Session, "subject_id")).status_code == 401
