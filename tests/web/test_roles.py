"""Who has which role where (pipeline_core.roles with RoleGrant rows in Django's test
database): the highest matching grant wins across a user's own and their groups' grants,
superusers, inactive users, the default and anonymous roles, django-rules behind has_perm,
the decisions the front doors answer, the model's constraint, the admin and ``manage.py
grant``."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from pipeline_core import roles
from pipeline_core.models import RoleGrant
from pipeline_core.roles import Decision, Role, decide, role_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(django_user_model):
    """A user with grants of her own and through the group ``ephys``."""
    user = django_user_model.objects.create_user(username="alice", password="x")
    group = Group.objects.create(name="ephys")
    user.groups.add(group)
    RoleGrant.objects.create(user=user, schema_pattern="lab\\_%", role="viewer")
    RoleGrant.objects.create(group=group, schema_pattern="lab\\_e%", role="editor")
    RoleGrant.objects.create(user=user, schema_pattern="lab\\_ephys", role="operator")
    RoleGrant.objects.create(group=group, schema_pattern="lab\\_ephys\\_%", role="entry")
    return user


def fresh(user):
    """The user read again (grants are cached on a user object for its request)."""
    return type(user).objects.get(pk=user.pk)


def test_highest_matching_grant_wins_across_user_and_group(alice):
    assert role_of(alice, "lab_ephys") is Role.OPERATOR  # user operator > group editor > viewer
    assert role_of(alice, "lab_eeg") is Role.EDITOR  # the group's grant beats her own viewer
    assert role_of(alice, "lab_ephys_raw") is Role.EDITOR  # group editor (lab\_e%) > entry
    assert role_of(alice, "lab_x") is Role.VIEWER
    assert role_of(alice, "labx") is Role.VIEWER  # default role (viewer): no grant matches
    assert role_of(alice, "lab2_ephys") is Role.VIEWER


def test_default_role_applies_only_where_no_grant_matches(alice, settings):
    settings.LABBOOK_DEFAULT_ROLE = None
    assert role_of(fresh(alice), "other") is None
    assert role_of(fresh(alice), "lab_x") is Role.VIEWER
    settings.LABBOOK_DEFAULT_ROLE = "editor"
    assert role_of(fresh(alice), "other") is Role.EDITOR
    # a matching grant decides, even when lower than the default: a way to restrict
    assert role_of(fresh(alice), "lab_x") is Role.VIEWER


def test_superusers_are_admin_everywhere_and_inactive_users_nothing(alice, admin_user):
    assert role_of(admin_user, "anything") is Role.ADMIN
    assert admin_user.has_perm("pipeline_core.grant", "anything")
    alice.is_active = False
    alice.save()
    assert role_of(fresh(alice), "lab_ephys") is None
    assert not fresh(alice).has_perm("pipeline_core.view", "lab_ephys")


def test_anonymous_role_and_floor(alice, settings):
    visitor = AnonymousUser()
    assert role_of(visitor, "lab_x") is None
    assert decide(visitor, "view", "lab_x").decision is Decision.LOGIN
    settings.LABBOOK_ANONYMOUS_ROLE = "viewer"
    assert role_of(visitor, "lab_x") is Role.VIEWER
    assert decide(visitor, "view", "lab_x").allowed
    assert decide(visitor, "view", None).allowed  # the list of schemas
    assert decide(visitor, "insert", "lab_x").decision is Decision.LOGIN
    # logging in never loses a right: the anonymous role is a floor
    settings.LABBOOK_DEFAULT_ROLE = None
    assert role_of(fresh(alice), "other") is Role.VIEWER


def test_permissions_go_through_django_rules(alice):
    assert alice.has_perm("pipeline_core.populate", "lab_ephys")
    assert alice.has_perm("pipeline_core.update", "lab_eeg")
    assert not alice.has_perm("pipeline_core.populate", "lab_eeg")
    assert not alice.has_perm("pipeline_core.grant", "lab_ephys")
    assert not alice.has_perm("pipeline_core.view")  # no schema: never granted by accident
    assert not alice.has_perm("pipeline_core.no_such_action", "lab_ephys")
    assert roles.PREDICATES[Role.EDITOR](alice, "lab_eeg")
    assert not roles.PREDICATES[Role.OPERATOR](alice, "lab_eeg")


def test_decisions_and_their_messages(alice, settings):
    settings.LABBOOK_DEFAULT_ROLE = None
    alice = fresh(alice)
    allowed = decide(alice, "populate", "lab_ephys")
    assert allowed.allowed and allowed.role is Role.OPERATOR
    forbidden = decide(alice, "populate", "lab_eeg")
    assert forbidden.decision is Decision.FORBIDDEN
    assert forbidden.message == (
        "Your role on schema `lab_eeg` is editor: populate needs operator or higher. "
        "Ask an administrator for a grant."
    )
    hidden = decide(alice, "view", "secret")
    assert hidden.decision is Decision.HIDDEN
    assert hidden.message == "Schema `secret` does not exist or is not visible here"
    assert decide(alice, "view", None).allowed
    assert decide(alice, "declare", None).decision is Decision.FORBIDDEN
    with pytest.raises(roles.RoleRequired, match="populate needs operator") as excinfo:
        roles.check(alice, "populate", "lab_eeg")
    assert excinfo.value.verdict == forbidden
    with pytest.raises(ValueError, match="unknown action"):
        decide(alice, "drop", "lab_eeg")


def test_grants_are_read_once_per_user_object(alice, django_assert_num_queries):
    user = fresh(alice)
    with django_assert_num_queries(1):
        for schema in ("lab_ephys", "lab_eeg", "lab_x", "other"):
            role_of(user, schema)
    RoleGrant.objects.create(user=alice, schema_pattern="other", role="admin")
    assert role_of(user, "other") is Role.VIEWER  # cached for the life of this object
    roles.forget_grants(user)
    assert role_of(user, "other") is Role.ADMIN


def test_viewable_filters_and_keeps_order(alice, settings):
    settings.LABBOOK_DEFAULT_ROLE = None
    assert roles.viewable(fresh(alice), ["zeta", "lab_b", "other", "lab_a"]) == ["lab_b", "lab_a"]


# --- the model ----------------------------------------------------------------------------


def test_a_grant_goes_to_exactly_one_of_user_and_group(alice):
    group = Group.objects.get(name="ephys")
    for holder in ({"user": alice, "group": group}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            RoleGrant.objects.create(schema_pattern="x", role="viewer", **holder)
        with pytest.raises(ValidationError, match="exactly one"):
            RoleGrant(schema_pattern="x", role="viewer", **holder).full_clean()


def test_model_validation(alice):
    with pytest.raises(ValidationError, match="lone backslash"):
        RoleGrant(user=alice, schema_pattern="lab\\", role="viewer").full_clean()
    with pytest.raises(ValidationError, match="'owner' is not a valid choice"):
        RoleGrant(user=alice, schema_pattern="x", role="owner").full_clean()
    with pytest.raises(ValidationError, match="alice already holds viewer on lab"):
        RoleGrant(user=alice, schema_pattern="lab\\_%", role="admin").full_clean()
    grant = RoleGrant.objects.get(user=alice, schema_pattern="lab\\_%")
    grant.role = "admin"
    grant.full_clean()  # changing a grant is not a duplicate of itself
    assert str(grant) == "alice: admin on lab\\_%" and grant.level is Role.ADMIN
    assert str(RoleGrant.objects.get(schema_pattern="lab\\_e%")) == "@ephys: editor on lab\\_e%"


# --- the admin ----------------------------------------------------------------------------


def test_admin_lists_filters_and_records_grants(client, admin_user, alice):
    client.force_login(admin_user)
    url = "/admin/pipeline_core/rolegrant/"
    page = client.get(url).content.decode()
    for holder, role, pattern in (("alice", "operator", "lab\\_ephys"), ("@ephys", "editor", "")):
        assert holder in page and role in page and pattern in page
    only_editors = client.get(url + "?role=editor").content.decode()
    assert "@ephys" in only_editors and "lab\\_ephys</td>" not in only_editors
    found = client.get(url + "?q=ephys").content.decode()  # group name or pattern
    assert re.search(r"3 role grants\s*</p>", found) and "4 total" in found
    response = client.post(
        url + "add/",
        {"user": alice.pk, "group": "", "schema_pattern": "new\\_%", "role": "entry"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = RoleGrant.objects.get(schema_pattern="new\\_%")
    assert (grant.user, grant.role, grant.created_by) == (alice, "entry", "admin")
    both = client.post(
        url + "add/",
        {"user": alice.pk, "group": Group.objects.get().pk, "schema_pattern": "y", "role": "entry"},
    )
    assert both.status_code == 200 and "exactly one" in both.content.decode()
    assert not RoleGrant.objects.filter(schema_pattern="y").exists()


def test_the_admin_page_is_not_for_ordinary_users(client, alice):
    client.force_login(alice)
    response = client.get("/admin/pipeline_core/rolegrant/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- manage.py grant ----------------------------------------------------------------------


def grant(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("grant", *args, stdout=out)
    return out.getvalue()


def test_grant_command_grants_changes_revokes_and_lists(alice):
    assert grant("alice", "ana\\_%", "entry").startswith("granted alice: entry on ana\\_%")
    assert "(was entry)" in grant("alice", "ana\\_%", "editor")
    assert RoleGrant.objects.filter(user=alice, schema_pattern="ana\\_%").count() == 1
    assert role_of(fresh(alice), "ana_x") is Role.EDITOR
    out = grant("@techs", "ana\\_%", "entry")
    assert "created group techs" in out and Group.objects.filter(name="techs").exists()
    listing = grant("--list")
    assert re.search(r"@techs\s+entry\s+ana\\_%\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+cli:\S+", listing)
    assert "alice  operator  lab\\_ephys" in grant("--list", "alice")
    assert "@techs" not in grant("--list", "alice")
    assert grant("alice", "ana\\_%", "--revoke") == "revoked alice: editor on ana\\_%\n"
    assert role_of(fresh(alice), "ana_x") is Role.VIEWER  # back to the default


@pytest.mark.parametrize(
    "args, message",
    [
        (("ghost", "x", "viewer"), "no user named 'ghost' (a group is written @ghost)"),
        (("alice", "x\\", "viewer"), "lone backslash"),
        (("alice", "x"), "which role?"),
        (("alice", "nothing", "--revoke"), "no grant on 'nothing' to revoke"),
        (("@nobody", "x", "--revoke"), "no group named 'nobody'"),
        (("alice", "x", "viewer", "--revoke"), "without a role"),
        ((), "give USER_OR_@GROUP PATTERN ROLE"),
    ],
)
def test_grant_command_errors(alice, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        grant(*args)


def test_grant_command_refuses_unknown_roles(alice):
    with pytest.raises(CommandError, match="invalid choice: 'owner'"):
        grant("alice", "x", "owner")


# --- grants in the audit trail, and who may edit them -------------------------------------


def grant_events() -> list[dict]:
    from django.conf import settings

    from pipeline_core.datamodel import audit
    from pipeline_core.services.state import PipelineSession

    conn = PipelineSession.current().connection()
    events = audit.read_events(conn, settings.LABBOOK_AUDIT_DB, limit=10_000)
    return [e for e in reversed(events) if e["action"] == "grant"]


def test_grant_changes_are_recorded_from_the_admin_and_the_command_line(client, admin_user, alice):
    from pipeline_core.principal import os_user

    before = len(grant_events())
    client.force_login(admin_user)
    url = "/admin/pipeline_core/rolegrant/"
    response = client.post(
        url + "add/", {"user": alice.pk, "group": "", "schema_pattern": "aud\\_%", "role": "entry"}
    )
    assert response.status_code == 302
    grant("alice", "aud\\_%", "operator")
    grant("alice", "aud\\_%", "--revoke")
    got = grant_events()[before:]
    assert [(e["actor"], e["source"], e["changes"]) for e in got] == [
        (
            "admin",
            "web",
            {
                "holder": [None, "alice"],
                "schema_pattern": [None, "aud\\_%"],
                "role": [None, "entry"],
            },
        ),
        (
            os_user(),
            "cli",
            {
                "holder": ["alice", "alice"],
                "schema_pattern": ["aud\\_%", "aud\\_%"],
                "role": ["entry", "operator"],
            },
        ),
        (
            os_user(),
            "cli",
            {
                "holder": ["alice", None],
                "schema_pattern": ["aud\\_%", None],
                "role": ["operator", None],
            },
        ),
    ]
    assert all(e["schema"] is None for e in got)


def test_only_superusers_edit_grants_even_with_djangos_permissions(client, django_user_model):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user(username="stef", password="x", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__endswith="_rolegrant"))
    client.force_login(staff)
    assert client.get("/admin/pipeline_core/rolegrant/").status_code == 403
    response = client.post(
        "/admin/pipeline_core/rolegrant/add/",
        {"user": staff.pk, "group": "", "schema_pattern": "%", "role": "admin"},
    )
    assert response.status_code == 403 and not RoleGrant.objects.filter(user=staff).exists()


def test_api_tokens_are_not_listed_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
