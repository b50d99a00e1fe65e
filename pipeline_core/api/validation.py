"""Request bodies and query parameters checked by their serializers, refusals in the API's
one error shape."""

from __future__ import annotations

from django.http import QueryDict
from rest_framework import serializers

from pipeline_core import datamodel as dm

_NUMBERS = (serializers.IntegerField, serializers.FloatField, serializers.DecimalField)


def valid(serializer: serializers.Serializer) -> dict:
    """The validated data of ``serializer`` (built with ``data=``).

    Raises:
        QueryError: the first field at fault and why (400 ``{error, detail, table,
            attribute}`` through the exception handler).
    """
    data = getattr(serializer, "initial_data", None)
    if isinstance(data, QueryDict):  # an empty query parameter is no value for a number
        for name, field in serializer.fields.items():
            if data.get(name) == "" and isinstance(field, _NUMBERS):
                raise dm.QueryError(f"`{name}`: a value is required (the parameter is empty)")
    if not serializer.is_valid():
        field, reasons = next(iter(serializer.errors.items()))
        raise dm.QueryError(f"`{field}`: {reasons[0] if isinstance(reasons, list) else reasons}")
    return serializer.validated_data
