"""API token authentication that counts failures with django-axes, like the login form.

A request with an ``Authorization: Token <key>`` header whose key is unknown is a failed
login: it is recorded by django-axes (``user_login_failed``) under the client's address and
the pseudo user name :data:`TOKEN_USERNAME`, so that guessing keys is throttled by the same
limits as guessing passwords (``LABBOOK_LOGIN_FAILURE_LIMIT`` failures, then locked out for
``LABBOOK_LOGIN_COOLOFF`` seconds; README "Deploying"). A locked-out client gets 429 with
``Retry-After`` before its key is even looked up, whether the key is right or wrong.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.contrib.auth.signals import user_login_failed
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled

from pipeline_core.lockout import MESSAGE

#: The user name axes records token failures under (lock-outs are per address for tokens).
TOKEN_USERNAME = "(api token)"


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's ``TokenAuthentication``, with failures counted and lock-outs applied by axes.

    Raises:
        Throttled: the client is locked out (HTTP 429, ``Retry-After`` in seconds).
        AuthenticationFailed: the key is unknown or its user inactive (HTTP 401), after the
            failure was recorded.
    """

    def authenticate(self, request):
        if not self._has_token_header(request):
            return None
        http_request = request._request
        credentials = {"username": TOKEN_USERNAME}
        if AxesProxyHandler.is_locked(http_request, credentials):
            cool_off = get_cool_off(http_request)
            raise Throttled(
                wait=cool_off.total_seconds() if cool_off else None,
                detail=MESSAGE,
            )
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            user_login_failed.send(sender=type(self), credentials=credentials, request=http_request)
            raise

    def _has_token_header(self, request) -> bool:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        return header.split(" ", 1)[0].lower() == self.keyword.lower()
