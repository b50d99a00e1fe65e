"""``GET /api/v1/schemas/<schema>/tables/<table>/fk/<attribute>/?q=&limit=``: search the
parent of a foreign key as people type (entry forms, the grid's foreign-key editor)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response

from pipeline_core.services import fk as fk_service

from .openapi import api_operation
from .serializers import PipelineErrorSerializer, RowField
from .views import PipelineAPIView

#: The URL pattern (under ``/api/v1/``).
URL = "schemas/<name:schema>/tables/<name:table>/fk/<name:attribute>/"


class FKQuerySerializer(serializers.Serializer):
    """The query parameters of the foreign-key search."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        max_length=200,
        help_text="the text typed: prefix matches first, then substring matches; empty: the "
        "first parents in key order",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=fk_service.MAX_LIMIT,
        default=fk_service.DEFAULT_LIMIT,
        help_text="results wanted",
    )


class FKResultSerializer(serializers.Serializer):
    """One parent row the foreign key may point to."""

    values = RowField(
        help_text="The foreign key's attributes, by the CHILD's names (renamed foreign keys "
        "mapped), with the parent row's values: send them as the child's values."
    )
    label = serializers.CharField(
        help_text="How people know the parent: its key values and first two descriptive "
        "attributes, joined by ` · ` (`1 · Mickey · M`)."
    )


class FKChoicesSerializer(serializers.Serializer):
    """Parents matching the text, best first (``services.fk.fk_choices``)."""

    attributes = serializers.ListField(
        child=serializers.CharField(), help_text="The child attributes the foreign key fills."
    )
    parent = serializers.CharField(help_text="The parent table: `` `db`.`tbl` ``")
    results = FKResultSerializer(many=True)


class FKChoicesView(PipelineAPIView):
    """Search the parent of the foreign key that ``attribute`` of a table belongs to; role
    ``viewer`` on the table's schema and on the parent's (else 404, as an unknown schema)."""

    labbook_action = "view"

    @api_operation(
        ok=FKChoicesSerializer,
        parameters=[FKQuerySerializer],
        errors={
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                "A malformed parameter: `{parameter: [reason, ...]}` (DRF's validation errors).",
            ),
            404: OpenApiResponse(
                PipelineErrorSerializer,
                "A schema, table or attribute that is not visible or not there, an attribute "
                "in no foreign key, or a parent in a schema the user may not view.",
            ),
        },
        operation_id="fk_choices",
        summary="Search a foreign key's parent",
        description="The parent rows a foreign key may point to, for the text typed: rows "
        "whose primary-key attribute or varchar/char attribute starts with `q` first, in key "
        "order, then those containing it (`%` and `_` are literal). Any child attribute of "
        "the foreign key names it (a compound foreign key by any of its attributes).",
    )
    def get(self, request, schema: str, table: str, attribute: str):
        """``{"attributes", "parent", "results": [{"values", "label"}]}``."""
        query = FKQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        data = fk_service.fk_choices(
            schema, table, attribute, request.user, q=params["q"], limit=params["limit"]
        )
        return Response(FKChoicesSerializer(data).data, status=http.HTTP_200_OK)
