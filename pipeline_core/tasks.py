"""Celery tasks of LabBook: thin, named, idempotent wrappers around :mod:`pipeline_core.services`.

Progress is never read from Celery's result state: pages read the durable jobs table.
"""

from __future__ import annotations

from celery import shared_task

from pipeline_core import services


@shared_task(name="populate", bind=True)
def populate(self, full_table_name: str, actor: str = "worker") -> dict:
    """Populate one auto-populated table (`` `db`.`tbl` ``) with job reservation, for
    ``actor`` (the user who started the run; the audit trail records the computed keys as
    theirs, source ``worker``, batch id = this task's id).

    Idempotent: keys already computed, or reserved by another worker, are skipped; a
    failing key is recorded as an ``error`` job and the others go on.

    Returns:
        ``{"table", "success_count", "error_count", "errors"}`` (JSON-serialisable).
    """
    return services.populate(full_table_name, actor=actor, run_id=self.request.id)
