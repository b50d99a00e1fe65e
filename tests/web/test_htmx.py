"""htmx idioms of the web UI through Django's test client and the real MariaDB: which
requests get partials (and the ``Vary`` headers saying so), errors of htmx requests sent to
the page's error region, and the htmx configuration every page carries."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import unquote

import pytest
from django.template.loader import get_template
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.cache import has_vary_header
from django_htmx.middleware import HtmxMiddleware

from pipeline_core.web.htmx import ERROR_REGION, is_htmx_for
from pipeline_core.web.keys import encode_key

HTMX = {"HX-Request": "true"}


def url(name: str, cls, *args) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name, *args])


def through_middleware(**headers):
    """A GET request as django-htmx's middleware hands it to a view."""
    return HtmxMiddleware(lambda request: request)(RequestFactory().get("/", headers=headers))


@pytest.mark.parametrize(
    "headers, target, expected",
    [
        ({}, None, False),
        ({"HX-Request": "false"}, None, False),
        (HTMX, None, True),
        ({**HTMX, "HX-Target": "rows"}, None, True),
        ({**HTMX, "HX-Target": "rows"}, "rows", True),
        ({**HTMX, "HX-Target": "populate"}, "rows", False),
        (HTMX, "rows", False),
        ({"HX-Target": "rows"}, "rows", False),  # not sent by htmx
        ({**HTMX, "HX-History-Restore-Request": "true"}, None, False),
        ({**HTMX, "HX-Target": "rows", "HX-History-Restore-Request": "true"}, "rows", False),
    ],
)
def test_is_htmx_for(headers, target, expected):
    assert is_htmx_for(through_middleware(**headers), target) is expected


def vary(response) -> set[str]:
    return {h.strip().lower() for h in response.get("Vary", "").split(",") if h.strip()}


@pytest.mark.integration
def test_table_page_varies_on_htmx_and_target(lab_client, populated):
    part = populated.Detection.Blob
    full = lab_client.get(url("table", part))
    rows = lab_client.get(url("table", part), headers={**HTMX, "HX-Target": "rows"})
    assert "<html" in full.content.decode()
    assert rows.content.decode().lstrip().startswith('<section id="rows"')
    for response in (full, rows):
        assert {"hx-request", "hx-target", "hx-history-restore-request"} <= vary(response)
        assert has_vary_header(response, "Cookie")  # the session's Vary is kept


@pytest.mark.integration
def test_history_restore_gets_the_full_page(lab_client, demo):
    response = lab_client.get(
        url("table", demo.Subject),
        headers={**HTMX, "HX-Target": "rows", "HX-History-Restore-Request": "true"},
    )
    assert response.status_code == 200 and "<html" in response.content.decode()


@pytest.mark.integration
def test_every_view_that_answers_htmx_varies_on_hx_request(staff_client, populated):
    detection = populated.Detection
    key = encode_key(detection().keys(limit=1)[0])
    responses = {
        "home": staff_client.get(reverse("web:home")),
        "schema": staff_client.get(reverse("web:schema", args=[detection.database])),
        "progress": staff_client.get(url("progress", detection), headers=HTMX),
        "progress redirect": staff_client.get(url("progress", detection)),
        "traceback": staff_client.get(url("traceback", detection) + f"?key={key}"),
        "error": staff_client.get(reverse("web:table", args=[detection.database, "nope"])),
        "error partial": staff_client.get(
            reverse("web:table", args=[detection.database, "nope"]), headers=HTMX
        ),
    }
    assert responses["progress redirect"].status_code == 302
    assert responses["error"].status_code == responses["error partial"].status_code == 404
    for name, response in responses.items():
        assert "hx-request" in vary(response), name


@pytest.mark.integration
def test_htmx_errors_keep_their_status_and_go_to_the_error_region(
    staff_client, with_failing_pipeline
):
    orphan = with_failing_pipeline.Orphan  # Computed, no make() registered
    response = staff_client.post(url("populate", orphan), headers={**HTMX, "HX-Target": "populate"})
    html = response.content.decode()
    assert response.status_code == 409
    assert response["HX-Retarget"] == f"#{ERROR_REGION}" and response["HX-Reswap"] == "innerHTML"
    assert html.lstrip().startswith('<section class="card error-page notice" role="alert"')
    assert "<html" not in html and "No make() registered" in html
    assert "no make() is registered" in html and orphan.full_table_name in unescape(html)
    assert "hx-request" in vary(response)
    page = staff_client.post(url("populate", orphan))  # without htmx: the error page
    assert page.status_code == 409 and "<html" in page.content.decode()
    assert "HX-Retarget" not in page and "No make() registered" in page.content.decode()


@pytest.mark.integration
def test_pages_carry_the_error_region_and_htmx_response_handling(lab_client, demo):
    html = lab_client.get(url("table", demo.Subject)).content.decode()
    assert f'<div id="{ERROR_REGION}" class="htmx-errors"></div>' in html
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1)
    config = json.loads(unescape(meta))
    assert config["historyRestoreAsHxRequest"] is False
    handling = {rule["code"]: rule for rule in config["responseHandling"]}
    assert handling["204"]["swap"] is False and handling["[23].."]["swap"] is True
    errors = handling["[45].."]
    assert errors["swap"] is True and errors["error"] is True
    assert errors["target"] == f"#{ERROR_REGION}" and errors["select"] == ".error-page"
    # the error pages Django renders itself (403, 404) have the part that is selected
    for template in ("403.html", "404.html", "500.html", "unavailable.html"):
        assert 'class="card error-page"' in get_template(template).render({}), template


@pytest.mark.integration
def test_an_htmx_request_without_a_session_sends_the_browser_to_the_login_page(client, demo):
    """An expired session: htmx gets HX-Redirect to the login page (coming back to the page
    the click was made on), not a login page swapped into the element; a plain request
    still gets Django's 302."""
    page = url("table", demo.Subject) + "?page=2"
    response = client.get(
        url("progress", demo.Subject),
        headers={**HTMX, "HX-Current-URL": "http://testserver" + page},
    )
    login = reverse("login")
    assert response.status_code == 200 and not response.content
    target = response["HX-Redirect"]
    assert target.startswith(login + "?next=") and unquote(target.split("next=")[1]) == page
    plain = client.get(url("progress", demo.Subject))
    assert plain.status_code == 302 and plain["Location"].startswith(login)
    assert "HX-Redirect" not in plain
    for answer in (response, plain):  # the two differ by HX-Request, and say so
        assert "hx-request" in vary(answer)


@pytest.mark.integration
def test_a_refused_csrf_token_shows_an_error_page_htmx_can_place(admin_user, demo):
    """Django's CSRF failure page is LabBook's (403_csrf.html, with an ``.error-page`` part
    that base.html's htmx configuration selects into the error region)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(url("populate", demo.Subject), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 403
    assert 'class="card error-page"' in html and "security token" in html
