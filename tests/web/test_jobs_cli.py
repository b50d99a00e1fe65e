"""The jobs console from the command line (issue #13: the console's actions work from the
browser, the API and the command line): ``manage.py pipeline jobs --list``, ``retry``,
``ignore``, ``priority``, ``runs`` and ``workers``, through the same services (roles,
audit trail) as the console."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from pipeline_core import services
from tests.web.test_jobs_console import square  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


def statuses(sq) -> dict[int, str]:
    rows = sq.connection.query(f"SELECT n, status FROM {sq.jobs.full_table_name}").fetchall()
    return {int(n): status for n, status in rows}


def run(capsys, *argv) -> str:
    call_command("pipeline", *[str(a) for a in argv])
    return capsys.readouterr().out


def test_jobs_list_shows_each_job_with_its_status_and_message(square, capsys):  # noqa: F811
    out = run(capsys, "jobs", square.database, square.table_name, "--list", "--status", "error")
    lines = [line.split() for line in out.splitlines() if line.startswith("  job ")]
    assert {parts[2] for parts in lines} == {"error"}
    listed = {int(parts[1].removeprefix("n=")) for parts in lines}
    assert listed == {n for n, s in statuses(square).items() if s == "error"}
    assert "disk full" in out


def test_retry_matching_counts_first_then_retries_with_audit_events(square, capsys):  # noqa: F811
    before = statuses(square)
    seen = {e["event_id"] for e in services.history(table=square.ref, limit=500)["events"]}
    table = [square.database, square.table_name]
    out = run(capsys, "retry", *table, "--error-contains", "disk full", "--dry-run")
    assert "2 jobs would be retried" in out
    assert statuses(square) == before  # a dry run changes nothing
    out = run(capsys, "retry", *table, "--error-contains", "disk full")
    assert "2 jobs retried" in out
    after = statuses(square)
    assert [n for n in after if after[n] != before[n]] == [101, 102]
    assert after[101] == after[102] == "pending"
    events = services.history(table=square.ref, limit=500)["events"]
    retried = [e for e in events if e["action"] == "retry_jobs" and e["event_id"] not in seen]
    assert {e["key"]["n"] for e in retried} == {101, 102}
    assert {e["source"] for e in retried} == {"cli"}


def test_ignore_and_unignore_by_key(square, capsys):  # noqa: F811
    table = [square.database, square.table_name]
    out = run(capsys, "ignore", *table, "--key", json.dumps({"n": 201}))
    assert "1 jobs ignored" in out and statuses(square)[201] == "ignore"
    out = run(capsys, "ignore", *table, "--key", json.dumps({"n": 201}), "--unignore")
    assert "1 jobs unignored" in out and 201 not in statuses(square)
    with pytest.raises(CommandError, match="--key"):
        run(capsys, "ignore", *table)


def test_priority_of_the_given_keys(square, capsys):  # noqa: F811
    table = [square.database, square.table_name]
    out = run(capsys, "priority", *table, "1", "--key", json.dumps({"n": 202}))
    assert "1 jobs reprioritised" in out
    rows = square.connection.query(
        f"SELECT n, priority FROM {square.jobs.full_table_name} WHERE n IN (201, 202)"
    ).fetchall()
    assert dict(rows) == {201: 5, 202: 1}


def test_a_user_without_the_operator_role_is_refused(square, lab_user, capsys):  # noqa: F811
    before = statuses(square)
    with pytest.raises(CommandError, match="operator"):
        run(capsys, "retry", square.database, square.table_name, "--all-errors", "--user", "lab")
    assert statuses(square) == before


def test_runs_and_workers_are_listed(capsys, django_user_model, transactional_db):
    out = run(capsys, "workers")
    assert "nodes answered" in out or "cannot be reached" in out  # the broker's state, said
    assert run(capsys, "runs") == ""  # no runs in this test's database
    with pytest.raises(CommandError, match="No populate run"):
        run(capsys, "runs", "--cancel", "nope")
