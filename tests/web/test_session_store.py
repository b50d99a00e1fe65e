"""LabBook's session store (:mod:`pipeline_core.session_store`, issue 14) reads exactly what
Django's database store reads: the same data for a live session, nothing for an expired,
deleted or unknown one; logging in and out work through it."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.sessions.backends import db as django_db
from django.contrib.sessions.models import Session
from django.utils import timezone

from pipeline_core import session_store

pytestmark = pytest.mark.django_db


def made(data: dict) -> str:
    """A session saved by Django's own store; its key."""
    store = django_db.SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_it_is_the_configured_engine(settings):
    assert settings.SESSION_ENGINE == "pipeline_core.session_store"


def test_reads_what_djangos_store_reads():
    key = made({"a": 1, "b": ["<x>", "é"]})
    ours, theirs = session_store.SessionStore(key), django_db.SessionStore(key)
    assert ours.load() == theirs.load() == {"a": 1, "b": ["<x>", "é"]}
    assert ours.session_key == key


@pytest.mark.parametrize("case", ["expired", "deleted", "unknown", "none"])
def test_no_session_reads_as_empty_and_drops_the_key(case):
    key = made({"a": 1})
    if case == "expired":
        Session.objects.filter(pk=key).update(
            expire_date=timezone.now() - datetime.timedelta(seconds=1)
        )
    elif case == "deleted":
        Session.objects.filter(pk=key).delete()
    elif case == "unknown":
        key = key[::-1]
    else:
        key = None
    ours, theirs = session_store.SessionStore(key), django_db.SessionStore(key)
    assert ours.load() == theirs.load() == {}
    assert ours.session_key is None and theirs.session_key is None


def _log_in(client, user) -> bool:
    """Log in through the login page (the form, as a browser does; django-axes requires the
    request that ``Client.login`` does not pass)."""
    form = {"username": user.username, "password": user.plain_password}
    return client.post("/accounts/login/", form).status_code == 302


def test_login_pages_and_logout_go_through_it(client, lab_user):
    assert _log_in(client, lab_user)
    assert client.get("/").status_code == 200
    key = client.cookies["sessionid"].value
    assert session_store.SessionStore(key).load()["_auth_user_id"] == str(lab_user.pk)
    Session.objects.filter(pk=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.get("/").status_code == 302  # expired: log in again
    assert _log_in(client, lab_user)
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
