"""The test infrastructure itself works against the real services."""

from __future__ import annotations

import os
import stat

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from labbook import settings as settings_module


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 3306)),
        ("db.example.org:3307", ("db.example.org", 3307)),
        ("[::1]:3308", ("::1", 3308)),
        ("::1", ("::1", 3306)),
    ],
)
def test_dj_host_parsing(value, expected):
    assert settings_module._parse_host_port(value) == expected


def test_settings_shape(dj_params):
    assert set(settings.LABBOOK_PIPELINE_DB) == {"host", "port", "user", "password"}
    assert dj_params == settings.LABBOOK_PIPELINE_DB
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert "django_htmx.middleware.HtmxMiddleware" in settings.MIDDLEWARE
    assert isinstance(settings.LABBOOK_STORES, dict)


@pytest.mark.integration
def test_pipeline_prefix_databases_are_created_and_dropped(pipeline_prefix, dj_params, dj_connect):
    from tests.conftest import drop_prefixed_databases, list_prefixed_databases

    assert pipeline_prefix.startswith("lbt_") and pipeline_prefix.endswith("_")
    assert pipeline_prefix == settings.LABBOOK_SCHEMA_PREFIX
    assert os.environ["LABBOOK_SCHEMA_PREFIX"] == pipeline_prefix

    conn = dj_connect()
    try:
        with conn.cursor() as cur:
            # kept until the end of the session, dropped by the fixture's teardown
            cur.execute(f"CREATE DATABASE `{pipeline_prefix}infra`")
            # two databases linked by a cross-database foreign key, dropped right now
            cur.execute(f"CREATE DATABASE `{pipeline_prefix}tmp_a`")
            cur.execute(f"CREATE DATABASE `{pipeline_prefix}tmp_b`")
            cur.execute(
                f"CREATE TABLE `{pipeline_prefix}tmp_a`.`p` (id INT PRIMARY KEY) ENGINE=InnoDB"
            )
            cur.execute(
                f"CREATE TABLE `{pipeline_prefix}tmp_b`.`c` (id INT PRIMARY KEY, "
                f"FOREIGN KEY (id) REFERENCES `{pipeline_prefix}tmp_a`.`p` (id)) ENGINE=InnoDB"
            )
    finally:
        conn.close()

    created = {f"{pipeline_prefix}{name}" for name in ("infra", "tmp_a", "tmp_b")}
    assert created <= set(list_prefixed_databases(dj_params, pipeline_prefix))
    dropped = drop_prefixed_databases(dj_params, f"{pipeline_prefix}tmp_")
    assert dropped == [f"{pipeline_prefix}tmp_a", f"{pipeline_prefix}tmp_b"]
    remaining = set(list_prefixed_databases(dj_params, pipeline_prefix))
    assert f"{pipeline_prefix}infra" in remaining and not remaining & set(dropped)


@pytest.mark.worker
def test_celery_worker_answers_ping_and_runs_tasks(celery_worker):
    from labbook.celery import app

    replies = app.control.ping(destination=[celery_worker["name"]], timeout=5.0)
    assert replies and celery_worker["name"] in replies[0]
    assert app.conf.task_default_queue == celery_worker["queue"]
    assert celery_worker["queue"] == settings.CELERY_TASK_DEFAULT_QUEUE
    # a built-in task makes the full round trip: test process -> Redis -> worker -> result
    result = app.send_task("celery.accumulate", args=(7, "x"))
    assert result.get(timeout=30) == [7, "x"]


@pytest.mark.browser
def test_browser_logs_in_and_reaches_home(page, live_server, admin_user, browser_login):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # anonymous users are sent to the login page
    assert page.locator("h1").inner_text() == "Log in"
    browser_login(page, admin_user)
    assert page.url == f"{live_server.url}/"
    assert "admin" in page.locator(".account .user").inner_text()
    # htmx is served locally (no CDN) and loaded
    assert page.evaluate("typeof window.htmx") == "object"
    # logging out is a POST form
    page.click(".account button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url


@pytest.mark.browser
def test_wrong_password_shows_error(page, live_server, lab_user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lab")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".errors").is_visible()


def test_ensure_admin_is_idempotent(db, settings, tmp_path, monkeypatch, capsys):
    settings.BASE_DIR = tmp_path
    monkeypatch.delenv("LABBOOK_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("LABBOOK_ADMIN_USER", "boss")
    User = get_user_model()

    call_command("ensure_admin")
    secret_file = tmp_path / "var" / "admin-password.txt"
    generated = secret_file.read_text().strip()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert generated in capsys.readouterr().out
    user = User.objects.get(username="boss")
    assert user.is_superuser and user.is_staff and user.check_password(generated)

    call_command("ensure_admin")  # exists, no password given: unchanged, says where it is
    assert str(secret_file) in capsys.readouterr().out
    assert User.objects.get(username="boss").check_password(generated)

    monkeypatch.setenv("LABBOOK_ADMIN_PASSWORD", "new-Secret-987")
    call_command("ensure_admin")
    assert User.objects.get(username="boss").check_password("new-Secret-987")
    assert User.objects.filter(username="boss").count() == 1


def test_home_requires_login(client, admin_user):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(admin_user)
    assert client.get("/").status_code == 200
