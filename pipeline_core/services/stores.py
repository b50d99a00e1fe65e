"""Object stores as the web and the commands use them: garbage collection of a store
over the visible schemas (spec §5.1)."""

from __future__ import annotations

from pipeline_core.datamodel.stores.gc import MIN_AGE, GcReport, collect

from .access import check_schema, connection, prefixed_databases


def collect_garbage(
    store: str, *, dry_run: bool = True, schemas: list[str] | None = None, min_age: float = MIN_AGE
) -> GcReport:
    """Find (and unless ``dry_run`` delete) the objects of ``store`` that no row of the
    given schemas references (default: every schema under ``LABBOOK_SCHEMA_PREFIX``).
    Objects of other databases are left alone and counted as ``outside``, objects younger
    than ``min_age`` seconds as ``recent``.

    Raises:
        NotFoundError: a schema given is not visible.
        StoreError: the store is not configured or cannot be listed, or a stored column
            holds something that is not store metadata (nothing is deleted then).
    """
    databases = [check_schema(s) for s in schemas] if schemas else prefixed_databases()
    return collect(connection(), store, databases, dry_run=dry_run, min_age=min_age)
