"""How the JSON API describes itself in OpenAPI 3.1 (drf-spectacular): the responses every
endpoint documents, the JSON query description as components taken from its one JSON Schema
(:data:`pipeline_core.datamodel.query_json.schema.SCHEMA`), and ``anyOf`` responses.

Every API view documents its operations with :func:`api_operation`, which adds the responses
any endpoint may give (401, 403, 503) to those the view names, so that nothing an endpoint
can answer is left out of ``/api/v1/schema/`` (schemathesis checks it, see
``tests/web/test_api_schemathesis.py``).
"""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from pipeline_core.datamodel.query_json.schema import SCHEMA

#: Component name of a query description (its ``$defs`` become ``QueryDescription<Def>``).
QUERY_DESCRIPTION = "QueryDescription"
#: Annotations of :data:`SCHEMA` that only drive its error messages (not for clients).
_PRIVATE_KEYWORDS = ("x-reason", "$schema", "$defs")


def component_name(definition: str) -> str:
    """``join_source`` -> ``QueryDescriptionJoinSource``."""
    return QUERY_DESCRIPTION + "".join(part.capitalize() for part in definition.split("_"))


def _as_component(node: Any) -> Any:
    """A copy of a part of :data:`SCHEMA` whose ``#/$defs/x`` references point at the
    components of :func:`query_description_components`, without the private keywords."""
    if isinstance(node, list):
        return [_as_component(item) for item in node]
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    result = {}
    for key, value in node.items():
        if key in _PRIVATE_KEYWORDS:
            continue
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            value = "#/components/schemas/" + component_name(value.removeprefix("#/$defs/"))
        result[key] = _as_component(value)
    return result


def query_description_schema() -> dict:
    """The component :data:`QUERY_DESCRIPTION`: :data:`SCHEMA` without its ``$defs``."""
    return _as_component(SCHEMA)


def query_description_components() -> dict[str, dict]:
    """The ``$defs`` of :data:`SCHEMA` as components ``QueryDescription<Def>``."""
    return {component_name(name): _as_component(s) for name, s in SCHEMA["$defs"].items()}


def add_query_description_components(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook (``POSTPROCESSING_HOOKS``, after the enum hook,
    which must not rewrite these): add the ``$defs`` of the query description's JSON Schema
    as components, when the schema refers to :data:`QUERY_DESCRIPTION`."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    if QUERY_DESCRIPTION in schemas:
        schemas.update(query_description_components())
        result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


class QueryDescriptionSerializer(serializers.BaseSerializer):
    """A JSON query description (:mod:`pipeline_core.datamodel.query_json`), passed through
    unchanged: its structure is checked by the service against the JSON Schema it is
    documented by (component :data:`QUERY_DESCRIPTION`), so that an invalid description gets
    the query's own 400 ``{"error", "path", "table", "attribute"}``, not DRF's field errors."""

    def to_representation(self, instance: Any) -> Any:
        """The (canonical) description as it is: it is JSON already."""
        return instance

    def to_internal_value(self, data: Any) -> Any:
        """The parsed JSON as it is (validated by the service)."""
        return data


class QueryDescriptionExtension(OpenApiSerializerExtension):
    """Documents :class:`QueryDescriptionSerializer` by the JSON Schema of query
    descriptions (OpenAPI 3.1 schemas are JSON Schema 2020-12)."""

    target_class = QueryDescriptionSerializer

    def get_name(self, auto_schema, direction) -> str:
        """One component for requests and responses."""
        return QUERY_DESCRIPTION

    def map_serializer(self, auto_schema, direction) -> dict:
        """:func:`query_description_schema` (its ``$defs`` are added by the hook
        :func:`add_query_description_components`)."""
        return query_description_schema()


class AnyOf(serializers.BaseSerializer):
    """Documentation only: a response that is one of several serializers' shapes which may
    overlap (DRF's ``{"detail"}`` and a pipeline error, which has a ``detail`` too), so
    ``anyOf`` where drf-spectacular's ``PolymorphicProxySerializer`` gives ``oneOf``.

    Args:
        component_name: the component's name in the schema.
        choices: the serializer classes it may be.
    """

    def __init__(self, component_name: str, choices: list[type[serializers.BaseSerializer]]):
        super().__init__()
        self.component_name = component_name
        self.choices = choices

    def to_representation(self, instance: Any) -> Any:
        """Never used to build a response."""
        raise NotImplementedError("AnyOf only documents responses")


class AnyOfExtension(OpenApiSerializerExtension):
    """Maps :class:`AnyOf` to ``{"anyOf": [refs]}`` under its component name."""

    target_class = AnyOf

    def get_name(self, auto_schema, direction) -> str:
        """The :class:`AnyOf`'s component name."""
        return self.target.component_name

    def get_identity(self, auto_schema, direction) -> Any:
        """Two AnyOf of one name are one component."""
        return ("AnyOf", self.target.component_name)

    def map_serializer(self, auto_schema, direction) -> dict:
        """``anyOf`` the components of the choices (registered as they are resolved)."""
        refs = [auto_schema.resolve_serializer(c, direction).ref for c in self.target.choices]
        return {"anyOf": refs}


#: The ``WWW-Authenticate`` challenge (``Token``) of every 401, as DRF sends it.
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    str,
    location=OpenApiParameter.HEADER,
    response=[401],
    required=True,
    description="`Token`: send `Authorization: Token <key>` (or log in for a session).",
)


def common_responses() -> dict[int, OpenApiResponse]:
    """The responses any API endpoint may give besides its own: 401 (no or a bad token or
    session), 403 (not permitted, a session request without CSRF token, or refused by the
    database) and 503 (the pipeline database is unavailable)."""
    from .serializers import DetailSerializer, PipelineErrorSerializer

    return {
        401: OpenApiResponse(
            DetailSerializer,
            "Not authenticated: no credentials, or an invalid, revoked or inactive user's token.",
        ),
        403: OpenApiResponse(
            AnyOf("Forbidden", [DetailSerializer, PipelineErrorSerializer]),
            "Not permitted (`{detail}`: the user's role, or a session request without its CSRF "
            "token), or refused by the pipeline database (`{error, detail, table, attribute}`).",
        ),
        503: OpenApiResponse(PipelineErrorSerializer, "The pipeline database is unavailable."),
    }


def api_operation(
    *,
    ok: Any,
    errors: dict[int, Any] | None = None,
    parameters: list | None = None,
    **kwargs: Any,
):
    """``extend_schema`` for an API view method: 200 ``ok``, the view's own ``errors``
    ({status: serializer or OpenApiResponse}) and :func:`common_responses`, with the 401's
    ``WWW-Authenticate`` header; other keyword arguments go to ``extend_schema``."""
    responses = {200: ok, **common_responses(), **(errors or {})}
    return extend_schema(
        responses=dict(sorted(responses.items())),
        parameters=[WWW_AUTHENTICATE, *(parameters or [])],
        **kwargs,
    )
