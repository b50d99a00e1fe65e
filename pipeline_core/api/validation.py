"""Request bodies and query parameters checked by their serializers, refusals in the API's
one error shape."""

from __future__ import annotations

from rest_framework import serializers

from pipeline_core import datamodel as dm


def valid(serializer: serializers.Serializer) -> dict:
    """The validated data of ``serializer`` (built with ``data=``).

    Raises:
        QueryError: the first field at fault and why (400 ``{error, detail, table,
            attribute}`` through the exception handler).
    """
    if not serializer.is_valid():
        field, reasons = next(iter(serializer.errors.items()))
        raise dm.QueryError(f"`{field}`: {reasons[0] if isinstance(reasons, list) else reasons}")
    return serializer.validated_data
