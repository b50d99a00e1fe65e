"""How the JSON API describes itself in OpenAPI 3.1 (drf-spectacular): the responses every
endpoint documents, the JSON query description as components taken from its one JSON Schema
(:data:`pipeline_core.datamodel.query_json.schema.SCHEMA`), and ``anyOf`` responses.

Every API view documents its operations with :func:`api_operation`, which adds the responses
any endpoint may give (401, 403, 503) to those the view names, so that nothing an endpoint
can answer is left out of ``/api/v1/schema/`` (schemathesis checks it, see
``tests/web/test_api_schemathesis.py``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from .serializers import DetailSerializer, PipelineErrorSerializer


class AnyOf(serializers.BaseSerializer):
    """Documentation only: a response that is one of several serializers' shapes which may
    overlap (DRF's ``{"detail"}`` and a pipeline error, which has a ``detail`` too), so
    ``anyOf`` where drf-spectacular's ``PolymorphicProxySerializer`` gives ``oneOf``.

    Args:
        component_name: the component's name in the schema.
        choices: the serializer classes it may be.
    """

    def __init__(self, component_name: str, choices: list[type[serializers.BaseSerializer]]):
        super().__init__()
        self.component_name = component_name
        self.choices = choices

    def to_representation(self, instance: Any) -> Any:
        """Never used to build a response."""
        raise NotImplementedError("AnyOf only documents responses")


class AnyOfExtension(OpenApiSerializerExtension):
    """Maps :class:`AnyOf` to ``{"anyOf": [refs]}`` under its component name."""

    target_class = AnyOf

    def get_name(self, auto_schema, direction) -> str:
        """The :class:`AnyOf`'s component name."""
        return self.target.component_name

    def get_identity(self, auto_schema, direction) -> Any:
        """Two AnyOf of one name are one component."""
        return ("AnyOf", self.target.component_name)

    def map_serializer(self, auto_schema, direction) -> dict:
        """``anyOf`` the components of the choices (registered as they are resolved)."""
        refs = [auto_schema.resolve_serializer(c, direction).ref for c in self.target.choices]
        return {"anyOf": refs}


#: The ``WWW-Authenticate`` challenge (``Token``) of every 401, as DRF sends it.
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    str,
    location=OpenApiParameter.HEADER,
    response=[401],
    required=True,
    description="`Token`: send `Authorization: Token <key>` (or log in for a session).",
)


def common_responses() -> dict[int, OpenApiResponse]:
    """The responses any API endpoint may give besides its own: 401 (no or a bad token or
    session), 403 (not permitted, a session request without CSRF token, or refused by the
    database) and 503 (the pipeline database is unavailable)."""
    return {
        401: OpenApiResponse(
            DetailSerializer,
            "Not authenticated: no credentials, or an invalid, revoked or inactive user's token.",
        ),
        403: OpenApiResponse(
            AnyOf("Forbidden", [DetailSerializer, PipelineErrorSerializer]),
            "Not permitted (`{detail}`: the user's role, or a session request without its CSRF "
            "token), or refused by the pipeline database (`{error, detail, table, attribute}`).",
        ),
        503: OpenApiResponse(PipelineErrorSerializer, "The pipeline database is unavailable."),
    }


def api_operation(
    *,
    ok: Any,
    errors: dict[int, Any] | None = None,
    parameters: list | None = None,
    ok_status: int = 200,
    ok_media: tuple[str, ...] = (),
    **kwargs: Any,
):
    """``extend_schema`` for an API view method: ``ok`` (status ``ok_status``; JSON, or each
    media type of ``ok_media`` when the answer is not JSON), the view's own ``errors``
    ({status: serializer or OpenApiResponse}) and :func:`common_responses`, with the 401's
    ``WWW-Authenticate`` header; other keyword arguments go to ``extend_schema``."""
    answers = {(ok_status, media): ok for media in ok_media} if ok_media else {ok_status: ok}
    responses = {**answers, **common_responses(), **(errors or {})}
    return extend_schema(
        responses=dict(sorted(responses.items(), key=lambda item: _status_order(item[0]))),
        parameters=[WWW_AUTHENTICATE, *(parameters or [])],
        **kwargs,
    )


def _status_order(key: int | tuple[int, str]) -> tuple[int, str]:
    return key if isinstance(key, tuple) else (key, "")
