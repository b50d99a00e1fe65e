"""``manage.py ensure_admin``: create or update LabBook's administrator. Idempotent.

* ``LABBOOK_ADMIN_USER`` (default ``admin``) names the account; it is made an active staff
  superuser every time.
* ``LABBOOK_ADMIN_PASSWORD`` set: the password is (re)set to it.
* not set, account absent: a random password is generated, written to
  ``var/admin-password.txt`` (mode 0600) and printed.
* not set, account present: the password is left alone and the command says where the
  generated one was stored.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction


def password_file() -> Path:
    """Return the path where a generated admin password is stored."""
    return Path(settings.BASE_DIR) / "var" / "admin-password.txt"


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.chmod(path, 0o600)


class Command(BaseCommand):
    """Create or update the LabBook administrator from the environment."""

    help = (
        "Create/update the admin superuser from LABBOOK_ADMIN_USER (default 'admin') and "
        "LABBOOK_ADMIN_PASSWORD; without a password a new account gets a generated one, "
        "stored in var/admin-password.txt."
    )

    def handle(self, *args, **options) -> None:
        """Ensure the admin account exists with the configured username and password."""
        username = os.environ.get("LABBOOK_ADMIN_USER", "").strip() or "admin"
        password = os.environ.get("LABBOOK_ADMIN_PASSWORD", "")
        email = os.environ.get("LABBOOK_ADMIN_EMAIL", "")
        User = get_user_model()

        with transaction.atomic():
            user = (
                User.objects.select_for_update().filter(**{User.USERNAME_FIELD: username}).first()
            )
            created = user is None
            if created:
                user = User(**{User.USERNAME_FIELD: username})
                if email:
                    user.email = email
            user.is_staff = True
            user.is_superuser = True
            user.is_active = True
            generated = None
            if password:
                user.set_password(password)
            elif created:
                generated = secrets.token_urlsafe(15)
                user.set_password(generated)
            user.save()

        path = password_file()
        if generated is not None:
            write_secret(path, generated)
            self.stdout.write(
                f"Created admin user '{username}' with password: {generated}\n"
                f"(stored in {path}, mode 0600)"
            )
        elif password:
            verb = "Created" if created else "Updated"
            self.stdout.write(
                f"{verb} admin user '{username}' (password from LABBOOK_ADMIN_PASSWORD)."
            )
        elif path.exists():
            self.stdout.write(
                f"Admin user '{username}' exists; its generated password is stored in {path}."
            )
        else:
            self.stdout.write(
                f"Admin user '{username}' exists; password unchanged "
                "(set LABBOOK_ADMIN_PASSWORD to reset it)."
            )
