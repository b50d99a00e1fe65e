"""Encoding the rows of an insert, stored values included (spec §2.2, §5, §8.1).

In-table values go through :func:`.values.encode_for_write` (encoding and the column's
domain); ``<codec@store>`` values are written to
their store first (:func:`.stores.encode.encode_stored`) and the column gets the JSON.
Objects created are recorded in an :class:`~.stores.uploads.UploadLog`, which the insert
discards if its rows are not committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import values as value_codec
from .codecs.blob import BlobError
from .errors import DataJointError, InvalidValueError
from .heading import Attribute, Heading
from .stores.config import StoreError
from .stores.encode import WriteContext, encode_stored
from .stores.references import referenced_uploads
from .stores.uploads import UploadLog
from .tableref import TableRef


def is_stored(attr: Attribute) -> bool:
    """True for 2.x ``<codec@store>`` attributes (values live in a store, the column holds JSON)."""
    return attr.store is not None and not attr.is_legacy_reference


def upload_log(conn) -> UploadLog:
    """An :class:`UploadLog` for one write through ``conn``."""
    return UploadLog(conn.stores, lambda uploads: referenced_uploads(conn, uploads))


def encode_rows(
    conn,
    table: TableRef,
    heading: Heading,
    fields: Sequence[str],
    rows: Sequence[dict],
    uploads: UploadLog | None,
) -> list[list[Any]]:
    """Driver parameters for ``rows`` (dicts with exactly ``fields``), writing stored
    values to their stores.

    Raises:
        InvalidValueError: a value does not fit its attribute (names table and attribute).
        StoreError: a store is not configured or refuses the object (names both too).
        DataJointError: a value for a 0.14 external reference (LabBook does not write them).
    """
    key_names = [k for k in heading.primary_key if k in fields]
    encoded = []
    for row in rows:
        context = None
        out = []
        for name in fields:
            attr, value = heading[name], row[name]
            if value is None or not is_stored(attr):
                if attr.is_legacy_reference and value is not None:
                    raise DataJointError(
                        f"{table}: attribute `{name}` is a DataJoint 0.14 external reference "
                        f"({attr.type}); LabBook reads these but does not write them",
                        table=table,
                        attribute=name,
                    )
                out.append(value_codec.encode_for_write(attr, value, table))
                continue
            if context is None:
                context = WriteContext(
                    conn.stores,
                    table.database,
                    table.table,
                    {k: row[k] for k in key_names},
                    uploads,
                )
            out.append(_encode_stored(table, attr, value, context))
        encoded.append(out)
    return encoded


def _encode_stored(table: TableRef, attr: Attribute, value: Any, context: WriteContext) -> str:
    try:
        return encode_stored(attr.name, attr.codec, attr.store, value, context)
    except StoreError as exc:
        raise StoreError(
            f"{table}: attribute `{attr.name}` ({attr.type}): {exc}",
            table=table,
            attribute=attr.name,
        ) from exc
    except (TypeError, ValueError, BlobError) as exc:
        raise InvalidValueError(
            f"{table}: invalid value for attribute `{attr.name}` of type {attr.type}: {exc}",
            table=table,
            attribute=attr.name,
        ) from exc
