"""Legacy 0.14 jobs (issue #13, spec §11): the schema-wide ``~jobs`` is read for a table's
progress, error list and tracebacks, so a 0.14 table with 3 error jobs and 1 reserved shows
them (before: "errors 0, running 0"); retry deletes its error rows (0.14's way)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.datamodel.codecs import blob
from pipeline_core.datamodel.jobs import LegacyJobTable, job_table, legacy_key_hash
from pipeline_core.principal import Actor, acting_as

pytestmark = pytest.mark.integration

#: Rows added to the fixture's one error job of ``__summary`` (session 2 of subject 1).
ADDED = [
    ({"subject_id": 1, "session_id": 1}, "error", "OSError: disk full"),
    ({"subject_id": 2, "session_id": 1}, "error", "OSError: disk full"),
    ({"subject_id": 2, "session_id": 2}, "reserved", ""),
]


@pytest.fixture
def summary(dm_conn, legacy014_db):
    """``__summary`` with 3 error jobs and 1 reserved in ``~jobs``; the added rows are
    removed afterwards (the fixture's own error row stays)."""
    jobs = f"`{legacy014_db}`.`~jobs`"
    for key, status, message in ADDED:
        dm_conn.query(
            f"INSERT INTO {jobs} (table_name, key_hash, status, `key`, error_message, host) "
            "VALUES ('__summary', %s, %s, %s, %s, 'old-host')",
            [legacy_key_hash(key), status, blob.pack(key), message],
        )
    try:
        yield dm.table_class(dm_conn, legacy014_db, "__summary")()
    finally:
        hashes = [legacy_key_hash(k) for k, _, _ in ADDED]
        dm_conn.query(
            f"DELETE FROM {jobs} WHERE table_name = '__summary' AND key_hash IN (%s, %s, %s)",
            hashes,
        )


def test_legacy_key_hash_is_014s():
    assert legacy_key_hash({"subject_id": 1, "session_id": 2}) == "3c59dc048e8850243be8079a5c74d079"


def test_counts_errors_and_tracebacks_from_014_jobs(summary):
    jobs = job_table(summary)
    assert isinstance(jobs, LegacyJobTable)
    counts = jobs.progress()
    assert (counts["error"], counts["reserved"], counts["pending"]) == (3, 1, 0)
    page, after = jobs.page(statuses=["error"], limit=2)
    assert len(page) == 2 and after is not None
    rest, end = jobs.page(statuses=["error"], after=after, limit=2)
    assert len(rest) == 1 and end is None
    keys = {(j["key"]["subject_id"], j["key"]["session_id"]) for j in page + rest}
    assert keys == {(1, 1), (1, 2), (2, 1)}
    assert [j["key"] for j in jobs.page(host="old-host", statuses=["reserved"])[0]] == [
        {"subject_id": 2, "session_id": 2}
    ]
    assert len(jobs.page(error_contains="disk")[0]) == 2
    stack = jobs.error_stack({"subject_id": 1, "session_id": 2})
    assert "deliberate failure" in stack


def test_services_and_pages_show_014_jobs(summary, admin_client, admin_user, legacy014_db):
    services.begin_request()
    status = services.populate_status(legacy014_db, "__summary")
    assert (status["error"], status["reserved"]) == (3, 1)
    counts = services.job_counts(legacy014_db, "__summary")
    assert counts["legacy"] and counts["error"] == 3
    html = admin_client.get(reverse("web:jobs", args=[legacy014_db, "__summary"])).content.decode()
    assert "deliberate failure for session 2" in html and "OSError: disk full" in html
    api = admin_client.get(reverse("api:jobs", args=[legacy014_db, "__summary"])).json()
    assert api["counts"]["error"] == 3 and api["counts"]["reserved"] == 1
    with acting_as(Actor(name="tester", source="cli", trusted=True)):
        n = services.retry_jobs(
            legacy014_db, "__summary", admin_user, error_contains="disk", dry_run=True
        )
        assert n == 2
        assert (
            services.retry_jobs(legacy014_db, "__summary", admin_user, error_contains="disk") == 2
        )
    assert services.job_counts(legacy014_db, "__summary")["error"] == 1


def test_progress_figure_and_rate_of_014_jobs(summary, admin_client, legacy014_db):
    from html import unescape

    from pipeline_core.web.diagram import node_id

    counts = services.job_counts(legacy014_db, "__summary")
    url = reverse("web:schema_progress", args=[legacy014_db])
    figure = unescape(
        admin_client.get(
            url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="schema-progress"
        ).content.decode()
    )
    info = services.table_info(legacy014_db, "__summary")
    start = figure.index(f'<g id="{node_id(info)}" class="node dag-progress dag-error">')
    node = figure[start : figure.index("</a>", start)]
    assert f"{counts['done']}/{counts['keys']}" in node
    assert f"{counts['error']} errors" in node and f"{counts['reserved']} reserved" in node
    assert reverse("web:jobs", args=[legacy014_db, "__summary"]) in node
    rate = admin_client.get(reverse("api:jobs", args=[legacy014_db, "__summary"])).json()["rate"]
    assert rate["completed"] == 0 and rate["eta_seconds"] is None  # 0.14 keeps no finished jobs
    recover = reverse("api:jobs_recover", args=[legacy014_db, "__summary"])
    answer = admin_client.post(recover, {"dry_run": True}, content_type="application/json")
    assert answer.json() == {"count": 0, "dry_run": True}  # 0.14 reservations are not reset
