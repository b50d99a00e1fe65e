"""Django admin of LabBook's own models: the role grants (who holds which role where).

``/admin/pipeline_core/rolegrant/`` lists every grant (filter by role, user or group;
search by user, group or pattern) and edits them; the user making a grant is recorded.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from . import services
from .models import RoleGrant
from .principal import Actor, acting_as


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    """Grants of roles on schema patterns: list, filter, search, add, change, delete."""

    list_display = ("holder", "role", "schema_pattern", "created", "created_by")
    list_display_links = ("holder",)
    list_filter = ("role", "group", "user", "created")
    search_fields = ("user__username", "group__name", "schema_pattern")
    list_select_related = ("user", "group")
    readonly_fields = ("created", "created_by")
    fieldsets = (
        ("Who", {"fields": ("user", "group"), "description": "Exactly one of the two."}),
        ("Where and what", {"fields": ("schema_pattern", "role")}),
        ("Record", {"fields": ("created", "created_by")}),
    )
    ordering = ("schema_pattern", "role")

    @admin.display(description="user or @group", ordering="user__username")
    def holder(self, grant: RoleGrant) -> str:
        """The grant's holder: user name or ``@group``."""
        return grant.principal

    def save_model(self, request, obj: RoleGrant, form, change: bool) -> None:
        """Record who made a new grant, save it, and record the change in the audit trail."""
        if not change or not obj.created_by:
            obj.created_by = request.user.get_username()
        before = RoleGrant.objects.filter(pk=obj.pk).first() if change else None
        before = services.grant_state(before)
        super().save_model(request, obj, form, change)
        with _acting(request):
            services.record_grant(before, services.grant_state(obj))

    def delete_model(self, request, obj: RoleGrant) -> None:
        """Delete a grant, recorded in the audit trail."""
        before = services.grant_state(obj)
        super().delete_model(request, obj)
        with _acting(request):
            services.record_grant(before, None)

    @transaction.atomic  # the list's bulk delete has no transaction of Django's
    def delete_queryset(self, request, queryset) -> None:
        """Delete grants (the list's bulk action), each recorded in the audit trail; a
        failure to record undoes the deletion."""
        before = [services.grant_state(g) for g in queryset.select_related("user", "group")]
        super().delete_queryset(request, queryset)
        with _acting(request):
            for state in before:
                services.record_grant(state, None)

    # Grants are site-wide: only superusers see and edit them (a schema's ``admin`` role
    # does not extend to granting; Django's model permissions are not asked).
    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_module_permission

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    has_delete_permission = has_change_permission


def _hide_token_admin() -> None:
    """DRF's token admin lists every key in clear: keys are shown once, to their owner
    (``/account/token/``), and never in the admin."""
    from rest_framework.authtoken.models import TokenProxy

    if admin.site.is_registered(TokenProxy):
        admin.site.unregister(TokenProxy)


_hide_token_admin()


def _acting(request):
    """The admin's request as the acting principal (source ``web``)."""
    return acting_as(Actor.of_user(request.user, "web", services.request_id(request.headers)))
