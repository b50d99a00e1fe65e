"""Services down (issue #15 part 5): the pipeline server taken away (a real MariaDB behind a
TCP forwarder that is stopped) gives 503 pages and JSON naming the server, /healthz says
which check fails, and everything recovers by itself when the server is back. Django's own
database unreachable gives the same 503 through handler500."""

from __future__ import annotations

import json

import pytest
from django.db.utils import ConnectionHandler, OperationalError
from django.test import RequestFactory
from django.urls import reverse

from pipeline_core.web.unavailable import server_error
from tests.tcp_forwarder import Forwarder

pytestmark = pytest.mark.integration


@pytest.fixture
def forwarded(settings, dj_params):
    """LabBook's pipeline server reached through a forwarder (started)."""
    forwarder = Forwarder(dj_params["host"], dj_params["port"])
    forwarder.start()
    settings.LABBOOK_PIPELINE_DB = {
        **settings.LABBOOK_PIPELINE_DB,
        "host": "127.0.0.1",
        "port": forwarder.port,
    }
    yield forwarder
    forwarder.stop()


def test_pipeline_server_down_is_503_naming_it_and_recovers(lab_client, demo, forwarded):
    schema = demo.Subject.database
    page = reverse("web:schema", args=[schema])
    api = reverse("api:schemas")
    server = f"127.0.0.1:{forwarded.port}"
    assert lab_client.get(page).status_code == 200
    assert lab_client.get(api).status_code == 200

    forwarded.stop()
    response = lab_client.get(page)
    assert response.status_code == 503
    assert server in response.content.decode()
    response = lab_client.get(api)
    assert response.status_code == 503
    assert server in response.json()["detail"]
    health = lab_client.get("/healthz")
    assert health.status_code == 503
    report = health.json()
    assert report["status"] == "fail"
    assert report["checks"]["pipeline_database"]["ok"] is False
    assert server in report["checks"]["pipeline_database"]["reason"]
    assert report["checks"]["django_database"]["ok"] is True

    forwarded.start()  # the server is back: no restart of LabBook needed
    assert lab_client.get(page).status_code == 200
    assert lab_client.get(api).status_code == 200
    assert lab_client.get("/healthz").json()["checks"]["pipeline_database"]["ok"] is True


def test_healthz_without_login_is_plain(client, db, demo):
    response = client.get("/healthz")
    report = response.json()
    assert report["checks"]["pipeline_database"] == {"ok": True, "critical": True}
    assert report["checks"]["django_database"] == {"ok": True, "critical": True}
    assert set(report["checks"]) == {
        "pipeline_database",
        "django_database",
        "redis",
        "stores",
        "workers",
    }
    # the databases answer: never 503, whatever the workers and stores
    assert response.status_code == 200
    assert report["status"] in ("ok", "degraded")
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_with_login_gives_reasons_and_a_down_broker_degrades(lab_client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = lab_client.get("/healthz")
    assert response.status_code == 200  # the broker is not critical
    report = response.json()
    assert report["status"] == "degraded"
    redis = report["checks"]["redis"]
    assert redis["ok"] is False and redis["critical"] is False
    assert "ConnectionError" in redis["reason"]
    assert report["checks"]["pipeline_database"]["server"]


def test_django_database_unreachable_is_503_naming_it(settings, db):
    """What fails before a view (the session, the user) reaches handler500: a real
    connection error of Django's MySQL backend (a port nobody listens on)."""
    closed = Forwarder("127.0.0.1", 9)  # a free port, not started
    config = {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": closed.port}
    handler = ConnectionHandler({"default": config})
    configured = settings.DATABASES["default"]
    server = f"{configured['HOST'] or 'localhost'}:{configured['PORT'] or 3306}"
    responses = []
    for path in ("/schemas/x/", "/api/v1/schemas/"):
        try:
            handler["default"].ensure_connection()
        except OperationalError:
            responses.append(server_error(RequestFactory().get(path)))
        finally:
            handler.close_all()
    page, api = responses
    assert page.status_code == 503 and api.status_code == 503
    assert f"database server {server}" in page.content.decode()
    assert page["Retry-After"] == "10"
    assert f"database server {server}" in json.loads(api.content)["detail"]


def test_other_server_errors_stay_500():
    request = RequestFactory().get("/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
    assert "Server error" in response.content.decode()
