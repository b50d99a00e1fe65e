"""API authentication: tokens (``Authorization: Token <key>``) and sessions with CSRF; no
HTTP Basic. Tokens are made, rotated and revoked by ``manage.py api_token`` (and by users on
their page, tests/web/test_account_token.py)."""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import get_resolver
from rest_framework.authtoken.models import Token

from pipeline_core.api import tokens
from pipeline_core.api.urls import DESCRIPTION_URLS
from pipeline_core.api.views import PipelineAPIView

SCHEMAS = "/api/v1/schemas/"
QUERY = "/api/v1/query/"


def token_header(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def query(client: Client, description: dict, **headers):
    return client.post(QUERY, json.dumps(description), content_type="application/json", **headers)


def subject_query(demo) -> dict:
    return {"from": {"schema": demo.Subject.database, "table": "Subject"}}


def test_settings_name_token_then_session_and_no_basic():
    classes = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert classes == [
        "pipeline_core.api.authentication.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
    assert "rest_framework.authtoken" in settings.INSTALLED_APPS


def test_every_api_view_is_a_pipeline_view_with_the_default_authentication():
    """No view opts out of the base class (where roles plug in) or brings Basic back."""
    api = get_resolver().url_patterns
    (api_include,) = [p for p in api if getattr(p, "namespace", None) == "api"]
    views = {
        p.name: p.callback.view_class
        for p in api_include.url_patterns
        if p.name not in DESCRIPTION_URLS
    }
    assert {"schemas", "query"} <= set(views)
    for name, view in views.items():
        assert issubclass(view, PipelineAPIView), name
        names = [type(auth).__name__ for auth in view().get_authenticators()]
        assert names == ["ThrottledTokenAuthentication", "SessionAuthentication"], name


@pytest.mark.integration
def test_a_token_authenticates_without_csrf(demo, lab_user):
    key = tokens.issue_token(lab_user)[0].key
    client = Client(enforce_csrf_checks=True)
    response = client.get(SCHEMAS, **token_header(key))
    assert response.status_code == 200, response.content
    assert demo.Subject.database in {s["name"] for s in response.json()}
    response = query(client, subject_query(demo), **token_header(key))
    assert response.status_code == 200, response.content
    assert len(response.json()["rows"]) == len(demo.Subject())


@pytest.mark.django_db
def test_without_credentials_401_with_a_token_challenge():
    response = Client().get(SCHEMAS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.django_db
def test_basic_authentication_is_refused(lab_user):
    """The right user name and password over HTTP Basic: 401, and the challenge names
    Token, not Basic."""
    credentials = base64.b64encode(f"lab:{lab_user.plain_password}".encode()).decode()
    response = Client().get(SCHEMAS, HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "rows" not in response.json()


@pytest.mark.integration
def test_session_post_needs_its_csrf_token(demo, lab_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lab_user)
    assert client.get(SCHEMAS).status_code == 200  # safe methods need no CSRF token
    refused = query(client, subject_query(demo))
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get("/account/token/")  # any page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    accepted = query(client, subject_query(demo), HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 200, accepted.content


@pytest.mark.django_db
def test_revoked_rotated_unknown_and_inactive_users_tokens_are_refused(lab_user):
    client = Client()
    old = tokens.issue_token(lab_user)[0].key
    assert client.get(SCHEMAS, **token_header("0" * 40)).json() == {"detail": "Invalid token."}
    new, made = tokens.issue_token(lab_user, rotate=True)
    assert made and new.key != old
    assert client.get(SCHEMAS, **token_header(old)).status_code == 401
    assert tokens.revoke_token(lab_user) is True
    assert tokens.revoke_token(lab_user) is False
    response = client.get(SCHEMAS, **token_header(new.key))
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    inactive = tokens.issue_token(lab_user)[0].key
    lab_user.is_active = False
    lab_user.save()
    response = client.get(SCHEMAS, **token_header(inactive))
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


@pytest.mark.django_db
def test_issue_token_keeps_a_token_unless_rotated(lab_user):
    first, made = tokens.issue_token(lab_user)
    again, made_again = tokens.issue_token(lab_user)
    assert made and not made_again and again.key == first.key
    assert tokens.token_of(lab_user).key == first.key
    assert tokens.key_hint(first) == first.key[:6] + "…"


@pytest.mark.django_db
def test_api_token_command(lab_user, capsys):
    call_command("api_token", "lab")
    out, err = capsys.readouterr()
    key = out.strip()
    assert Token.objects.get(user=lab_user).key == key and "made" in err
    call_command("api_token", "lab")
    assert capsys.readouterr().out.strip() == key  # shown again, not replaced
    call_command("api_token", "lab", "--rotate")
    rotated = capsys.readouterr().out.strip()
    assert rotated != key and Token.objects.get(user=lab_user).key == rotated
    call_command("api_token", "lab", "--revoke")
    out, err = capsys.readouterr()
    assert out == "" and "revoked" in err
    assert not Token.objects.filter(user=lab_user).exists()
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("api_token", "nobody")
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("api_token", "lab", "--rotate", "--revoke")


@pytest.mark.integration
def test_json_with_a_lone_surrogate_is_a_400_not_a_500(lab_client, demo):
    """``"\\ud800"`` parses to a Python string no database can take (found while fuzzing
    the API): refused by the parser with the parse error's shape."""
    text = json.dumps(
        {
            "from": {"schema": demo.Subject.database, "table": "Subject"},
            "where": {"attribute": "subject_name", "operator": "=", "value": "\ud800"},
        }
    )
    assert "\\ud800" in text
    response = lab_client.post(QUERY, data=text, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error", "path"} and body["path"] == ""
    assert "lone surrogate" in body["error"] and "\\ud800" in body["error"]
    # a surrogate pair is one character, and fine
    pair = json.dumps(
        {
            "from": {"schema": demo.Subject.database, "table": "Subject"},
            "where": {"attribute": "subject_name", "operator": "=", "value": "😀"},
        }
    )
    assert lab_client.post(QUERY, data=pair, content_type="application/json").status_code == 200
