"""The JSON query description in the API's OpenAPI schema: its one JSON Schema
(:data:`pipeline_core.datamodel.query_json.schema.SCHEMA`) as components, and the
serializer that passes a description through to the service (which validates it)."""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
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
