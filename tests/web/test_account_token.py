"""The user's API token page (/account/token/): make, replace and revoke one's own token by
POST with the CSRF token; the key is shown once, in the answer that made it."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

URL = "/account/token/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(lab_user) -> Client:
    """A logged-in client that checks CSRF tokens, as a browser's requests are checked."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(lab_user)
    return client


def post(client: Client, action: str, csrf: bool = True):
    if not csrf:
        return client.post(URL, {"action": action})
    client.get(URL)
    return client.post(
        URL, {"action": action, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )


def test_login_required():
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Client().post(URL, {"action": "new"}).status_code == 302
    assert not Token.objects.exists()


def test_make_show_once_replace_and_revoke(browser, lab_user, admin_user):
    page = browser.get(URL)
    assert page.status_code == 200 and "You have no token." in page.content.decode()
    assert "no-store" in page["Cache-Control"]

    made = post(browser, "new")
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    key = Token.objects.get(user=lab_user).key
    text = made.content.decode()
    assert key in text and "not shown again" in text
    assert f"Authorization: Token {key}" in text

    again = browser.get(URL).content.decode()
    assert key not in again and key[:6] + "…" in again

    replaced = post(browser, "new").content.decode()
    new_key = Token.objects.get(user=lab_user).key
    assert new_key != key and new_key in replaced and key not in replaced
    api = Client()
    assert api.get("/api/v1/schemas/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401

    other = Token.objects.create(user=admin_user)
    revoked = post(browser, "revoke")
    assert revoked.status_code == 302 and revoked["Location"] == URL
    assert not Token.objects.filter(user=lab_user).exists()
    assert Token.objects.filter(key=other.key).exists()  # only one's own token
    assert "Your API token was revoked." in browser.get(URL).content.decode()


def test_posts_without_csrf_token_are_refused(browser, lab_user):
    assert post(browser, "new", csrf=False).status_code == 403
    assert not Token.objects.filter(user=lab_user).exists()


def test_an_unknown_action_is_a_400(browser, lab_user):
    response = post(browser, "steal")
    assert response.status_code == 400 and "Unknown action" in response.content.decode()
    assert not Token.objects.filter(user=lab_user).exists()
