"""Who is acting: the principal of a request, a command or a task, for the role checks
and the audit trail.

Each front door builds an :class:`Actor` and runs its work inside :func:`acting_as`, so
that services (and the audit trail) can ask :func:`current_actor` without every function
taking it as an argument:

============  ==========================  ==========================================
source        name                        role checks
============  ==========================  ==========================================
``web``       the logged-in user's name   ``roles`` (anonymous: ``"anonymous"``)
``api``       the authenticated user      ``roles``
``cli``       ``--user NAME``             ``roles``, for that user
``cli``       the OS user (no ``--user``) none: ``trusted`` (a shell on the server is
                                          already beyond the role system)
``worker``    the user who queued the     ``roles``, checked again when the task runs
              task
============  ==========================  ==========================================
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import roles

#: Where an action comes from.
SOURCES = ("web", "api", "cli", "worker")

_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "labbook_actor", default=None
)


def os_user() -> str:
    """The operating-system user running this process (``getpass.getuser()``; the uid as
    ``uid:<n>`` when it has no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


@dataclass(frozen=True)
class Actor:
    """The principal of one request, command or task.

    Attributes:
        name: the LabBook user name (``"anonymous"`` for a visitor), or the OS user for a
            trusted command line.
        source: one of :data:`SOURCES`.
        user: the Django user (an ``AnonymousUser`` for visitors; None when trusted).
        trusted: True for the command line without ``--user``: no role is checked.
        request_id: a fresh hex id correlating everything done for this request/command.
    """

    name: str
    source: str
    user: Any = None
    trusted: bool = False
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}; sources are {', '.join(SOURCES)}")

    @classmethod
    def of_user(cls, user, source: str, request_id: str | None = None) -> Actor:
        """The actor for a Django user (or ``AnonymousUser``) acting through ``source``,
        under ``request_id`` (a new one when None)."""
        name = user.get_username() if user is not None and user.is_authenticated else "anonymous"
        if request_id is None:
            return cls(name=name, source=source, user=user)
        return cls(name=name, source=source, user=user, request_id=request_id)

    @classmethod
    def shell(cls) -> Actor:
        """The trusted command-line actor: the OS user, source ``cli``, no role checks."""
        return cls(name=os_user(), source="cli", user=None, trusted=True)

    def decide(self, action: str, schema: str | None) -> roles.Verdict:
        """:func:`pipeline_core.roles.decide` for this actor (always ALLOW when trusted)."""
        if self.trusted:
            return roles.Verdict(
                roles.Decision.ALLOW, action, roles.least_role(action), schema, roles.Role.ADMIN
            )
        return roles.decide(self.user, action, schema)

    def check(self, action: str, schema: str | None) -> roles.Verdict:
        """:meth:`decide`, raising :class:`pipeline_core.roles.RoleRequired` when refused."""
        verdict = self.decide(action, schema)
        if not verdict.allowed:
            raise roles.RoleRequired(verdict)
        return verdict

    def may(self, action: str, schema: str) -> bool:
        """True if this actor may do ``action`` on ``schema``."""
        return self.decide(action, schema).allowed


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Make ``actor`` the :func:`current_actor` inside the ``with`` block (restored after,
    also on errors; per thread and per asyncio task)."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def current_actor() -> Actor | None:
    """The actor of the request, command or task being served, or None outside any."""
    return _current.get()
