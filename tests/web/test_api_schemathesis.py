"""Property-based tests of the JSON API against its own OpenAPI schema (schemathesis).

The schema is read from ``/api/v1/schema/`` of the WSGI application (in this process, on
the test database) and every operation is called with generated requests, valid and
invalid, as an administrator and as a viewer, each with its own API token. Every response
must be no server error, have a documented status code, content type and headers and a
body matching the documented schema; invalid requests must be rejected (4xx), requests
without the token refused (401/403), undocumented methods answered 405.

The run is bounded and reproducible: a fixed seed, derandomized generation, no example
database, at most :data:`MAX_EXAMPLES` generated requests per operation (valid and
invalid together), plus the schema's examples: some 320 requests in all, half a minute.
The coverage phase runs for
operations with small inputs only: for ``POST /api/v1/query/`` it derives some 8,000
boundary cases from the query description's schema (a minute per user), too many for every
``make test``.

So that generated queries reach real tables, not only 404s, :func:`steer_to_pipeline`
makes the generator name the demo pipeline's tables and attributes (responses are still
checked against the documented schema).
"""

from __future__ import annotations

import collections
import copy

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.config import SchemathesisConfig
from werkzeug.test import Client

from pipeline_core import services
from pipeline_core.api.query_schema import QUERY_DESCRIPTION
from pipeline_core.api.tokens import issue_token

pytestmark = [pytest.mark.api, pytest.mark.integration]

SCHEMA_URL = "/api/v1/schema/"
QUERY_URL = "/api/v1/query/"
#: Seed of the whole run (generation is derandomized too).
SEED = 20261205
#: Generated requests per operation (both generation modes together).
MAX_EXAMPLES = 75
#: Of which, for POST /api/v1/query/, at least this many must give rows (some 15-20 do).
MIN_QUERIES_WITH_ROWS = 5
#: Operations whose coverage phase is skipped (see the module docstring).
NO_COVERAGE = (QUERY_URL,)
#: Checks run on every response.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "unsupported_method",
)


def schemathesis_config(token: str) -> SchemathesisConfig:
    """The run's configuration: seed, bounds, phases, checks and the token header."""
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Token {token}"},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "operations": [
                {"include-path": path, "phases": {"coverage": {"enabled": False}}}
                for path in NO_COVERAGE
            ],
        }
    )


def steer_to_pipeline(raw: dict, tables: dict[str, list[str]], attributes: list[str]) -> dict:
    """A copy of the OpenAPI schema ``raw`` whose request body of ``POST /api/v1/query/`` is
    a copy of the query description's components (``Steered...``) in which a table is one
    of ``tables`` ({schema: raw and class names}) and an attribute one of ``attributes``, so
    that generated queries reach real rows. Responses are still checked against the
    documented components (``QueryDescription...``), which are left as they are."""
    raw = copy.deepcopy(raw)
    components = raw["components"]["schemas"]
    prefix = QUERY_DESCRIPTION
    names = [name for name in components if name.startswith(prefix)]

    def steered(node):
        if isinstance(node, list):
            return [steered(item) for item in node]
        if not isinstance(node, dict):
            return node
        return {
            key: value.replace(f"/{prefix}", f"/Steered{prefix}")
            if key == "$ref"
            else steered(value)
            for key, value in node.items()
        }

    def real_tables(extra: dict) -> dict:
        return {
            "anyOf": [
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["schema", "table"],
                    "properties": {"schema": {"const": name}, "table": {"enum": tables}, **extra},
                }
                for name, tables in tables.items()
            ]
        }

    copies = {f"Steered{name}": steered(components[name]) for name in names}
    copies[f"Steered{prefix}Table"] = real_tables({})
    copies[f"Steered{prefix}JoinTable"] = real_tables({"cross": {"type": "boolean"}})
    copies[f"Steered{prefix}Attribute"] = {"enum": attributes}
    components.update(copies)
    body = raw["paths"][QUERY_URL]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = steered(body["schema"])
    return raw


def pipeline_names(user) -> tuple[dict[str, list[str]], list[str]]:
    """The tables ({schema: raw and class names}) and attribute names of the schemas
    ``user`` may view."""
    tables, attributes = {}, set()
    for schema in services.list_schemas(user):
        infos = schema["tables"]
        tables[schema["name"]] = sorted({n for i in infos for n in (i.table_name, i.class_name)})
        attributes.update(a.name for i in infos for a in i.heading)
    return tables, sorted(attributes)


@pytest.fixture
def wsgi_app(db):
    """Django's WSGI application, called in this thread: requests see the test's rows (the
    test transaction stays open: as with Django's test client, no connection is closed when
    a request starts or ends)."""
    from labbook.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(params=["admin", "viewer"])
def api_user(request, admin_user, django_user_model, settings):
    """The user the API is called as: the administrator, and a viewer (a user without
    grants, holding the default role ``viewer`` everywhere)."""
    if request.param == "admin":
        return admin_user
    settings.LABBOOK_DEFAULT_ROLE = "viewer"
    return django_user_model.objects.create_user(username="reader", password="x")


@pytest.fixture
def api_schema(request, wsgi_app, api_user, demo, settings):
    """The API's schema, read from ``/api/v1/schema/`` with ``api_user``'s token and steered
    to the demo pipeline, for schemathesis to call ``wsgi_app`` with."""
    # schemathesis 4.32's lazy tests read and relabel ``node._nodeid``, which pytest 9 no
    # longer has (its node ids live in ``_id``): give it one to relabel.
    request.node._nodeid = request.node.nodeid
    settings.LABBOOK_QUERY_TIMEOUT = 10  # a slow generated query fails the run (504) quickly
    token, _ = issue_token(api_user)
    response = Client(wsgi_app).get(
        SCHEMA_URL, query_string={"format": "json"}, headers={"Authorization": f"Token {token.key}"}
    )
    assert response.status_code == 200, response.text[:300]
    raw = steer_to_pipeline(response.json, *pipeline_names(api_user))
    schema = schemathesis.openapi.from_dict(raw, config=schemathesis_config(token.key))
    schema.app = wsgi_app
    return schema


@pytest.fixture
def answered():
    """``{(operation, status): count}`` of the run; afterwards, that generated queries did
    reach real rows (else :func:`steer_to_pipeline` no longer steers, and the run would
    test little more than 404s)."""
    counts = collections.Counter()
    yield counts
    if counts:
        assert counts[(f"POST {QUERY_URL}", 200)] >= MIN_QUERIES_WITH_ROWS, dict(counts)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_api_conforms_to_its_schema(case, answered):
    """Each generated request: call the API, run :data:`CHECKS` on the response."""
    response = case.call_and_validate()
    answered[(case.operation.label, response.status_code)] += 1
