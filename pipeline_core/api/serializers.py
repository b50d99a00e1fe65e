"""Serializers of every JSON body the API sends: they build the responses (views and the
exception handler) and document them in the OpenAPI schema, so the two cannot drift apart.

The shapes are contracts (``tests/web/test_api_*.py``): field names, order and nullability
here are the JSON clients read.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from .query_schema import QueryDescriptionSerializer

__all__ = [
    "DetailSerializer",
    "PipelineErrorSerializer",
    "QueryDescriptionErrorSerializer",
    "QueryDescriptionSerializer",
    "QueryResultSerializer",
    "SchemaSerializer",
]

# --- errors -------------------------------------------------------------------------------


class DetailSerializer(serializers.Serializer):
    """DRF's own error body: not authenticated (401), not permitted or no CSRF token (403),
    method not allowed (405), unsupported media type (415)."""

    detail = serializers.CharField()


class PipelineErrorSerializer(serializers.Serializer):
    """A data-model error, with the status and title of the mapping the web uses too
    (`pipeline_core.http_errors`): `error` is the title ("Not found"), `detail` the
    message, `table` and `attribute` what it names (or null)."""

    error = serializers.CharField()
    detail = serializers.CharField()
    table = serializers.CharField(allow_null=True)
    attribute = serializers.CharField(allow_null=True)


class QueryDescriptionErrorSerializer(serializers.Serializer):
    """An invalid query description (400): `error` is the message, starting with `path`,
    the element at fault (`where.and[1].operator`; `""`: the whole body); `table` and
    `attribute` name what it concerns (or null). A body that is not JSON at all gives
    `{"error", "path": ""}` only."""

    error = serializers.CharField()
    path = serializers.CharField(allow_blank=True)
    table = serializers.CharField(allow_null=True, required=False)
    attribute = serializers.CharField(allow_null=True, required=False)

    def to_representation(self, instance: dict) -> dict:
        """Only the keys the error has (a body that is not JSON has no table or attribute)."""
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if key in instance}


# --- schemas and tables -------------------------------------------------------------------


@extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"}})
class TierCountsField(serializers.DictField):
    """Tables per tier (`Manual`, `Lookup`, `Imported`, `Computed`, `Part`, `Other`),
    tiers without tables left out."""

    child = serializers.IntegerField()

    def to_representation(self, value: dict) -> dict:
        """The counts that are not zero."""
        return super().to_representation({tier: n for tier, n in value.items() if n})


class TableSerializer(serializers.Serializer):
    """One table of a schema (from its `TableInfo`)."""

    table_name = serializers.CharField(help_text="Raw name: `session`, `#species`, `__detection`")
    class_name = serializers.CharField(
        help_text="DataJoint class name: `Session.Trial` (a table whose name implies no tier, "
        "made outside DataJoint: its raw name)"
    )
    tier = serializers.CharField(
        allow_null=True, help_text="Manual, Lookup, Imported, Computed or Part (null: other)"
    )
    master = serializers.CharField(
        allow_null=True, help_text="Raw name of a part table's master (null: not a part)"
    )
    comment = serializers.CharField(allow_blank=True)
    primary_key = serializers.ListField(child=serializers.CharField(), source="heading.primary_key")


class SchemaSerializer(serializers.Serializer):
    """A pipeline schema visible to the user, with its tables (`services.list_schemas`)."""

    name = serializers.CharField()
    tiers = TierCountsField()
    tables = TableSerializer(many=True)


# --- queries ------------------------------------------------------------------------------


class HeadingAttributeSerializer(serializers.Serializer):
    """An attribute of a query's result."""

    name = serializers.CharField()
    type = serializers.CharField(help_text="Declared type: `int32`, `varchar(20)`, `<blob>`")
    in_key = serializers.BooleanField()
    nullable = serializers.BooleanField()
    comment = serializers.CharField(allow_blank=True)


_VALUE_DOC = (
    "Attribute values as JSON: numbers, text, booleans, null; dates and times as ISO text, "
    "decimals and uuids as text, non-finite floats as `NaN`/`Infinity`; json attributes as "
    "themselves; blobs, bytes and stored values as a summary `{kind, ...}` (`kind`: blob, "
    "bytes, stored, attachment, object, npy, value; with dtype, shape, size, name, store, path "
    "as known)."
)


@extend_schema_field({"type": "object", "additionalProperties": True, "description": _VALUE_DOC})
class RowField(serializers.DictField):
    """One row: `{attribute: JSON value}` in heading order (already JSON-safe)."""

    child = serializers.JSONField()


@extend_schema_serializer(component_name="QueryResult")
class QueryResultSerializer(serializers.Serializer):
    """One page of a described query's rows (`services.run_query`)."""

    query = QueryDescriptionSerializer(help_text="The description in canonical form.")
    heading = HeadingAttributeSerializer(many=True)
    primary_key = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=RowField())
    cursor = RowField(
        allow_null=True,
        help_text="The ordering attributes' values of the last row: send it back as `after` "
        "for the next page; null on the last page.",
    )


class AuditQuerySerializer(serializers.Serializer):
    """The query parameters of ``GET /api/v1/audit/``."""

    schema = serializers.CharField(required=False, help_text="events of this schema")
    table = serializers.CharField(
        required=False, help_text="events of this table (raw name; needs schema)"
    )
    actor = serializers.CharField(required=False, help_text="events by this user")
    key = serializers.JSONField(
        required=False, help_text="a row's primary key as a JSON object (needs table)"
    )
    after = serializers.IntegerField(
        required=False, min_value=0, help_text="the cursor of the previous page"
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=500, default=50, help_text="events per page"
    )

    def validate(self, attrs):
        # DRF skips an empty query parameter of an optional field: refuse it instead
        blank = [n for n in self.fields if self.initial_data.get(n, None) == ""]
        if blank:
            raise serializers.ValidationError(dict.fromkeys(blank, "may not be empty"))
        if "table" in attrs and "schema" not in attrs:
            raise serializers.ValidationError({"table": "a table needs its schema"})
        if "key" in attrs and ("table" not in attrs or not isinstance(attrs["key"], dict)):
            raise serializers.ValidationError({"key": "a JSON object, with schema and table"})
        return attrs


class AuditEventSerializer(serializers.Serializer):
    """One event of the audit trail."""

    event_id = serializers.IntegerField()
    time = serializers.CharField(help_text="UTC, microseconds: 2026-12-05 16:30:00.123456")
    actor = serializers.CharField()
    source = serializers.ChoiceField(choices=["web", "api", "cli", "worker"])
    request_id = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    schema = serializers.CharField(allow_null=True)
    table = serializers.CharField(allow_null=True)
    key = serializers.JSONField(help_text="the primary key, or null")
    changes = serializers.JSONField(help_text="{attribute: [old, new]}, or null")
    batch_id = serializers.CharField(allow_null=True)


class AuditPageSerializer(serializers.Serializer):
    """A page of events, newest first; ``cursor`` is sent back as ``after``."""

    events = AuditEventSerializer(many=True)
    cursor = serializers.IntegerField(allow_null=True)
