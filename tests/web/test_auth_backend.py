"""LabBook's ``ModelBackend`` (:mod:`pipeline_core.auth_backend`, issue 14): ``get_user``
gives the user Django's backend gives, with its role grants read in the same statement, so
that a logged-in page asks Django's database two things (the session, the user with its
grants) and the role check none; migration 0004 moves stored sessions to it."""

from __future__ import annotations

import types

import pytest
from django.contrib.auth import backends as django_backends
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from pipeline_core import auth_backend, roles
from pipeline_core.models import RoleGrant
from pipeline_core.roles import Role

pytestmark = pytest.mark.django_db

DJANGO = "django.contrib.auth.backends.ModelBackend"
LABBOOK = "pipeline_core.auth_backend.ModelBackend"


@pytest.fixture
def alice(django_user_model):
    """A user with grants of her own and through two groups."""
    user = django_user_model.objects.create_user(username="alice", password="x")
    ephys, imaging = Group.objects.create(name="ephys"), Group.objects.create(name="imaging")
    user.groups.add(ephys, imaging)
    RoleGrant.objects.create(user=user, schema_pattern="lab\\_%", role="viewer")
    RoleGrant.objects.create(group=ephys, schema_pattern="lab\\_e%", role="editor")
    RoleGrant.objects.create(group=imaging, schema_pattern="lab\\_i%", role="operator")
    return user


def test_it_replaces_djangos_model_backend(settings):
    assert LABBOOK in settings.AUTHENTICATION_BACKENDS
    assert DJANGO not in settings.AUTHENTICATION_BACKENDS


def test_the_user_and_its_grants_in_one_query(alice, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = auth_backend.ModelBackend().get_user(alice.pk)
        found = sorted((pattern, str(role)) for pattern, role in roles.grants_of(user))
        decided = roles.role_of(user, "lab_eeg"), roles.role_of(user, "lab_img")
    theirs = django_backends.ModelBackend().get_user(alice.pk)
    assert sorted((pattern, str(role)) for pattern, role in roles.grants_of(theirs)) == found
    assert found == [("lab\\_%", "viewer"), ("lab\\_e%", "editor"), ("lab\\_i%", "operator")]
    assert decided == (Role.EDITOR, Role.OPERATOR)
    # every field as Django's backend reads it (dates with their time zone, booleans)
    fields = [f.attname for f in type(user)._meta.concrete_fields]
    assert [getattr(user, f) for f in fields] == [getattr(theirs, f) for f in fields]
    assert user.is_active is True and user.last_login == theirs.last_login


def test_a_user_without_grants_has_none(django_user_model, django_assert_num_queries):
    bob = django_user_model.objects.create_user(username="bob", password="x")
    with django_assert_num_queries(1):
        user = auth_backend.ModelBackend().get_user(bob.pk)
        assert roles.grants_of(user) == ()
    assert user.pk == bob.pk and user.username == "bob"


def test_unknown_and_inactive_users_are_none(alice):
    backend = auth_backend.ModelBackend()
    assert backend.get_user(alice.pk + 1000) is None
    alice.is_active = False
    alice.save()
    assert backend.get_user(alice.pk) is None


def test_a_logged_in_page_reads_the_grants_with_the_user(client, alice):
    from django.test.utils import CaptureQueriesContext

    client.force_login(alice)
    assert client.session["_auth_user_backend"] == LABBOOK
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/query/").status_code == 200
    sql = [q["sql"] for q in captured.captured_queries]
    assert "django_session" in sql[0]
    assert "labbook_grant_role" in sql[1]  # the user, with its grants
    assert not [s for s in sql if "rolegrant" in s and "labbook_grant_role" not in s], sql


def _migration():
    import importlib

    return importlib.import_module("pipeline_core.migrations.0004_sessions_backend")


def test_migration_moves_stored_sessions_to_it_and_back(alice):
    from django.apps import apps

    made = {}
    for name, data in {
        "django": {"_auth_user_id": str(alice.pk), "_auth_user_backend": DJANGO, "x": 1},
        "other": {"_auth_user_id": str(alice.pk), "_auth_user_backend": "other.Backend"},
        "anonymous": {"cart": [1, 2]},
    }.items():
        store = SessionStore()
        store.update(data)
        store.create()
        made[name] = store.session_key
    editor = types.SimpleNamespace(connection=connection)

    def stored(name):
        return SessionStore(made[name]).load()

    _migration().forwards(apps, editor)
    moved = {"_auth_user_id": str(alice.pk), "_auth_user_backend": LABBOOK, "x": 1}
    assert stored("django") == moved
    assert stored("other")["_auth_user_backend"] == "other.Backend"
    assert stored("anonymous") == {"cart": [1, 2]}
    _migration().backwards(apps, editor)
    assert stored("django")["_auth_user_backend"] == DJANGO
