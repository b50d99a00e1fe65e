"""Django app configuration of pipeline_core."""

from django.apps import AppConfig


class PipelineCoreConfig(AppConfig):
    """The LabBook app: web UI, API, tasks and the DataJoint model core (``datamodel``)."""

    name = "pipeline_core"
    verbose_name = "LabBook pipelines"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
