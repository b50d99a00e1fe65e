"""Login throttling (issue #15 part 1): after LABBOOK_LOGIN_FAILURE_LIMIT failed logins a
client is locked out, even with the right password or a valid API token; by default per user
name and address, so another user (or the same one elsewhere) is not; a success resets the
count; the lock ends after the cool-off."""

from __future__ import annotations

import datetime
import time

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from rest_framework.authtoken.models import Token

from pipeline_core.api.authentication import TOKEN_USERNAME
from pipeline_core.lockout import MESSAGE

LOGIN = "/accounts/login/"
SCHEMAS = "/api/v1/schemas/"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(django_user_model, db):
    return django_user_model.objects.create_user("ada", password=PASSWORD)


def login(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username: str, times: int, address: str = "127.0.0.1") -> None:
    for i in range(times):
        response = login(client, username, "wrong password", address)
        # the form again with its error; the failure that reaches the limit is the lock-out
        expected = 429 if i + 1 >= settings.AXES_FAILURE_LIMIT else 200
        assert response.status_code == expected, i
        assert SESSION_KEY not in client.session


def test_the_settings_limit_and_lock_per_user_and_address():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert datetime.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_the_right_password_after_the_limit_is_refused(client, person):
    fail(client, "ada", settings.AXES_FAILURE_LIMIT)
    response = login(client, "ada", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert response["Retry-After"] == "900"
    assert SESSION_KEY not in client.session
    # not the user elsewhere, nor another user here
    other = client.__class__()
    assert login(other, "ada", PASSWORD, address="10.1.2.3").status_code == 302
    assert SESSION_KEY in other.session


def test_below_the_limit_a_success_resets_the_count(client, person):
    fail(client, "ada", settings.AXES_FAILURE_LIMIT - 1)
    assert login(client, "ada", PASSWORD).status_code == 302
    client.logout()
    fail(client, "ada", settings.AXES_FAILURE_LIMIT - 1)
    assert login(client, "ada", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, person, settings):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(seconds=1)
    fail(client, "ada", settings.AXES_FAILURE_LIMIT)
    assert login(client, "ada", PASSWORD).status_code == 429
    time.sleep(1.2)
    assert login(client, "ada", PASSWORD).status_code == 302


def test_wrong_api_tokens_lock_out_the_address(client, person):
    key = Token.objects.create(user=person).key
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = client.get(SCHEMAS, HTTP_AUTHORIZATION=f"Token wrong{i}")
        # 401 until the failure that reaches the limit, which is answered as the lock-out
        expected = 429 if i + 1 == settings.AXES_FAILURE_LIMIT else 401
        assert response.status_code == expected, response.content
    assert response.json()["detail"] == MESSAGE
    response = client.get(SCHEMAS, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 429
    assert "locked out" in response.json()["detail"]
    assert int(response["Retry-After"]) == 900
    # another address is not locked out
    other = client.get(SCHEMAS, HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200
    # the failures are axes' records, under the token pseudo user name
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.get(username=TOKEN_USERNAME, ip_address="127.0.0.1")
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT


def test_a_valid_token_is_not_a_failure(client, person):
    key = Token.objects.create(user=person).key
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        assert client.get(SCHEMAS, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
