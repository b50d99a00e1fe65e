"""The populate panel (progress and jobs from the database only), admin-only actions,
tracebacks and clearing errors; populate itself runs in-process here (tests/tasks and
tests/browser use the real worker)."""

from __future__ import annotations

import json
import re
import time
from html import unescape

import pytest
from django.urls import reverse

from pipeline_core import services
from pipeline_core.principal import Actor, acting_as

pytestmark = pytest.mark.integration


def as_tester():
    """Run as a trusted tester (the audit trail needs an actor for every write)."""
    return acting_as(Actor(name="tester", source="cli", trusted=True))


def url(name: str, cls) -> str:
    return reverse(f"web:{name}", args=[cls.database, cls.table_name])


def panel(html: str) -> str:
    return re.search(r'<section id="populate".*?</section>', html, re.S).group(0)


def count(html: str, name: str) -> str:
    return re.search(rf'<dd class="{name}[^"]*">([^<]*)</dd>', html).group(1)


def test_populate_is_for_admins_only(lab_client, populated):
    detection = populated.Detection
    html = lab_client.get(url("table", detection)).content.decode()
    assert "Populate" in panel(html) and "<button" not in panel(html)  # no button for non-staff
    response = lab_client.post(url("populate", detection))
    assert response.status_code == 403
    assert lab_client.post(url("clear_errors", detection)).status_code == 403


def test_progress_after_populate_is_complete_and_stops_polling(staff_client, populated):
    detection = populated.Detection
    expected = len(populated.Image()) * len(populated.BlobParamSet())
    html = staff_client.get(url("table", detection)).content.decode()
    section = panel(html)
    assert (
        count(section, "done") == f"{expected} of {expected}" and count(section, "remaining") == "0"
    )
    assert "hx-trigger" not in section and "<button" in section
    response = staff_client.get(
        url("progress", detection) + f"?watch={int(time.time())}", headers={"HX-Request": "true"}
    )
    partial = response.content.decode()
    assert partial.lstrip().startswith('<section id="populate"') and "every 2s" not in partial
    assert "Complete" in partial and url("table", detection) in partial  # links to the rows
    # and, having watched the run end, signals it (HX-Trigger); the rows listen for it and
    # are fetched again (formerly a hidden element in the panel loaded them)
    assert json.loads(response["HX-Trigger"]) == {
        "populate-done": {"table": detection.full_table_name}
    }
    assert 'hx-trigger="load"' not in partial
    assert rows_listener(html) == url("table", detection)
    refreshed = staff_client.get(
        url("table", detection), headers={"HX-Request": "true", "HX-Target": "rows"}
    ).content.decode()
    assert refreshed.lstrip().startswith('<section id="rows"')
    assert rows_listener(refreshed) == url("table", detection)  # and listens again
    # not watched: nothing to signal
    unwatched = staff_client.get(url("progress", detection), headers={"HX-Request": "true"})
    assert unwatched.status_code == 200 and "HX-Trigger" not in unwatched


def rows_listener(html: str) -> str | None:
    """The URL the rows section fetches again on ``populate-done``, or None."""
    section = re.search(r'<section id="rows"[^>]*>', html).group(0)
    match = re.search(r'hx-get="([^"]+)" hx-trigger="populate-done from:body"', section)
    return unescape(match.group(1)) if match else None


def test_only_rows_of_auto_populated_tables_listen_for_populate(lab_client, populated):
    assert rows_listener(lab_client.get(url("table", populated.Detection)).content.decode())
    for cls in (populated.Subject, populated.Image, populated.Detection.Blob):
        assert rows_listener(lab_client.get(url("table", cls)).content.decode()) is None


def test_progress_polls_while_a_queued_populate_waits(staff_client, with_failing_pipeline):
    orphan = with_failing_pipeline.Orphan
    remaining = len(with_failing_pipeline.Number())
    polled = staff_client.get(
        url("progress", orphan) + f"?watch={int(time.time())}", headers={"HX-Request": "true"}
    )
    fresh = polled.content.decode()
    assert 'hx-trigger="every 2s"' in fresh and count(fresh, "remaining") == str(remaining)
    assert "HX-Trigger" not in polled  # not finished: no populate-done
    assert re.search(r'hx-get="[^"]*progress/\?watch=\d+"', fresh)
    stale = staff_client.get(
        url("progress", orphan) + f"?watch={int(time.time()) - 3600}",
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "hx-trigger" not in stale and "No worker has picked up" in stale
    assert staff_client.get(url("progress", orphan)).status_code == 302  # not htmx: the table page


def test_table_without_registered_make_says_so(staff_client, with_failing_pipeline):
    orphan = with_failing_pipeline.Orphan
    html = staff_client.get(url("table", orphan)).content.decode()
    assert "No <code>make()</code> is registered" in panel(html)
    assert url("populate", orphan) not in html
    response = staff_client.post(url("populate", orphan))
    assert response.status_code == 409 and b"no make() is registered" in response.content


def test_computed_table_without_parents_explains_instead_of_failing(
    staff_client, extra_tables, dj_connect
):
    # DataJoint refuses to declare one, but legacy databases may hold such a table
    database = extra_tables.Number.database
    conn = dj_connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS `{database}`.`__lonely` "
                "(lonely_id SMALLINT NOT NULL PRIMARY KEY, value INT NOT NULL)"
            )
    finally:
        conn.close()
    response = staff_client.get(reverse("web:table", args=[database, "__lonely"]))
    assert response.status_code == 200
    assert "no primary foreign key" in panel(response.content.decode())


def test_errors_show_messages_tracebacks_and_can_be_cleared(staff_client, with_failing_pipeline):
    square = with_failing_pipeline.Square
    full_name = square.full_table_name
    with as_tester():
        result = services.populate(full_name)
    numbers = len(with_failing_pipeline.Number())
    assert result["error_count"] + len(square()) == numbers and len(square()) == numbers - 1
    html = staff_client.get(url("table", square)).content.decode()
    section = panel(html)
    assert count(section, "error-count") == "1" and "3 is unlucky" in section
    assert "Clear 1 error" in section and "hx-trigger" not in section  # finished: no polling
    link = unescape(re.search(r'<a href="([^"]+)">traceback</a>', section).group(1))
    traceback = staff_client.get(link).content.decode()
    assert "Traceback (most recent call last)" in unescape(traceback)
    assert "ValueError: 3 is unlucky" in unescape(traceback)
    response = staff_client.post(url("clear_errors", square))
    assert response.status_code == 302
    assert services.populate_status(square.database, square.table_name)["error"] == 0
    assert (
        count(panel(staff_client.get(url("table", square)).content.decode()), "error-count") == "0"
    )
    with as_tester():
        assert services.populate(full_name)["error_count"] == 1  # retried


def test_pipeline_command_reports_jobs(populated, capsys):
    from django.core.management import call_command

    call_command("pipeline", "jobs", populated.Detection.database, "Detection")
    out = capsys.readouterr().out
    total = len(populated.Image()) * len(populated.BlobParamSet())
    assert f"{total} of {total} done, 0 remaining" in out


@pytest.mark.parametrize("name", ["no dots here", "`db`.`a`b`", "db.nope"])
def test_populating_a_name_that_is_no_visible_table_is_not_found(populated, name):
    """Tasks and the command line name tables by full name: a malformed or unknown one is
    NotFoundError (a 404 in the front doors), not a server error."""
    with pytest.raises(services.NotFoundError), as_tester():
        services.populate(name)
