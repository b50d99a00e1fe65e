"""The role ladder, the actions, and the role settings read from the environment."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from labbook import settings as settings_module
from pipeline_core.roles import (
    ACTIONS,
    ANONYMOUS_ROLES,
    ROLE_NAMES,
    Role,
    least_role,
    parse_role_setting,
    permission,
)


def test_the_ladder_is_ordered():
    assert ROLE_NAMES == ("viewer", "entry", "editor", "operator", "admin")
    assert Role.VIEWER < Role.ENTRY < Role.EDITOR < Role.OPERATOR < Role.ADMIN
    assert Role.parse(" Operator ") is Role.OPERATOR and str(Role.ENTRY) == "entry"
    with pytest.raises(ValueError, match="'owner' is not a role; roles are viewer, entry"):
        Role.parse("owner")


@pytest.mark.parametrize(
    "actions, role",
    [
        (("view",), Role.VIEWER),
        (("insert",), Role.ENTRY),
        (("update", "delete", "undo"), Role.EDITOR),
        (("populate", "retry", "ignore", "cancel", "clear_errors"), Role.OPERATOR),
        (("grant", "declare", "alter"), Role.ADMIN),
    ],
)
def test_least_role_of_each_action(actions, role):
    for action in actions:
        assert least_role(action) is role
        assert permission(action) == f"pipeline_core.{action}"


def test_unknown_actions_are_refused():
    assert set(ACTIONS) >= {"view", "insert", "populate", "grant"}
    with pytest.raises(ValueError, match="unknown action 'drop'"):
        least_role("drop")
    with pytest.raises(ValueError, match="unknown action"):
        permission("drop")


@pytest.mark.parametrize(
    "name, value, allowed, expected",
    [
        ("LABBOOK_DEFAULT_ROLE", "viewer", None, "viewer"),
        ("LABBOOK_DEFAULT_ROLE", " Editor ", None, "editor"),
        ("LABBOOK_DEFAULT_ROLE", "none", None, None),
        ("LABBOOK_DEFAULT_ROLE", "NONE", None, None),
        ("LABBOOK_ANONYMOUS_ROLE", "viewer", ANONYMOUS_ROLES, "viewer"),
        ("LABBOOK_ANONYMOUS_ROLE", "none", ANONYMOUS_ROLES, None),
    ],
)
def test_role_settings_are_parsed(name, value, allowed, expected):
    assert parse_role_setting(name, value, allowed) == expected


@pytest.mark.parametrize(
    "name, value, allowed, message",
    [
        (
            "LABBOOK_DEFAULT_ROLE",
            "reader",
            None,
            "LABBOOK_DEFAULT_ROLE='reader': use one of viewer, entry, editor, operator, admin, "
            "or none.",
        ),
        (
            "LABBOOK_ANONYMOUS_ROLE",
            "entry",
            ANONYMOUS_ROLES,
            "LABBOOK_ANONYMOUS_ROLE='entry': use one of viewer, or none.",
        ),
    ],
)
def test_bad_role_settings_stop_start_up(name, value, allowed, message):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_role_setting(name, value, allowed)
    assert str(excinfo.value) == message


def test_role_settings_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("LABBOOK_DEFAULT_ROLE", raising=False)
    assert settings_module._env_role("LABBOOK_DEFAULT_ROLE", "viewer") == "viewer"
    monkeypatch.setenv("LABBOOK_DEFAULT_ROLE", "")
    assert settings_module._env_role("LABBOOK_DEFAULT_ROLE", "viewer") == "viewer"
    monkeypatch.setenv("LABBOOK_DEFAULT_ROLE", "none")
    assert settings_module._env_role("LABBOOK_DEFAULT_ROLE", "viewer") is None
    monkeypatch.setenv("LABBOOK_ANONYMOUS_ROLE", "admin")
    with pytest.raises(ImproperlyConfigured, match="LABBOOK_ANONYMOUS_ROLE='admin'"):
        settings_module._env_role("LABBOOK_ANONYMOUS_ROLE", "none", ANONYMOUS_ROLES)


def test_defaults_and_the_rules_backend_are_configured():
    from django.conf import settings

    assert settings.LABBOOK_DEFAULT_ROLE == "viewer"
    assert settings.LABBOOK_ANONYMOUS_ROLE is None
    backends = settings.AUTHENTICATION_BACKENDS
    assert backends.index("rules.permissions.ObjectPermissionBackend") < backends.index(
        "pipeline_core.auth_backend.ModelBackend"
    )
