"""The rows API (issue #12): keyset pages of a table's rows, a batch of new rows, part rows
and updates checked whole and saved in one transaction (or only checked), ``update1`` of
one row, deletes with their cascade preview, and undo of a saved batch. The same services
as the grid (:mod:`pipeline_core.services.rows`, :mod:`pipeline_core.services.undo`)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import status as http
from rest_framework.response import Response

from pipeline_core import services

from .openapi import AnyOf, api_operation
from .row_serializers import (
    BatchErrorSerializer,
    CheckedSerializer,
    DeletedSerializer,
    DeleteRowsSerializer,
    RowsPageQuerySerializer,
    RowsPageSerializer,
    SavedSerializer,
    SaveRowsSerializer,
    UndoneSerializer,
    UpdatedSerializer,
    UpdateSerializer,
)
from .serializers import (
    DetailSerializer,
    PipelineErrorSerializer,
    QueryDescriptionErrorSerializer,
)
from .validation import valid
from .views import PipelineAPIView

_NOT_FOUND = OpenApiResponse(
    PipelineErrorSerializer, "A schema or table that is not visible or not there."
)
_BATCH = OpenApiResponse(
    AnyOf("BadRows", [BatchErrorSerializer, PipelineErrorSerializer, DetailSerializer]),
    "`{errors: [...]}`: every problem of the batch by list, row and attribute, nothing "
    "written; or a malformed body (`{error, detail, table, attribute}`; `{detail}`: not "
    "JSON).",
)
_NOT_ENTERED = OpenApiResponse(
    PipelineErrorSerializer, "Not a Manual or Lookup table (rows come from populate)."
)
SAVE_EXAMPLE = {
    "rows": [{"subject_id": "Mickey", "session_datetime": "2024-05-01 10:00", "rig": "A"}],
    "parts": {"Trial": [{"subject_id": 1, "session_datetime": "2024-05-01 10:00", "trial": 1}]},
    "dry_run": True,
}


class RowsView(PipelineAPIView):
    """``/api/v1/schemas/<schema>/tables/<table>/rows/``: GET a keyset page, POST a batch
    (``entry``; updates in it need ``editor``), PATCH one row (``editor``)."""

    labbook_action = {"GET": "view", "POST": "insert", "PATCH": "update"}

    @api_operation(
        ok=RowsPageSerializer,
        parameters=[RowsPageQuerySerializer],
        errors={
            400: OpenApiResponse(PipelineErrorSerializer, "A bad `limit` or `after`."),
            404: _NOT_FOUND,
        },
        operation_id="rows_list",
        summary="A page of a table's rows",
        description="Rows in primary-key order, `limit` at a time (keyset paging: never "
        "COUNT or OFFSET); send `next` back as `after` for the next page.",
    )
    def get(self, request, schema: str, table: str):
        """One page: ``{"rows", "next", "heading"}``."""
        params = valid(RowsPageQuerySerializer(data=request.query_params))
        page = services.page_of_rows(schema, table, params["limit"], params.get("after"))
        return Response(RowsPageSerializer(page).data, status=http.HTTP_200_OK)

    @api_operation(
        ok_status=201,
        ok=SavedSerializer,
        request=SaveRowsSerializer,
        errors={
            200: CheckedSerializer,
            400: _BATCH,
            404: _NOT_FOUND,
            409: _NOT_ENTERED,
        },
        operation_id="rows_save",
        summary="Check, then insert rows (with part rows) and updates in one transaction",
        description="Values may be text as typed or pasted; a foreign-key cell may hold a "
        "parent's label (resolved against the parent: no match or several is an error). "
        "Every problem is reported by list, row and attribute and nothing is written; "
        "`dry_run: true` only checks (200 with `errors`, empty when the batch would be "
        "accepted). Saved: 201 with the batch id, which `batches/<id>/undo/` takes back.",
        examples=[OpenApiExample("Sessions and trials", value=SAVE_EXAMPLE, request_only=True)],
    )
    def post(self, request, schema: str, table: str):
        """Save (201 ``{"inserted", "updated", "batch", "keys"}``) or check (200)."""
        body = valid(SaveRowsSerializer(data=request.data))
        result = services.save_rows(
            schema,
            table,
            request.user,
            body["rows"],
            body["parts"],
            [dict(u) for u in body["updates"]],
            dry_run=body["dry_run"],
        )
        if body["dry_run"]:
            return Response(CheckedSerializer(result).data, status=http.HTTP_200_OK)
        return Response(SavedSerializer(result).data, status=http.HTTP_201_CREATED)

    @api_operation(
        ok=UpdatedSerializer,
        request=UpdateSerializer,
        errors={400: _BATCH, 404: _NOT_FOUND, 409: _NOT_ENTERED},
        operation_id="rows_update",
        summary="update1: change one row's secondary attributes",
        description="`key`: the row's whole primary key; `set`: secondary attributes only "
        "(primary keys are not editable). The row must exist.",
    )
    def patch(self, request, schema: str, table: str):
        """``update1``: ``{"updated": 1, "batch"}``."""
        body = valid(UpdateSerializer(data=request.data))
        result = services.update_row(schema, table, request.user, body["key"], body["set"])
        return Response(UpdatedSerializer(result).data, status=http.HTTP_200_OK)


class DeleteRowsView(PipelineAPIView):
    """``POST .../rows/delete/``: the cascade preview (``dry_run``, the default) or the
    delete, of rows chosen by a condition or by keys (``editor`` on every schema reached)."""

    labbook_action = {"POST": "delete", "OPTIONS": "view"}

    @api_operation(
        ok=DeletedSerializer,
        request=DeleteRowsSerializer,
        errors={
            400: OpenApiResponse(
                AnyOf(
                    "BadDelete",
                    [PipelineErrorSerializer, QueryDescriptionErrorSerializer, DetailSerializer],
                ),
                "Neither or both of `restriction` and `keys`, an invalid condition, or a body "
                "that is not JSON (`{detail}`).",
            ),
            404: _NOT_FOUND,
            409: OpenApiResponse(PipelineErrorSerializer, "Rows of a part table."),
        },
        operation_id="rows_delete",
        summary="Delete rows with everything downstream (preview first)",
        description="`restriction` is a condition in the JSON query description's form, "
        'e.g. `{"attribute": "subject_id", "operator": "=", "value": 7}`; or `keys`, a list '
        "of primary keys. `dry_run: true` (default) returns the rows per table the delete "
        "would remove, across schemas, part rows with their masters.",
    )
    def post(self, request, schema: str, table: str):
        """``{"counts"}``, and after a delete ``"deleted"`` and ``"batch"``."""
        body = valid(DeleteRowsSerializer(data=request.data))
        result = services.delete_rows(
            schema,
            table,
            request.user,
            restriction=body.get("restriction"),
            keys=body.get("keys"),
            dry_run=body["dry_run"],
        )
        return Response(DeletedSerializer(result).data, status=http.HTTP_200_OK)


class UndoView(PipelineAPIView):
    """``POST /api/v1/batches/<batch>/undo/``: take back a saved batch. The role is
    checked per schema of the batch in the service (``entry`` to take back inserts,
    ``editor`` to restore updated rows)."""

    labbook_action = {"POST": "view", "OPTIONS": "view"}

    @api_operation(
        ok=UndoneSerializer,
        request=None,
        errors={
            404: OpenApiResponse(PipelineErrorSerializer, "No such batch."),
            409: OpenApiResponse(
                PipelineErrorSerializer,
                "Cannot undo: undone already, rows changed since, or rows entered below the "
                "batch's rows since (the dependent table is named).",
            ),
        },
        operation_id="batch_undo",
        summary="Undo a saved batch",
        description="Deletes the rows the batch inserted (refused when rows were entered "
        "below them since) and restores the previous values of rows it updated, in one "
        "transaction.",
    )
    def post(self, request, batch: str):
        """``{"undone", "batch", "deleted", "restored"}``."""
        return Response(
            UndoneSerializer(services.undo(batch, request.user)).data, status=http.HTTP_200_OK
        )
