"""Django system checks of LabBook's own settings (run by ``manage.py check`` and on start)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import checks

from pipeline_core.datamodel.stores import StoreConfig, StoreError


@checks.register()
def check_stores(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``LABBOOK_STORES`` must be a valid DataJoint store configuration (spec §5.1); a file
    store whose folder does not exist is reported as a warning (values in it cannot be read
    or written until it does)."""
    try:
        stores = StoreConfig(getattr(settings, "LABBOOK_STORES", {}))
    except StoreError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix LABBOOK_STORES (a JSON object of store specs).",
                id="labbook.E001",
            )
        ]
    return [
        checks.Warning(
            f"store {spec.name}: folder {spec.location} does not exist",
            hint="Create it (or mount the store) before values are stored there.",
            id="labbook.W001",
        )
        for spec in stores
        if spec.protocol == "file" and not Path(spec.location).is_dir()
    ]
