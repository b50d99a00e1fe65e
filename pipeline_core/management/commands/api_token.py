"""``manage.py api_token USER [--rotate | --revoke]``: show (making it if needed), rotate or
revoke a user's API token (:mod:`pipeline_core.api.tokens`), for administrators and
scripts. The key is printed alone on stdout, so that ``KEY=$(manage.py api_token alice)``
works; what happened goes to stderr."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from pipeline_core.api.tokens import issue_token, revoke_token


class Command(BaseCommand):
    """Print, rotate or revoke the API token of one user."""

    help = (
        "Print USER's API token (made if USER has none); --rotate: a new key (the old one "
        "stops working); --revoke: delete it. Use it as 'Authorization: Token <key>'."
    )

    def add_arguments(self, parser) -> None:
        """USER and one of --rotate / --revoke."""
        parser.add_argument("user", help="user name")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--rotate", action="store_true", help="replace the key by a new one")
        action.add_argument("--revoke", action="store_true", help="delete the token")

    def handle(self, *args, **options) -> None:
        """Find the user, then print, rotate or revoke its token."""
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: options["user"]})
        except User.DoesNotExist:
            raise CommandError(f"No user {options['user']!r}.") from None
        name = user.get_username()
        if options["revoke"]:
            revoked = revoke_token(user)
            self.stderr.write(f"Token of {name} revoked." if revoked else f"{name} had no token.")
            return
        if not user.is_active:
            self.stderr.write(f"Warning: {name} is inactive; the API refuses its token.")
        token, made = issue_token(user, rotate=options["rotate"])
        if options["rotate"]:
            self.stderr.write(f"New token of {name} (the old one no longer works):")
        elif made:
            self.stderr.write(f"Token of {name} made:")
        self.stdout.write(token.key)
