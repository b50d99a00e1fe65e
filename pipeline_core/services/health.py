"""Health of the services LabBook depends on, for ``/healthz`` (issue #15 part 5).

Each check answers ``{"ok": bool, "critical": bool, "reason": str | None, ...}``. Critical
checks are the two databases: without them no page can be served, so a load balancer should
stop sending requests (HTTP 503). Redis (the Celery broker), the object stores and the
workers are not critical: pages still work without them, only populate runs or stored values
do not (``degraded``, HTTP 200).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connections

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.stores import StoreError

from .access import connection
from .workers import worker_processes

#: Seconds a check of Redis may take (connect and answer).
REDIS_TIMEOUT = 1.0


def _timed(check) -> dict:
    """Run ``check()`` (returning extra fields or None) as one health check: ``ok`` and the
    ``reason`` of a failure (the exception's message), with its duration in ms."""
    start = time.perf_counter()
    try:
        extra = check() or {}
        result = {"ok": True, "reason": None, **extra}
    except Exception as exc:  # any failure is the check's answer
        result = {"ok": False, "reason": f"{type(exc).__name__}: {exc}"[:500]}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def _pipeline_database() -> dict:
    db = settings.LABBOOK_PIPELINE_DB
    connection().query("SELECT 1")
    return {"server": f"{db['host']}:{db['port']}"}


def _django_database() -> dict:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    db = settings.DATABASES["default"]
    return {"server": f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 'default'}"}


def _redis() -> None:
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def _stores() -> dict:
    """Every configured store answers a listing of its root (a file store: its folder
    exists; an S3 store: its bucket can be listed)."""
    stores = connection().stores
    failing = {}
    for name in stores:
        try:
            stores.backend(name).listdir("")
        except (StoreError, OSError, dm.DataJointError) as exc:
            failing[name] = str(exc)[:200]
        except Exception as exc:  # e.g. botocore's errors
            failing[name] = f"{type(exc).__name__}: {exc}"[:200]
    if failing:
        raise RuntimeError("; ".join(f"store {n!r}: {why}" for n, why in failing.items()))
    return {"stores": len(stores)}


def _workers() -> dict:
    """At least one LabBook worker process is online (by its heartbeat, see
    :func:`.workers.worker_processes`)."""
    online = sum(1 for process in worker_processes() if process["online"])
    if not online:
        raise RuntimeError("no worker process is online (no heartbeat)")
    return {"online": online}


#: name -> (check, critical)
CHECKS = {
    "pipeline_database": (_pipeline_database, True),
    "django_database": (_django_database, True),
    "redis": (_redis, False),
    "stores": (_stores, False),
    "workers": (_workers, False),
}


def health() -> dict:
    """Run every check.

    Returns:
        ``{"status": "ok" | "degraded" | "fail", "checks": {name: {"ok", "critical",
        "reason", "ms", ...}}}``: ``fail`` when a critical check fails, ``degraded`` when
        only others do. Checks that need the pipeline database (stores, workers) fail with
        it.
    """
    checks = {}
    for name, (check, critical) in CHECKS.items():
        checks[name] = {**_timed(check), "critical": critical}
    if any(not c["ok"] for c in checks.values() if c["critical"]):
        status = "fail"
    elif all(c["ok"] for c in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return {"status": status, "checks": checks}
