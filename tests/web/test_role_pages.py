"""Roles as people meet them: the schema lists (web and API) show only what they may
view, a schema they may not view looks exactly like one that does not exist (pages, API
and queries), their role is shown on schema and table pages with only the buttons it
allows, htmx requests are refused in the page's error region, and ``manage.py pipeline
--user`` acts as a LabBook user."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from pipeline_core import services
from pipeline_core.management.commands.pipeline import Command as PipelineCommand
from pipeline_core.models import RoleGrant
from pipeline_core.principal import Actor, acting_as
from pipeline_core.schema_patterns import escape

pytestmark = pytest.mark.integration


@pytest.fixture
def lab_only(client, django_user_model, demo, settings):
    """A client logged in as ``ruth``: viewer on demo_lab only (no default role)."""
    settings.LABBOOK_DEFAULT_ROLE = None
    user = django_user_model.objects.create_user(username="ruth", password="x")
    RoleGrant.objects.create(user=user, schema_pattern=escape(demo.Subject.database), role="viewer")
    client.force_login(user)
    client.user = user
    return client


def as_role(client, django_user_model, demo, role: str, name: str | None = None):
    """Log ``client`` in as a new user holding ``role`` on every schema of the session."""
    user = django_user_model.objects.create_user(username=name or role, password="x")
    prefix = demo.Subject.database[: -len("demo_lab")]
    RoleGrant.objects.create(user=user, schema_pattern=escape(prefix) + "%", role=role)
    client.force_login(user)
    return client


def test_schema_lists_show_only_viewable_schemas(lab_only, demo):
    lab, imaging = demo.Subject.database, demo.Image.database
    home = lab_only.get(reverse("web:home")).content.decode()
    assert reverse("web:schema", args=[lab]) in home
    assert reverse("web:schema", args=[imaging]) not in home and imaging not in home
    names = [s["name"] for s in lab_only.get(reverse("api:schemas")).json()]
    assert names == [lab]


def test_a_hidden_schema_looks_like_a_missing_one(lab_only, demo, pipeline_prefix):
    imaging, missing = demo.Image.database, pipeline_prefix + "no_such_schema"

    def page(response, name):
        html = response.content.decode().replace(name, "S")
        return re.sub(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', "", html)

    def same(url_of):
        hidden, absent = (lab_only.get(url_of(name)) for name in (imaging, missing))
        assert hidden.status_code == absent.status_code == 404
        assert page(hidden, imaging) == page(absent, missing)

    same(lambda s: reverse("web:schema", args=[s]))
    same(lambda s: reverse("web:table", args=[s, "image"]))
    same(lambda s: reverse("web:entry", args=[s, "image"]))  # even for an action above viewer
    # the JSON query: a schema named anywhere in the description, as in the API's 404
    answers = [
        lab_only.post(
            reverse("api:query"),
            json.dumps(
                {
                    "from": {"schema": demo.Subject.database, "table": "Subject"},
                    "where": {"matching": {"schema": name, "table": "Image"}},
                }
            ),
            content_type="application/json",
        )
        for name in (imaging, missing)
    ]
    assert [a.status_code for a in answers] == [404, 404]
    bodies = [a.json() for a in answers]
    assert bodies[0]["detail"].replace(imaging, "S") == bodies[1]["detail"].replace(missing, "S")
    assert "rows" not in bodies[0]


def test_the_query_api_answers_for_viewable_schemas(lab_only, demo):
    response = lab_only.post(
        reverse("api:query"),
        json.dumps({"from": {"schema": demo.Subject.database, "table": "Subject"}}),
        content_type="application/json",
    )
    assert response.status_code == 200 and len(response.json()["rows"]) == len(demo.Subject())


def role_badge(html: str) -> tuple[str, str]:
    match = re.search(r'<p class="role-badge" data-role="([^"]+)">(.*?)</p>', html, re.S)
    return match.group(1), re.sub(r"<[^>]+>", "", match.group(2))


@pytest.mark.parametrize("role", ["viewer", "entry", "editor", "operator", "admin"])
def test_role_is_shown_and_buttons_follow_it(client, django_user_model, populated, role):
    as_role(client, django_user_model, populated, role)
    lab = populated.Subject.database
    shown, text = role_badge(client.get(reverse("web:schema", args=[lab])).content.decode())
    assert shown == role and text.startswith(f"Your role on {lab}: {role} —")
    subject = client.get(reverse("web:table", args=[lab, "subject"])).content.decode()
    assert role_badge(subject)[0] == role
    add_link = reverse("web:entry", args=[lab, "subject"])
    assert (add_link in subject) == (role != "viewer")
    detection = populated.Detection
    page = client.get(reverse("web:table", args=[detection.database, detection.table_name]))
    html = page.content.decode()
    assert role_badge(html)[0] == role
    populate_url = reverse("web:populate", args=[detection.database, detection.table_name])
    assert (populate_url in html) == (role in ("operator", "admin"))


def test_superusers_see_admin(staff_client, demo):
    html = staff_client.get(reverse("web:schema", args=[demo.Image.database])).content.decode()
    assert role_badge(html)[0] == "admin"


def test_htmx_refusals_land_in_the_error_region(client, django_user_model, demo):
    detection = demo.Detection
    url = reverse("web:populate", args=[detection.database, detection.table_name])
    response = client.post(url, headers={"HX-Request": "true", "HX-Current-URL": "/x/?a=1"})
    assert (
        response.status_code == 200
        and response["HX-Redirect"] == "/accounts/login/?next=/x/%3Fa%3D1"
    )
    as_role(client, django_user_model, demo, "editor")
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 403 and response["HX-Retarget"] == "#htmx-errors"
    html = response.content.decode()
    assert 'class="card error-page notice"' in html and "populate needs operator" in html
    assert "<html" not in html  # a partial
    plain = client.post(url)
    assert plain.status_code == 403 and "<h1>Not allowed</h1>" in plain.content.decode()
    assert "Your role on schema" in plain.content.decode()


# --- manage.py pipeline --user ----------------------------------------------------------------


def pipeline(*args) -> str:
    out = StringIO()
    call_command("pipeline", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_pipeline_command_checks_the_role_of_user(
    django_user_model, with_failing_pipeline, settings
):
    settings.LABBOOK_DEFAULT_ROLE = None
    square = with_failing_pipeline.Square
    prefix = square.database[: -len("webfail")]
    for name, role in (("vera", "viewer"), ("otto", "operator")):
        user = django_user_model.objects.create_user(username=name, password="x")
        RoleGrant.objects.create(user=user, schema_pattern=escape(prefix) + "%", role=role)
    django_user_model.objects.create_user(username="nora", password="x")  # no grant
    django_user_model.objects.create_user(username="ian", password="x", is_active=False)
    square().delete_quick()
    schema = square.database
    with acting_as(Actor.shell()):  # set-up, as a shell on the server
        services.begin_request()  # fresh introspection: the jobs table may be new
        services.clear_errors(schema, square.table_name)

    assert "0 of 4 done" in pipeline("jobs", schema, "Square", "--user", "vera")
    with pytest.raises(CommandError, match=r"--user vera: Your role on schema .* is viewer: "):
        pipeline("populate", schema, "Square", "--user", "vera")
    assert len(square()) == 0  # refused: nothing computed
    with pytest.raises(CommandError, match=r"--user nora: Schema .* does not exist or is not"):
        pipeline("jobs", schema, "Square", "--user", "nora")
    with pytest.raises(CommandError, match=r"--user nora: Schema .* does not exist or is not"):
        pipeline("inspect", schema, "--user", "nora")
    for ghost in ("ghost", "ian"):
        with pytest.raises(CommandError, match=f"--user {ghost}: no active LabBook user"):
            pipeline("jobs", schema, "Square", "--user", ghost)
    with pytest.raises(CommandError, match="declare needs admin"):
        pipeline("demo", "--user", "otto")

    assert "3 computed, 1 errors" in pipeline("populate", schema, "Square", "--user", "otto")
    assert len(square()) == 3
    # without --user the shell is trusted
    with acting_as(Actor.shell()):
        services.clear_errors(schema, square.table_name)
    assert "0 computed, 1 errors" in pipeline("populate", schema, "Square")


def test_the_command_line_actor(django_user_model):
    command = PipelineCommand()
    shell = command.acting(None)
    assert shell.trusted and shell.source == "cli" and shell.user is None and shell.name
    assert shell.may("grant", "anything")
    user = django_user_model.objects.create_user(username="carl", password="x")
    actor = command.acting("carl")
    assert (actor.name, actor.source, actor.user, actor.trusted) == ("carl", "cli", user, False)


def test_the_diagram_links_only_viewable_schemas(lab_only, demo, lab_user):
    lab, imaging = demo.Subject.database, demo.Image.database
    imaging_pages = reverse("web:schema", args=[imaging]) + "tables/"
    hidden = lab_only.get(reverse("web:schema", args=[lab])).content.decode()
    assert reverse("web:table", args=[lab, "subject"]) in hidden
    assert imaging_pages not in hidden  # Image (demo_imaging) is drawn, not linked
    other = Client()
    other.force_login(lab_user)  # entry everywhere
    shown = other.get(reverse("web:schema", args=[lab])).content.decode()
    assert imaging_pages in shown
