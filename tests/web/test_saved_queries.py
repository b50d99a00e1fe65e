"""Saved queries through the web (issue #14): saved, renamed, replaced, shared and deleted by
their owner only, each write audited; private ones are seen by their owner alone, shared ones
by the lab, and none by a user who may not view every schema the query reads; listed on the
home page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pipeline_core.models import RoleGrant, SavedQuery
from pipeline_core.querystate import decode_description, encode_description
from pipeline_core.schema_patterns import escape

from .test_audit_trail import newest_id, since

pytestmark = pytest.mark.integration


def source(cls) -> dict:
    return {"schema": cls.database, "table": cls.table_name}


def save(client, description, name, shared=False):
    data = {"q": encode_description(description), "name": name}
    if shared:
        data["shared"] = "1"
    return client.post(reverse("web:query_save"), data)


def act(client, saved, **data):
    return client.post(reverse("web:saved_query", args=[saved.pk]), data)


@pytest.fixture
def other(client, django_user_model, demo):
    """A second client, logged in as ``other`` with the viewer role on the demo schemas."""
    from django.test import Client

    user = django_user_model.objects.create_user("other", password="x")
    for database in (demo.Session.database, demo.Image.database):
        RoleGrant.objects.create(user=user, schema_pattern=escape(database), role="viewer")
    second = Client()
    second.force_login(user)
    return second


def test_save_rename_replace_share_delete_audited(lab_client, lab_user, demo, settings):
    settings.LABBOOK_DEFAULT_ROLE = None
    description = {
        "from": source(demo.Session),
        "where": {"attribute": "notes", "operator": "like", "value": "%base%"},
        "limit": 10,
        "after": {"subject_id": 1, "session_id": 1},
    }
    first = newest_id()
    response = save(lab_client, description, "  baseline   sessions ")
    assert response.status_code == 302
    saved = SavedQuery.objects.get(owner=lab_user)
    assert saved.name == "baseline sessions" and not saved.shared
    assert saved.description == {k: v for k, v in description.items() if k != "after"}
    location = response["Location"]
    assert f"saved={saved.pk}" in location
    assert decode_description(location.split("q=")[1].split("&")[0]) == saved.description
    page = lab_client.get(location)
    assert page.status_code == 200
    assert (
        "Keep this query" in page.content.decode() and "baseline sessions" in page.content.decode()
    )
    home = lab_client.get(reverse("web:home"))
    assert reverse("web:saved_query", args=[saved.pk]) in home.content.decode()

    assert act(lab_client, saved, action="rename", name="Baseline").status_code == 302
    other_description = {"from": source(demo.Subject)}
    replaced = act(lab_client, saved, action="replace", q=encode_description(other_description))
    assert replaced.status_code == 302
    assert act(lab_client, saved, action="share").status_code == 302
    saved.refresh_from_db()
    assert (saved.name, saved.description, saved.shared) == ("Baseline", other_description, True)
    assert act(lab_client, saved, action="delete").status_code == 302
    assert not SavedQuery.objects.filter(pk=saved.pk).exists()

    events = since(first, actor="lab")
    assert [e["action"] for e in events] == [
        "saved_query_create",
        "saved_query_rename",
        "saved_query_replace",
        "saved_query_share",
        "saved_query_delete",
    ]
    assert all(e["changes"]["id"] == saved.pk and e["source"] == "web" for e in events)
    assert events[1]["changes"]["name"] == ["baseline sessions", "Baseline"]
    assert events[3]["changes"]["shared"] == [False, True]


def test_only_the_owner_changes_and_others_see_shared_ones_only(lab_client, lab_user, demo, other):
    private = save(lab_client, {"from": source(demo.Session)}, "mine")
    shared = save(lab_client, {"from": source(demo.Subject)}, "ours", shared=True)
    assert private.status_code == shared.status_code == 302
    mine = SavedQuery.objects.get(name="mine")
    ours = SavedQuery.objects.get(name="ours")
    first = newest_id()
    assert other.get(reverse("web:saved_query", args=[mine.pk])).status_code == 404
    assert act(other, mine, action="delete").status_code == 404
    assert other.get(reverse("web:saved_query", args=[ours.pk])).status_code == 302
    for action in ("rename", "delete", "unshare"):
        assert act(other, ours, action=action, name="theirs").status_code == 403
    assert since(first) == []
    with CaptureQueriesContext(connection) as captured:
        home = other.get(reverse("web:home")).content.decode()
    assert "ours" in home and reverse("web:saved_query", args=[mine.pk]) not in home
    assert f"by {lab_user.username}</span>" in home  # the owner's name, from the same query
    read = [q["sql"] for q in captured.captured_queries if "savedquery" in q["sql"]]
    assert len(read) == 1 and "owner_name" in read[0], read
    assert SavedQuery.objects.filter(pk__in=[mine.pk, ours.pk]).count() == 2


def test_a_shared_query_is_hidden_from_who_may_not_view_its_schemas(
    lab_client, demo, other, settings
):
    settings.LABBOOK_DEFAULT_ROLE = None
    description = {
        "from": source(demo.Session),
        "where": {"matching": source(demo.Image)},
    }
    assert save(lab_client, description, "imaged", shared=True).status_code == 302
    saved = SavedQuery.objects.get(name="imaged")
    assert other.get(reverse("web:saved_query", args=[saved.pk])).status_code == 302
    RoleGrant.objects.filter(
        user__username="other", schema_pattern=escape(demo.Image.database)
    ).delete()
    assert other.get(reverse("web:saved_query", args=[saved.pk])).status_code == 404
    assert "imaged" not in other.get(reverse("web:home")).content.decode()


def test_bad_saves_are_shown_with_their_error(lab_client, demo):
    first = newest_id()
    response = save(
        lab_client,
        {"from": source(demo.Session), "where": {"attribute": "x", "operator": "=", "value": 1}},
        "bad",
    )
    assert response.status_code == 400 and b'data-path="where.attribute"' in response.content
    assert save(lab_client, {"from": source(demo.Session)}, "   ").status_code == 400
    assert save(lab_client, {"from": source(demo.Session)}, "twice").status_code == 302
    again = save(lab_client, {"from": source(demo.Subject)}, "twice")
    assert again.status_code == 400 and "already have a saved query" in again.content.decode()
    assert SavedQuery.objects.filter(name="twice").count() == 1
    assert [e["action"] for e in since(first)] == ["saved_query_create"]


def test_visitors_cannot_save(db, client, demo, settings):
    settings.LABBOOK_ANONYMOUS_ROLE = "viewer"
    response = save(client, {"from": source(demo.Session)}, "anon")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SavedQuery.objects.filter(name="anon").exists()
    page = client.get(
        reverse("web:query") + "?q=" + encode_description({"from": source(demo.Session)})
    )
    assert page.status_code == 200 and "Log in</a> to save queries" in page.content.decode()
