"""API tokens (DRF's ``rest_framework.authtoken``): one per user, sent as
``Authorization: Token <key>``. Users make, rotate and revoke their own on the page
``/account/token/`` (:mod:`pipeline_core.web.account`); administrators and scripts use
``manage.py api_token USER [--rotate | --revoke]``. Both go through these functions.

A revoked or rotated key stops working at once (DRF looks the key up on every request); the
token of an inactive user is refused by DRF ("User inactive or deleted.", 401).
"""

from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token


def token_of(user) -> Token | None:
    """The user's token, or None."""
    return Token.objects.filter(user=user).first()


def issue_token(user, *, rotate: bool = False) -> tuple[Token, bool]:
    """The user's token, made if there is none; ``rotate``: always a new key (the old one
    stops working). Returns ``(token, made)``, ``made`` telling whether the key is new."""
    with transaction.atomic():
        if rotate:
            Token.objects.filter(user=user).delete()
        token, made = Token.objects.get_or_create(user=user)
    return token, made


def revoke_token(user) -> bool:
    """Delete the user's token; whether there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


def key_hint(token: Token) -> str:
    """The first characters of a key, enough to recognise it, not to use it."""
    return token.key[:6] + "…"
