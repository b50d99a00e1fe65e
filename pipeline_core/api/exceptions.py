"""The API's one exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``): data-model
errors become JSON with the status of :func:`pipeline_core.http_errors.status_of` (the
mapping the web's error pages use too), in the shapes of :mod:`.serializers`; every other
exception is left to DRF's own handler (``{"detail": ...}``)."""

from __future__ import annotations

from rest_framework import status as http
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.batch_check import BatchError
from pipeline_core.datamodel.errors import QueryDescriptionError
from pipeline_core.http_errors import status_of

from .serializers import PipelineErrorSerializer, QueryDescriptionErrorSerializer


def error_body(exc: dm.DataJointError) -> tuple[dict, int]:
    """``(JSON body, status)`` of a data-model error.

    * a refused batch of rows (:class:`BatchError`): 400 ``{"errors": [{"list", "row",
      "table", "attribute", "message"}]}``;
    * an invalid query description (:class:`QueryDescriptionError`): 400
      ``{"error": message, "path": where, "table", "attribute"}``;
    * any other ``DataJointError``: ``{"error": title, "detail": message, "table",
      "attribute"}`` with the status and title of the shared mapping.
    """
    if isinstance(exc, BatchError):
        return {"errors": [p.as_json() for p in exc.problems]}, http.HTTP_400_BAD_REQUEST
    if isinstance(exc, QueryDescriptionError):
        body = {"error": str(exc), "path": exc.path, "table": exc.table, "attribute": exc.attribute}
        return QueryDescriptionErrorSerializer(body).data, http.HTTP_400_BAD_REQUEST
    status, title = status_of(exc)
    body = {"error": title, "detail": str(exc), "table": exc.table, "attribute": exc.attribute}
    return PipelineErrorSerializer(body).data, status


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: :func:`error_body` for data-model errors; a body that is not
    valid JSON, on a view with ``parse_error_path = True`` (the query view), gives 400
    ``{"error": message, "path": ""}``; everything else goes to DRF's default handler
    (``None`` there means an unhandled exception, a 500)."""
    if isinstance(exc, dm.DataJointError):
        body, status = error_body(exc)
        return Response(body, status=status)
    if isinstance(exc, ParseError) and getattr(context.get("view"), "parse_error_path", False):
        body = QueryDescriptionErrorSerializer({"error": str(exc.detail), "path": ""}).data
        return Response(body, status=http.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
