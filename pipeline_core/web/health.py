"""``/healthz``: the health of LabBook's services as JSON, for load balancers and people.

``GET /healthz`` answers 200 with ``{"status": "ok" | "degraded", "checks": {...}}`` while
both databases answer, and 503 with ``"status": "fail"`` when one does not (see
:mod:`pipeline_core.services.health`). Anyone may ask (no login, no role): visitors see each
check's ``ok`` and ``critical``; logged-in users also see the ``reason`` of a failure, the
servers' addresses and the timings. Never cached.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from pipeline_core import services

#: Fields of a check every visitor sees.
PUBLIC_FIELDS = ("ok", "critical")


def _logged_in(request) -> bool:
    """Whether the request comes from a logged-in user; False when the session cannot be
    read (Django's database down), so the health answer never fails on it."""
    try:
        return bool(request.user.is_authenticated)
    except Exception:  # the session store is one of the things checked
        return False


@never_cache
@require_GET
def healthz(request):
    """The health report (JSON); 503 when a critical check fails."""
    report = services.health()
    if not _logged_in(request):
        report["checks"] = {
            name: {field: check[field] for field in PUBLIC_FIELDS}
            for name, check in report["checks"].items()
        }
    return JsonResponse(report, status=503 if report["status"] == "fail" else 200)
