"""Django models of LabBook (Django's own tables only).

Pipeline data lives in the pipeline databases and is reached through
``pipeline_core.datamodel``, never through the Django ORM.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .ladder import ROLE_CHOICES, Role
from .schema_patterns import MAX_PATTERN_LENGTH, PatternError, validate_pattern


def validate_schema_pattern(value: str) -> None:
    """Model validator of :attr:`RoleGrant.schema_pattern`.

    Raises:
        ValidationError: see :func:`pipeline_core.schema_patterns.validate_pattern`.
    """
    try:
        validate_pattern(value)
    except PatternError as exc:
        raise ValidationError(str(exc), code="schema_pattern") from None


class RoleGrant(models.Model):
    """A role on the schemas matching a pattern, granted to one user or one group (exactly
    one of the two; a database constraint says so).

    A user's role on a schema is the highest role of the grants that match it, their own and
    their groups' (:func:`pipeline_core.roles.role_of`). Patterns are MySQL-grant style:
    ``%`` any sequence, ``_`` one character, ``\\_`` and ``\\%`` literal
    (:mod:`pipeline_core.schema_patterns`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_grants",
        help_text="The user granted the role (leave empty when granting to a group).",
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="role_grants",
        help_text="The group granted the role (leave empty when granting to a user).",
    )
    schema_pattern = models.CharField(
        max_length=MAX_PATTERN_LENGTH,
        validators=[validate_schema_pattern],
        help_text=r"Schemas this grant covers, MySQL-grant style: % any sequence, _ one "
        r"character, \_ and \% literal. E.g. lab\_% (every schema starting with lab_) or %.",
    )
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(
        max_length=150,
        blank=True,
        editable=False,
        help_text="Who made the grant: a user name, or cli:<OS user> for manage.py grant.",
    )

    class Meta:
        ordering = ("schema_pattern", "role", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="rolegrant_user_xor_group",
                violation_error_message="Grant the role to exactly one of a user and a group.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.principal}: {self.role} on {self.schema_pattern}"

    @property
    def principal(self) -> str:
        """Who holds the grant: the user name, or ``@group``."""
        if self.user_id is not None:
            return self.user.get_username()
        if self.group_id is not None:
            return f"@{self.group.name}"
        return "(nobody)"

    @property
    def level(self) -> Role:
        """The granted role as a :class:`~pipeline_core.roles.Role`."""
        return Role.parse(self.role)

    def clean(self) -> None:
        """Refuse a grant to both or neither of user and group, and a second grant to the
        same principal on the same pattern (edit that one instead).

        Raises:
            ValidationError: naming the field at fault.
        """
        super().clean()
        if (self.user_id is None) == (self.group_id is None):
            raise ValidationError("Grant the role to a user or to a group (exactly one).")
        same = RoleGrant.objects.filter(
            user_id=self.user_id, group_id=self.group_id, schema_pattern=self.schema_pattern
        ).exclude(pk=self.pk)
        existing = same.first()
        if existing is not None:
            raise ValidationError(
                {
                    "schema_pattern": f"{existing.principal} already holds {existing.role} on "
                    f"{existing.schema_pattern}; change that grant instead."
                }
            )


class PopulateRun(models.Model):
    """One populate run (issue #13): who started what, when, for which keys of a table's
    key_source, how it went. Durable history: Celery's own results expire, this does not.

    ``restriction`` is a condition in the JSON query description's ``where`` form applied
    to key_source (None: the whole table); ``keys`` the exact keys of a run started with a
    ``limit`` (JSON values). The run fans out to ``tasks`` Celery tasks (``task_ids``), each
    reserving keys one at a time through the table's jobs table (spec §6).
    """

    STATUSES = ("queued", "running", "done", "cancelled", "failed")

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    schema = models.CharField(max_length=64)
    table = models.CharField(max_length=64)
    full_name = models.CharField(max_length=140)
    restriction = models.JSONField(null=True, blank=True)
    keys = models.JSONField(null=True, blank=True)
    priority = models.IntegerField(default=5)
    limit = models.PositiveIntegerField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, help_text="who started it (kept if deleted)")
    source = models.CharField(max_length=16, default="web", help_text="web, api or cli")
    status = models.CharField(max_length=16, default="queued", choices=[(s, s) for s in STATUSES])
    tasks = models.PositiveIntegerField(default=0)
    tasks_done = models.PositiveIntegerField(default=0)
    task_ids = models.JSONField(default=list)
    keys_todo = models.PositiveIntegerField(default=0, help_text="keys to do when started")
    success = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["schema", "table", "-created"])]

    def __str__(self) -> str:
        return f"run {self.id} of {self.full_name} ({self.status})"

    @property
    def duration(self) -> float | None:
        """Seconds from the first task's start to the last task's end (None: not yet)."""
        if self.started is None:
            return None
        from django.utils import timezone

        return ((self.finished or timezone.now()) - self.started).total_seconds()


class RunKey(models.Model):
    """The outcome of one key in a run: ``success``, ``error`` (with the message) or
    ``skipped`` (computed or reserved by another worker meanwhile)."""

    run = models.ForeignKey(PopulateRun, on_delete=models.CASCADE, related_name="key_outcomes")
    key = models.JSONField()
    outcome = models.CharField(max_length=16)
    message = models.TextField(blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)
    worker = models.CharField(max_length=100, blank=True, default="", help_text="host:pid")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.key} {self.outcome} (run {self.run_id})"


class SavedQuery(models.Model):
    """A named JSON query description (:mod:`pipeline_core.datamodel.query_json`) kept by a
    user: private to its owner, or ``shared`` with everybody in the lab. Whoever sees it must
    also be allowed to view every schema it reads (:mod:`pipeline_core.services.saved_queries`
    checks); only its owner changes or deletes it, and every change is audited.
    """

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queries"
    )
    description = models.JSONField(help_text="The query description in canonical form.")
    shared = models.BooleanField(default=False, help_text="Listed for the whole lab.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(fields=("owner", "name"), name="savedquery_owner_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id}{', shared' if self.shared else ''})"
