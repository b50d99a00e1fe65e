"""Celery tasks of LabBook: thin, named, idempotent wrappers around :mod:`pipeline_core.services`.

Progress is never read from Celery's result state: pages read the durable jobs table.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from pipeline_core import datamodel as dm
from pipeline_core import services
from pipeline_core.principal import Actor

log = logging.getLogger(__name__)


def worker_actor(username: str | None, request_id: str | None = None) -> Actor:
    """The actor a task runs as: the user who queued it (source ``worker``), or, for a task
    queued without a user (by code or a shell on the server, beyond the role system), the
    trusted actor of :meth:`Actor.shell` with source ``worker``. An unknown user name gives
    an actor without a user (anonymous), whom the role checks refuse. ``request_id`` (the
    task's id) correlates the run's audit events; None: a new one."""
    ids = {} if request_id is None else {"request_id": request_id}
    if username is None:
        return Actor(name=Actor.shell().name, source="worker", trusted=True, **ids)
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if user is None:
        return Actor(name=username, source="worker", user=None, **ids)
    return Actor.of_user(user, "worker", request_id)


@shared_task(name="populate_run", bind=True)
def populate_run(self, run_id: str) -> dict:
    """One task of a populate run (:func:`pipeline_core.services.run_populate`): reserve and
    compute the run's keys one at a time, as the user who started the run, whose role is
    checked again here (a user demoted meanwhile is refused: the task computes nothing).
    Idempotent: a redelivered task (``acks_late``) finds its keys computed or reserved.

    Returns:
        ``{"run", "success_count", "error_count", "cancelled"}``, or with ``"refused"``.
    """
    from pipeline_core.models import PopulateRun

    run = PopulateRun.objects.filter(id=run_id).first()
    if run is None:
        return {"run": run_id, "refused": "no such run"}
    actor = worker_actor(run.username or None, run_id)
    verdict = actor.decide("populate", run.schema)
    if not verdict.allowed:
        log.warning("populate run %s refused for %s: %s", run_id, run.username, verdict.message)
        services.run_refused(run_id, verdict.message)
        return {"run": run_id, "refused": verdict.message}
    with services.serving(actor):
        return services.run_populate(run_id)


@shared_task(name="populate", bind=True)
def populate(self, full_table_name: str, user: str | None = None) -> dict:
    """Populate one auto-populated table (`` `db`.`tbl` ``) with job reservation, as
    ``user`` (the name of the LabBook user who queued it). The audit trail records each
    computed key as that user's (source ``worker``) with this task's id as batch id.

    The user's role is checked when the task runs, not only when it was queued: a user
    demoted (or deactivated, or deleted) meanwhile is refused, and the refusal is the
    task's result (nothing is computed, nothing is retried). ``user=None`` (a task queued
    by code on the server, e.g. ``populate.delay(name)``) is trusted, like the command line
    without ``--user``.

    Idempotent: keys already computed, or reserved by another worker, are skipped; a
    failing key is recorded as an ``error`` job and the others go on.

    Returns:
        ``{"table", "success_count", "error_count", "errors"}`` (JSON-serialisable); a
        refusal gives ``{"table", "user", "refused": reason,
        "success_count": 0, "error_count": 0, "errors": []}``.
    Raises:
        NotFoundError: not a full table name (the task fails; nothing to retry).
    """
    actor = worker_actor(user, self.request.id)
    try:
        schema = dm.TableRef.parse(full_table_name).database
    except dm.DataJointError as exc:
        raise services.NotFoundError(str(exc)) from None
    verdict = actor.decide("populate", schema)
    if not verdict.allowed:
        reason = (
            f"user {user!r} does not exist or is inactive"
            if actor.user is None or not actor.user.is_active
            else verdict.message
        )
        log.warning("populate %s refused for %s: %s", full_table_name, user, reason)
        return {
            "table": full_table_name,
            "user": user,
            "refused": reason,
            "success_count": 0,
            "error_count": 0,
            "errors": [],
        }
    with services.serving(actor):  # the audit trail records the computed keys as the actor's
        return services.populate(full_table_name, run_id=self.request.id)


@shared_task(name="recover_stale", bind=True)
def recover_stale(self, schema: str | None = None, table: str | None = None) -> dict:
    """Return the stale reservations of dead workers to ``pending`` (or mark them ``error``
    "worker lost" after ``LABBOOK_MAX_ATTEMPTS``), over the visible schemas' jobs tables or
    those of ``schema`` (one ``table`` of it): :func:`pipeline_core.services.recover_stale`.
    Scheduled every 30 s by celery beat (``CELERY_BEAT_SCHEDULE``); trusted like code on the
    server (no user), each recovered key a ``recover`` event (source ``worker``) with this
    task's id as request id. Idempotent: a job already recovered or reserved again is left.
    Then the heartbeat rows of worker processes not seen for a day are deleted
    (:func:`pipeline_core.services.prune_workers`; the workers view lists offline
    processes that long).

    Returns:
        ``{"recovered", "pending", "error", "jobs": [...], "failed": [...],
        "pruned_workers": n}`` (JSON-serialisable).
    """
    with services.serving(worker_actor(None, self.request.id)):
        result = services.recover_stale(schema, table)
        try:
            result["pruned_workers"] = services.prune_workers()
        except dm.DataJointError as exc:  # the recovery is done; pruning waits for next time
            log.warning("pruning old worker heartbeats failed: %s", exc)
            result["pruned_workers"] = 0
    if result["recovered"]:
        log.warning(
            "recovered %d stale jobs (%d pending, %d error)",
            result["recovered"],
            result["pending"],
            result["error"],
        )
    return result
