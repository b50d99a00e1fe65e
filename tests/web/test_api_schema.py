"""The API's OpenAPI 3.1 schema (drf-spectacular): valid without warnings, served at
/api/v1/schema/ and shown by Swagger UI at /api/v1/docs/ (files from
drf-spectacular-sidecar, no CDN) to logged-in users only; every API URL documented with
every status it can answer; the query description's JSON Schema as its components."""

from __future__ import annotations

import json
import re
from html import unescape

import jsonschema
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from pipeline_core.api import query_schema
from pipeline_core.api.urls import DESCRIPTION_URLS
from pipeline_core.api.views import QUERY_EXAMPLE
from pipeline_core.datamodel.query_json.schema import SCHEMA, VALIDATOR

SCHEMA_URL = "/api/v1/schema/"
DOCS_URL = "/api/v1/docs/"
#: Statuses every API operation documents (openapi.common_responses and its 200).
COMMON = {"200", "401", "403", "503"}
#: Every operation of the API with the statuses it documents beyond COMMON. A new URL or
#: method of the API must be added here (and documented with openapi.api_operation).
OPERATIONS = {
    ("/api/v1/schemas/", "get"): set(),
    ("/api/v1/query/", "post"): {"400", "404", "415", "504"},
    ("/api/v1/query/export.{fmt}", "get"): {"400", "404"},
    ("/api/v1/audit/", "get"): {"400", "404"},
    ("/api/v1/schemas/{schema}/tables/{table}/rows/", "get"): {"400", "404"},
    ("/api/v1/schemas/{schema}/tables/{table}/rows/", "post"): {"201", "400", "404", "409"},
    ("/api/v1/schemas/{schema}/tables/{table}/rows/", "patch"): {"400", "404", "409"},
    ("/api/v1/schemas/{schema}/tables/{table}/rows/delete/", "post"): {"400", "404", "409"},
    ("/api/v1/batches/{batch}/undo/", "post"): {"404", "409"},
    ("/api/v1/schemas/{schema}/tables/{table}/populate/", "post"): {"202", "400", "404", "409"},
    ("/api/v1/runs/", "get"): {"400"},
    ("/api/v1/runs/{run}/", "get"): {"404"},
    ("/api/v1/runs/{run}/cancel/", "post"): {"404"},
    ("/api/v1/workers/", "get"): set(),
    ("/api/v1/schemas/{schema}/tables/{table}/fk/{attribute}/", "get"): {"400", "404"},
    ("/api/v1/schemas/{schema}/tables/{table}/jobs/", "get"): {"400", "404", "409"},
    ("/api/v1/schemas/{schema}/tables/{table}/jobs/retry/", "post"): {"400", "404", "409"},
    ("/api/v1/schemas/{schema}/tables/{table}/jobs/ignore/", "post"): {"400", "404", "409"},
    ("/api/v1/schemas/{schema}/tables/{table}/jobs/priority/", "post"): {"400", "404", "409"},
    ("/api/v1/schemas/{schema}/tables/{table}/jobs/recover/", "post"): {"400", "404", "409"},
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
#: Operations whose 200 is not JSON: their media types.
FILES = {
    ("/api/v1/query/export.{fmt}", "get"): {
        "text/csv",
        "text/tab-separated-values",
        "application/jsonl",
    },
}


@pytest.fixture(scope="module")
def api_schema() -> dict:
    """The schema as ``manage.py spectacular`` writes it (JSON), validated, and failing on
    any warning or error of drf-spectacular."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
        stdout=out, stderr=err,
    )  # fmt: skip
    assert err.getvalue() == ""
    return json.loads(out.getvalue())


def api_url_patterns() -> list[tuple[str, URLPattern]]:
    """``(OpenAPI path, pattern)`` of every URL under the ``api`` namespace."""
    (api,) = [
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace == "api"
    ]
    prefix = "/" + str(api.pattern)
    return [
        (prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern)), p) for p in api.url_patterns
    ]


def test_the_schema_is_openapi_3_1_valid_without_warnings(api_schema):
    assert api_schema["openapi"] == "3.1.0"
    assert api_schema["info"]["title"] == "LabBook API"
    schemes = api_schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    assert set(schemes) == {"tokenAuth", "cookieAuth"}  # no basicAuth


def test_every_api_url_is_documented_with_its_statuses(api_schema):
    documented = {
        (path, method)
        for path, item in api_schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    seen = set()
    for path, pattern in api_url_patterns():
        if pattern.name in DESCRIPTION_URLS:
            assert path not in api_schema["paths"]
            continue
        view = pattern.callback.view_class
        methods = [m for m in HTTP_METHODS if hasattr(view, m)]
        assert methods, path
        for method in methods:
            key = (path, method)
            assert key in OPERATIONS, f"{method.upper()} {path}: add it to OPERATIONS"
            assert key in documented, f"{method.upper()} {path} is not in the schema"
            operation = api_schema["paths"][path][method]
            expected = COMMON | OPERATIONS[key]
            if "202" in OPERATIONS[key]:  # accepted for later, never answered at once
                expected -= {"200"}
            assert set(operation["responses"]) == expected, key
            for status, response in operation["responses"].items():
                if status == "200" and key in FILES:
                    assert set(response["content"]) == FILES[key], key
                    assert response["headers"]["Content-Disposition"]["required"]
                    continue
                assert response["content"]["application/json"]["schema"], (key, status)
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"]
            assert {"tokenAuth": []} in operation["security"]
            seen.add(key)
    assert seen == set(OPERATIONS) == documented


def test_every_reference_resolves(api_schema):
    text = json.dumps(api_schema)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert refs and refs <= set(api_schema["components"]["schemas"])


def test_error_shapes_are_documented_exactly(api_schema):
    components = api_schema["components"]["schemas"]
    pipeline = components["PipelineError"]
    assert list(pipeline["properties"]) == ["error", "detail", "table", "attribute"]
    assert sorted(pipeline["required"]) == ["attribute", "detail", "error", "table"]
    assert pipeline["properties"]["table"]["type"] == ["string", "null"]
    invalid = components["QueryDescriptionError"]
    assert list(invalid["properties"]) == ["error", "path", "table", "attribute"]
    assert sorted(invalid["required"]) == ["error", "path"]
    assert components["Detail"]["required"] == ["detail"]
    ref = "#/components/schemas/"
    assert components["BadQuery"] == {
        "anyOf": [{"$ref": ref + "QueryDescriptionError"}, {"$ref": ref + "PipelineError"}]
    }
    assert components["Forbidden"] == {
        "anyOf": [{"$ref": ref + "Detail"}, {"$ref": ref + "PipelineError"}]
    }


def test_the_query_description_is_its_json_schema(api_schema):
    """The request body of POST /api/v1/query/ is query_json's SCHEMA, as components:
    descriptions it accepts or refuses are accepted or refused by the components too."""
    components = api_schema["components"]["schemas"]
    body = api_schema["paths"]["/api/v1/query/"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/QueryDescription"
    }
    for name in SCHEMA["$defs"]:
        assert query_schema.component_name(name) in components
    assert "x-reason" not in json.dumps(components)
    result = components["QueryResult"]["properties"]["query"]
    assert result["allOf"] == [{"$ref": "#/components/schemas/QueryDescription"}]

    document = {
        "components": api_schema["components"],
        "$ref": "#/components/schemas/QueryDescription",
    }
    validator = jsonschema.Draft202012Validator(document)
    valid = [
        QUERY_EXAMPLE,
        {"from": {"schema": "s", "table": "t"}, "limit": None, "after": None},
        {"from": {"from": {"schema": "s", "table": "t"}, "group": {"by": ["a"]}}},
    ]
    invalid = [
        {},
        {"from": {"schema": "s", "table": "t"}, "wher": {}},
        {"from": {"schema": "s", "table": "t"}, "limit": 0},
        {"from": {"schema": "s", "table": "t"}, "where": {"attribute": "a", "operator": "~"}},
        {
            "from": {"schema": "s", "table": "t"},
            "aggr": {"over": {"schema": "s", "table": "u"}, "compute": {}},
        },
        {"from": {"from": {"schema": "s", "table": "t"}, "limit": 5}},
    ]
    for description in valid + invalid:
        assert validator.is_valid(description) == VALIDATOR.is_valid(description), description
    assert all(validator.is_valid(d) for d in valid)
    assert not any(validator.is_valid(d) for d in invalid)


@pytest.mark.django_db
def test_schema_and_docs_are_for_logged_in_users(client, lab_user):
    anonymous = Client()
    response = anonymous.get(SCHEMA_URL)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    docs = anonymous.get(DOCS_URL)
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/")

    from pipeline_core.api.tokens import issue_token

    key = issue_token(lab_user)[0].key
    response = anonymous.get(SCHEMA_URL, {"format": "json"}, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["paths"]["/api/v1/query/"]
    client.force_login(lab_user)
    assert client.get(SCHEMA_URL).status_code == 200


@pytest.mark.django_db
def test_swagger_ui_uses_the_sidecar_files_not_a_cdn(client, lab_user):
    """Swagger UI from drf-spectacular-sidecar's static files; its start-up script from the
    split view's own URL (no inline script: the Content-Security-Policy forbids it)."""
    client.force_login(lab_user)
    page = client.get(DOCS_URL).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    scripts = [a for a in assets if a.startswith(DOCS_URL)]
    files = [a for a in assets if a not in scripts]
    assert len(scripts) == 1, assets
    assert all(
        a.startswith(("/static/drf_spectacular_sidecar/", "/static/labbook/")) for a in files
    ), assets
    assert "cdn" not in page.lower() and "https://" not in page
    assert "<script>" not in page and "<style" not in page
    script = client.get(unescape(scripts[0]))
    assert script.status_code == 200
    assert "/api/v1/schema/" in script.content.decode()
    for asset in files:
        path = asset.removeprefix("/static/")
        assert finders.find(path), f"{path} is not among the static files"


@pytest.mark.django_db
def test_the_page_header_links_to_the_docs_and_the_token_page(client, lab_user):
    client.force_login(lab_user)
    page = client.get("/account/token/").content.decode()
    assert 'href="/api/v1/docs/"' in page and 'href="/account/token/"' in page
