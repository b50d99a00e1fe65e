"""The HTTP side of an export, shared by both front doors (the web's table pages and the
API's query export): the streamed response of a :class:`~pipeline_core.services.export.
Export`, and the download URLs put in it. Nothing here reads the database."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header

from pipeline_core.keys import encode_key

#: Response header present when ``LABBOOK_EXPORT_MAX_ROWS`` left rows out: the number of
#: rows the file holds.
TRUNCATED_HEADER = "X-LabBook-Truncated"


def download_url(table, attribute: str, key: dict) -> str:
    """The web's download URL (an absolute path) of the file in ``attribute`` of the row
    ``key`` of ``table`` (a TableInfo): ``/schemas/<s>/tables/<t>/download/<a>/?key=<token>``.

    Raises:
        TypeError: a key value no token can carry.
    """
    path = reverse("web:download", args=[table.database, table.table_name, attribute])
    return f"{path}?key={encode_key(key)}"


def streaming_response(export) -> StreamingHttpResponse:
    """The export as a download: ``Content-Type`` of its format, ``Content-Disposition:
    attachment`` with its file name, not cached nor buffered by a proxy
    (``X-Accel-Buffering: no``), :data:`TRUNCATED_HEADER` when capped; the body streamed
    chunk by chunk (the query ends when the response is closed)."""
    # the Export itself: Django iterates it and calls its close() when the response closes
    response = StreamingHttpResponse(export, content_type=export.format.content_type)
    response["Content-Disposition"] = content_disposition_header(True, export.filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass the rows on as they come
    if export.truncated is not None:
        response[TRUNCATED_HEADER] = str(export.truncated)
    return response
