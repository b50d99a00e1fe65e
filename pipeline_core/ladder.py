"""The role ladder and the actions: which role each action needs at least.

The rest of the role system (who holds which role where, and the checks) is in
:mod:`pipeline_core.roles`, which re-exports everything here. This module imports no Django
models (settings and models read it).
"""

from __future__ import annotations

import enum

from django.core.exceptions import ImproperlyConfigured

#: App label of the permissions: ``pipeline_core.<action>``.
PERMISSION_PREFIX = "pipeline_core."


class Role(enum.IntEnum):
    """A rung of the ladder; comparisons follow it (``Role.ENTRY < Role.EDITOR``)."""

    VIEWER = 1
    ENTRY = 2
    EDITOR = 3
    OPERATOR = 4
    ADMIN = 5

    @property
    def label(self) -> str:
        """The role's name as written in settings, grants and pages (``"operator"``)."""
        return self.name.lower()

    @property
    def description(self) -> str:
        """What the role may do, in words."""
        return DESCRIPTIONS[self]

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text`` (case and surrounding space ignored).

        Raises:
            ValueError: no such role (the message lists the roles).
        """
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not a role; roles are {', '.join(ROLE_NAMES)}") from None

    def __str__(self) -> str:
        return self.label


#: Role names, lowest first.
ROLE_NAMES = tuple(role.label for role in Role)
#: (value, label) pairs for Django model choices.
ROLE_CHOICES = tuple((role.label, role.label) for role in Role)

DESCRIPTIONS = {
    Role.VIEWER: "browse, query and download",
    Role.ENTRY: "browse, and insert new rows",
    Role.EDITOR: "browse, insert, update, delete and undo rows",
    Role.OPERATOR: "edit rows, populate and manage jobs",
    Role.ADMIN: "everything, including grants and declaring or altering tables",
}

#: Every action and the least role it needs. Permissions are ``pipeline_core.<action>``.
ACTIONS: dict[str, Role] = {
    "view": Role.VIEWER,
    "insert": Role.ENTRY,
    "update": Role.EDITOR,
    "delete": Role.EDITOR,
    "undo": Role.EDITOR,
    "populate": Role.OPERATOR,
    "retry": Role.OPERATOR,
    "ignore": Role.OPERATOR,
    "cancel": Role.OPERATOR,
    "clear_errors": Role.OPERATOR,
    "grant": Role.ADMIN,
    "declare": Role.ADMIN,
    "alter": Role.ADMIN,
    "gc": Role.ADMIN,
}

#: Roles LABBOOK_ANONYMOUS_ROLE may name: visitors who are not logged in never write.
ANONYMOUS_ROLES = (Role.VIEWER,)


def least_role(action: str) -> Role:
    """The least role ``action`` needs.

    Raises:
        ValueError: an unknown action (the message lists the actions).
    """
    try:
        return ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}") from None


def permission(action: str) -> str:
    """The permission name of ``action`` (``pipeline_core.populate``); checks the action."""
    least_role(action)
    return PERMISSION_PREFIX + action


def parse_role_setting(name: str, value: str, allowed: tuple[Role, ...] | None = None):
    """Normalise the role setting ``name`` (an environment variable's text): a role name,
    or ``none`` (also the empty string) for no role.

    Returns:
        the role's name (``"viewer"``), or None for ``none``.
    Raises:
        ImproperlyConfigured: not a role name, or a role outside ``allowed``.
    """
    text = (value or "").strip().lower()
    if text in ("", "none"):
        return None
    choices = allowed or tuple(Role)
    try:
        role = Role.parse(text)
    except ValueError:
        role = None
    if role not in choices:
        names = ", ".join(r.label for r in choices)
        raise ImproperlyConfigured(f"{name}={value!r}: use one of {names}, or none.")
    return role.label
