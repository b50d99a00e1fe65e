"""One mapping of data-model errors to statuses (pipeline_core.http_errors), used by the web
pages and, through DRF's EXCEPTION_HANDLER, by the JSON API with its exact JSON shapes."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.settings import api_settings

import pipeline_core
from pipeline_core import datamodel as dm
from pipeline_core import http_errors, services
from pipeline_core.api import exceptions

PACKAGE = Path(pipeline_core.__file__).parent
URL = "/api/v1/query/"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules a source file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_api_and_the_mapping_import_nothing_from_web():
    files = [*sorted((PACKAGE / "api").glob("*.py")), PACKAGE / "http_errors.py"]
    assert len(files) >= 4
    for path in files:
        web = {m for m in imported_modules(path) if m.startswith("pipeline_core.web")}
        assert not web, (path.name, web)
    assert "pipeline_core.http_errors.status_of" in imported_modules(PACKAGE / "web" / "errors.py")


def test_no_entry_of_the_mapping_is_shadowed_by_an_earlier_one():
    for i, (cls, status, title) in enumerate(http_errors.ERROR_STATUS):
        earlier = [c for c, _, _ in http_errors.ERROR_STATUS[:i] if issubclass(cls, c)]
        assert not earlier, (cls, earlier)
        assert http_errors.status_of(cls("x")) == (status, title)
    assert http_errors.status_of(services.NoMakeError("x")) == (409, "No make() registered")
    assert http_errors.status_of(dm.PopulateError("x")) == (409, "Cannot populate")


def test_drf_uses_the_api_exception_handler():
    assert settings.REST_FRAMEWORK["EXCEPTION_HANDLER"] == (
        "pipeline_core.api.exceptions.exception_handler"
    )
    assert api_settings.EXCEPTION_HANDLER is exceptions.exception_handler


def post(client, body: str):
    return client.post(URL, data=body, content_type="application/json")


@pytest.mark.integration
def test_api_error_shapes_are_exact(lab_client, demo, pipeline_prefix):
    missing = pipeline_prefix + "no_such_schema"
    general = post(lab_client, json.dumps({"from": {"schema": missing, "table": "t"}}))
    assert general.status_code == 404
    body = general.json()
    assert set(body) == {"error", "detail", "table", "attribute"}
    assert body["error"] == "Not found" and missing in body["detail"]

    invalid = post(lab_client, json.dumps({"from": {"schema": demo.Subject.database}}))
    assert invalid.status_code == 400
    assert set(invalid.json()) == {"error", "path", "table", "attribute"}
    assert invalid.json()["path"].startswith("from")

    unparsable = post(lab_client, "{")
    assert unparsable.status_code == 400 and set(unparsable.json()) == {"error", "path"}
    assert unparsable.json()["path"] == ""

    # other errors keep DRF's own shapes
    assert lab_client.get(URL).json() == {"detail": 'Method "GET" not allowed.'}


@pytest.mark.integration
def test_web_and_api_give_the_same_status_and_title(lab_client, demo):
    database = demo.Subject.database
    page = lab_client.get(reverse("web:table", args=[database, "nope"]))
    api = post(lab_client, json.dumps({"from": {"schema": "mysql", "table": "user"}}))
    assert page.status_code == api.status_code == 404
    assert "<h1>Not found</h1>" in page.content.decode() and api.json()["error"] == "Not found"


@pytest.mark.parametrize("param", ["limit=", "limit=abc", "limit=0"])
def test_an_empty_or_bad_number_parameter_is_400_naming_it(staff_client, param):
    """An empty query parameter is no number (DRF would quietly use the default: the
    OpenAPI schema says integer, so the API refuses it as it refuses ``abc``)."""
    response = staff_client.get(f"/api/v1/runs/?{param}")
    assert response.status_code == 400
    assert "`limit`" in response.json()["detail"]
    assert staff_client.get("/api/v1/runs/?limit=5").status_code == 200
