"""URLs of the JSON API under /api/v1/: the endpoints (views of :mod:`.views`, each a
``PipelineAPIView``), and their description: the OpenAPI 3.1 schema (``schema/``) and
Swagger UI (``docs/``, assets from drf-spectacular-sidecar, no CDN). Both are for logged-in
users: the schema answers 401 without a token or session, the docs page sends a browser to
the login page."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from pipeline_core import url_names  # noqa: F401  (registers the <name:...> converter)

from . import export, fk, jobs, rows, runs, views, workers

app_name = "api"

_TABLE = "schemas/<name:schema>/tables/<name:table>/"

urlpatterns = [
    path("schemas/", views.SchemaList.as_view(), name="schemas"),
    path("query/", views.QueryView.as_view(), name="query"),
    path("query/export.<str:fmt>", export.QueryExportView.as_view(), name="query_export"),
    path("audit/", views.AuditView.as_view(), name="audit"),
    path(_TABLE + "rows/", rows.RowsView.as_view(), name="rows"),
    path(_TABLE + "rows/delete/", rows.DeleteRowsView.as_view(), name="rows_delete"),
    path("batches/<str:batch>/undo/", rows.UndoView.as_view(), name="batch_undo"),
    path(_TABLE + "populate/", runs.PopulateView.as_view(), name="populate"),
    path("runs/", runs.RunsView.as_view(), name="runs"),
    path("runs/<str:run>/", runs.RunView.as_view(), name="run"),
    path("runs/<str:run>/cancel/", runs.CancelRunView.as_view(), name="run_cancel"),
    path("workers/", workers.WorkersView.as_view(), name="workers"),
    path(fk.URL, fk.FKChoicesView.as_view(), name="fk_choices"),
    path(_TABLE + "jobs/", jobs.JobsView.as_view(), name="jobs"),
    path(_TABLE + "jobs/retry/", jobs.RetryJobsView.as_view(), name="jobs_retry"),
    path(_TABLE + "jobs/ignore/", jobs.IgnoreJobsView.as_view(), name="jobs_ignore"),
    path(_TABLE + "jobs/priority/", jobs.PriorityJobsView.as_view(), name="jobs_priority"),
    path(_TABLE + "jobs/recover/", jobs.RecoverJobsView.as_view(), name="jobs_recover"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
]

#: URL names that describe the API rather than being part of it (not in the schema).
DESCRIPTION_URLS = ("schema", "docs")
