r"""``manage.py grant``: give, take back and list roles on schema patterns.

* ``grant USER PATTERN ROLE`` grants ROLE to the user on the schemas matching PATTERN
  (MySQL-grant style: ``%`` any sequence, ``_`` one character, ``\_`` and ``\%`` literal;
  quote it for the shell: ``'lab\_%'``); a grant to the same holder on the same pattern is
  changed to ROLE.
* ``grant @GROUP PATTERN ROLE`` does the same for a group (created if absent).
* ``grant USER_OR_@GROUP PATTERN --revoke`` removes that grant.
* ``grant --list [USER_OR_@GROUP]`` prints the grants (all, or one holder's).

Like every command on the server, it is beyond the role system: a shell there is trusted.
Grants made here record ``cli:<OS user>`` as their maker; the Django admin
(``/admin/pipeline_core/rolegrant/``) lists and edits the same grants.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from pipeline_core import services
from pipeline_core.models import RoleGrant
from pipeline_core.principal import Actor, acting_as, os_user
from pipeline_core.roles import ROLE_NAMES, Role


class Command(BaseCommand):
    """Grant, revoke or list roles on schema patterns."""

    help = (
        "Grant a role on schemas: `grant USER_OR_@GROUP PATTERN ROLE`; "
        "`grant USER_OR_@GROUP PATTERN --revoke`; `grant --list [USER_OR_@GROUP]`. "
        f"Roles, lowest first: {', '.join(ROLE_NAMES)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("holder", nargs="?", help="a user name, or @group for a group")
        parser.add_argument("pattern", nargs="?", help=r"schema pattern, e.g. 'lab\_%%' or %%")
        parser.add_argument("role", nargs="?", choices=ROLE_NAMES, help="the role to grant")
        parser.add_argument("--revoke", action="store_true", help="remove the grant instead")
        parser.add_argument("--list", action="store_true", help="print the grants")

    def handle(self, *args, **options):
        with acting_as(Actor.shell()):  # the trusted shell, for the audit of grant changes
            self.dispatch(options)

    def dispatch(self, options: dict) -> None:
        """Do what the options ask: list, revoke or grant."""
        holder, pattern, role = options["holder"], options["pattern"], options["role"]
        if options["list"]:
            if pattern or role:
                raise CommandError("--list takes at most a holder (USER or @GROUP)")
            self.show(self.find_holder(holder, create=False) if holder else None)
            return
        if not holder or not pattern:
            raise CommandError("give USER_OR_@GROUP PATTERN ROLE (or --revoke, or --list)")
        if options["revoke"]:
            if role:
                raise CommandError("--revoke takes USER_OR_@GROUP PATTERN, without a role")
            self.revoke(self.find_holder(holder, create=False), pattern)
        elif not role:
            raise CommandError(f"which role? one of {', '.join(ROLE_NAMES)}")
        else:
            self.grant(self.find_holder(holder, create=True), pattern, Role.parse(role))

    def find_holder(self, text: str, create: bool) -> dict:
        """``{"user": User}`` or ``{"group": Group}`` for ``name`` / ``@group``; a missing
        group is created when ``create``.

        Raises:
            CommandError: no such user (or group, when not creating).
        """
        if text.startswith("@"):
            name = text[1:]
            if not name:
                raise CommandError("@ needs a group name: @GROUP")
            group = Group.objects.filter(name=name).first()
            if group is None and create:
                group = Group.objects.create(name=name)
                self.stdout.write(f"created group {name}")
            if group is None:
                raise CommandError(f"no group named {name!r}")
            return {"group": group}
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: text}).first()
        if user is None:
            raise CommandError(f"no user named {text!r} (a group is written @{text})")
        return {"user": user}

    @transaction.atomic
    def grant(self, holder: dict, pattern: str, role: Role) -> None:
        """Create the grant, or change the role of the holder's grant on ``pattern``."""
        grant = RoleGrant.objects.filter(schema_pattern=pattern, **holder).first()
        if grant is None:
            grant = RoleGrant(schema_pattern=pattern, created_by=f"cli:{os_user()}", **holder)
        before = grant.role
        state = services.grant_state(grant) if grant.pk else None
        grant.role = role.label
        try:
            grant.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        grant.save()
        with acting_as(Actor.shell()):
            services.record_grant(state, services.grant_state(grant))
        change = f" (was {before})" if before and before != role.label else ""
        self.stdout.write(f"granted {grant}{change}")

    @transaction.atomic  # a revocation whose event cannot be recorded is undone
    def revoke(self, holder: dict, pattern: str) -> None:
        """Delete the holder's grant on ``pattern``.

        Raises:
            CommandError: there is none.
        """
        grants = list(RoleGrant.objects.filter(schema_pattern=pattern, **holder))
        if not grants:
            raise CommandError(f"no grant on {pattern!r} to revoke")
        for grant in grants:
            self.stdout.write(f"revoked {grant}")
            state = services.grant_state(grant)
            grant.delete()
            with acting_as(Actor.shell()):
                services.record_grant(state, None)

    def show(self, holder: dict | None) -> None:
        """Print the grants, one per line: holder, role, pattern, when and by whom."""
        grants = RoleGrant.objects.select_related("user", "group").filter(**(holder or {}))
        rows = [
            (g.principal, g.role, g.schema_pattern, f"{g.created:%Y-%m-%d %H:%M}", g.created_by)
            for g in grants
        ]
        if not rows:
            self.stdout.write("no grants")
            return
        widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
        for row in rows:
            self.stdout.write(
                "  ".join(str(v).ljust(w) for v, w in zip(row, widths))
                + f"  {row[3]}  {row[4] or ''}".rstrip()
            )
