"""JSON API (DRF), minimal for now: the schemas and their tables. Data-model errors are
mapped to responses in one place (:func:`error_response`)."""

from __future__ import annotations

from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.web.errors import status_of


def error_response(exc: dm.DataJointError) -> Response:
    """A JSON error naming the table, the attribute and the reason."""
    status, title = status_of(exc)
    return Response({"error": title, "detail": str(exc), "table": exc.table,
                     "attribute": exc.attribute}, status=status)


class PipelineAPIView(APIView):
    """Base API view: fresh introspection per request, DataJointError as JSON."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        services.begin_request()

    def handle_exception(self, exc):
        if isinstance(exc, dm.DataJointError):
            return error_response(exc)
        return super().handle_exception(exc)


class SchemaList(PipelineAPIView):
    """``GET /api/v1/schemas/``: the visible schemas with their tables."""

    def get(self, request):
        """List schemas (name, tier counts) with each table's name, class, tier, master."""
        data = [{
            "name": schema["name"],
            "tiers": {k: v for k, v in schema["tiers"].items() if v},
            "tables": [{"table_name": t.table_name, "class_name": t.class_name, "tier": t.tier,
                        "master": t.master, "comment": t.comment,
                        "primary_key": t.heading.primary_key} for t in schema["tables"]],
        } for schema in services.list_schemas()]
        return Response(data, status=http.HTTP_200_OK)
