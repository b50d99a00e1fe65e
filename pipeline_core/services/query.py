"""Running JSON query descriptions (:mod:`pipeline_core.datamodel.query_json`) for the web
and the API: visible schemas only, one keyset page at a time, JSON-safe values with blobs and
stored values summarised from what the row holds (no store is read)."""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from typing import Any

import numpy as np
from django.conf import settings

from pipeline_core.datamodel import query_json
from pipeline_core.datamodel.errors import MissingTableError
from pipeline_core.datamodel.heading import Attribute, TableInfo
from pipeline_core.datamodel.paging import page
from pipeline_core.datamodel.stores import Attachment, BlobRef, NpyRef, ObjectRef

from .access import NotFoundError, check_viewable, connection

#: Rows per page when the description gives no ``limit``.
QUERY_PAGE_SIZE = 100


def viewable_resolver(user, *, placed: bool = False):
    """``resolve(schema, table) -> TableInfo`` for tables of visible schemas ``user`` may
    view; any other schema raises NotFoundError, a non-viewable one exactly as an unknown
    one. ``placed=True`` (the query builder's page): such a schema is a description error
    at the place naming it (``from.schema``) instead, with the same message."""
    resolve = query_json.catalog_resolver(connection())

    def resolve_viewable(schema: str, table: str) -> TableInfo:
        try:
            check_viewable(schema, user)
        except NotFoundError as exc:
            if not placed:
                raise
            raise MissingTableError(str(exc)) from None
        return resolve(schema, table)

    return resolve_viewable


def heading_json(heading) -> list[dict]:
    """``[{"name", "type", "in_key", "nullable", "comment"}]``: a heading (of a table or a
    query) as the API gives it."""
    return [
        {
            "name": a.name,
            "type": a.type,
            "in_key": a.in_key,
            "nullable": a.nullable,
            "comment": a.comment,
        }
        for a in heading
    ]


def run_query(description: dict, user, *, placed: bool = False) -> dict:
    """Run a JSON query description for ``user`` and return one page of its rows.

    Args:
        description: the parsed JSON (see :mod:`pipeline_core.datamodel.query_json`).
        user: the Django user asking; every schema the description names must be one they
            may view (:mod:`pipeline_core.roles`), else it is reported as unknown.
    Returns:
        ``{"query": canonical description, "heading": [{"name", "type", "in_key",
        "nullable", "comment"}], "primary_key": [names], "rows": [{name: JSON value}],
        "cursor": {name: JSON value} or None}``; pass ``cursor`` back as ``after`` for the
        next page (None on the last page). Blobs, bytes and stored values are summarised
        as objects (see :func:`json_value`).
    Raises:
        NotFoundError: a schema outside ``LABBOOK_SCHEMA_PREFIX``, absent, or one ``user``
            may not view (with ``placed=True``: a QueryDescriptionError at its path).
        QueryDescriptionError: an invalid description (``path`` names where).
        QueryTimeoutError: the query ran longer than ``settings.LABBOOK_QUERY_TIMEOUT``.
        DataJointError: the server refused the query.
    """
    resolve = viewable_resolver(user, placed=placed)
    query = query_json.to_query(description, connection(), resolve=resolve)
    expr = query.expression
    rows, cursor = page(
        expr,
        query.order_by,
        query.after,
        query.limit or QUERY_PAGE_SIZE,
        lazy=True,
        timeout=settings.LABBOOK_QUERY_TIMEOUT or None,
    )
    heading = expr.heading
    return {
        "query": query_json.to_description(query),
        "heading": heading_json(heading),
        "primary_key": heading.primary_key,
        "rows": [
            {name: json_value(heading[name], value) for name, value in row.items()} for row in rows
        ],
        "cursor": None
        if cursor is None
        else {n: json_value(heading[n], v) for n, v in cursor.items()},
    }


def json_value(attr: Attribute, value: Any) -> Any:
    """A fetched value as JSON: scalars as themselves (``bool`` attributes as true/false),
    dates and times as ISO text, decimals and uuids as text, non-finite floats as
    ``"NaN"``/``"Infinity"``; blobs, bytes and stored values as a summary object with
    ``"kind"`` (``blob``, ``bytes``, ``stored``, ``attachment``, ``object``, ``npy``) and what
    their metadata tells (``dtype``, ``shape``, ``size``, ``name``, ``store``, ``path``)."""
    if value is None:
        return None
    if isinstance(value, (BlobRef, Attachment, ObjectRef, NpyRef)):
        return _stored_summary(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"kind": "bytes", "size": len(value)}
    if attr.is_blob or isinstance(value, np.ndarray):
        return _blob_summary(value)
    if isinstance(value, (bool, np.bool_)) or (
        attr.base_type == "bool" and isinstance(value, (int, np.integer))
    ):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return (
            value
            if math.isfinite(value)
            else ("NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity")
        )
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return (
            f"{sign}{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{seconds % 60:09.6f}"
        )
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (str, dict, list)):
        return value  # text, and json attributes (already JSON)
    return {"kind": "value", "type": type(value).__name__}


def _blob_summary(value: Any) -> dict:
    if isinstance(value, np.ndarray):
        return {
            "kind": "blob",
            "dtype": "struct" if value.dtype.names else value.dtype.name,
            "shape": list(value.shape),
        }
    if isinstance(value, (dict, list, tuple)):
        return {"kind": "blob", "type": type(value).__name__, "length": len(value)}
    return {"kind": "blob", "type": type(value).__name__}


def _stored_summary(value: Any) -> dict:
    if isinstance(value, BlobRef):
        return {"kind": "stored", "store": value.store, "size": value.size}
    if isinstance(value, Attachment):
        return {"kind": "attachment", "name": value.known_name, "size": value.size}
    if isinstance(value, ObjectRef):
        return {
            "kind": "object",
            "store": value.store,
            "path": value.path,
            "size": value.size,
            "folder": value.is_dir,
        }
    return {
        "kind": "npy",
        "store": value.store,
        "dtype": value.dtype.name,
        "shape": list(value.shape),
    }
