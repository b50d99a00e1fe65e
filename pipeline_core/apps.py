"""Django app configuration of pipeline_core."""

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

#: Django settings copied into ``pipeline_core.datamodel.config`` (see fill_datamodel_config).
CONFIG_SETTINGS = ("LABBOOK_PIPELINE_DB", "LABBOOK_STORES")


def fill_datamodel_config() -> None:
    """Copy ``settings.LABBOOK_PIPELINE_DB`` (``{"host", "port", "user", "password"}``) and
    ``settings.LABBOOK_STORES`` into the data model's DataJoint-style ``config``
    (``database.host``, ``database.port``, ``database.user``, ``database.password``,
    ``stores``), so that ``conn()``, ``connect()``, ``Schema(name)`` and
    ``VirtualModule(...)`` without a connection use the same server and stores as the web
    app. Called at start-up and whenever a test changes one of those settings.

    Raises:
        ImproperlyConfigured: a value the config refuses (naming the setting and the value).
    """
    from django.conf import settings

    from .datamodel import ConfigError, config

    db = settings.LABBOOK_PIPELINE_DB
    try:
        config.update(
            {
                "database.host": db["host"],
                "database.port": db["port"],
                "database.user": db["user"],
                "database.password": db["password"],
                "stores": settings.LABBOOK_STORES,
            }
        )
    except ConfigError as exc:
        raise ImproperlyConfigured(
            f"pipeline_core.datamodel.config (filled from LABBOOK_PIPELINE_DB, LABBOOK_STORES "
            f"and the DJ_* environment variables): {exc}"
        ) from None


def _on_setting_changed(setting: str, **kwargs) -> None:
    if setting in CONFIG_SETTINGS:
        fill_datamodel_config()


class PipelineCoreConfig(AppConfig):
    """The LabBook app: web UI, API, tasks and the DataJoint model core (``datamodel``)."""

    name = "pipeline_core"
    verbose_name = "LabBook pipelines"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .roles import register_permissions

        fill_datamodel_config()
        register_permissions()
        setting_changed.connect(_on_setting_changed, dispatch_uid="labbook-datamodel-config")
