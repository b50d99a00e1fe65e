"""URLs of the web UI. Table names are raw (``#experimenter``, ``session__trial``) and
percent-encoded by ``reverse``; row keys travel as tokens (see :mod:`.keys`)."""

from django.urls import path

from pipeline_core import url_names  # noqa: F401  (registers the <name:...> converter)

from . import (
    account,
    export,
    grid,
    health,
    history,
    jobs,
    progress,
    query,
    rowpage,
    runs,
    views,
    workers,
)
from .schema_diagram import schema_diagram

app_name = "web"

_TABLE = "schemas/<name:schema>/tables/<name:table>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("account/token/", account.api_token, name="api_token"),
    path("schemas/<name:schema>/", views.schema, name="schema"),
    path("schemas/<name:schema>/progress/", progress.schema_progress, name="schema_progress"),
    path("schemas/<name:schema>/diagram.svg", schema_diagram, name="schema_diagram"),
    path(_TABLE, views.table, name="table"),
    path(_TABLE + "new/", views.entry, name="entry"),
    path(_TABLE + "grid/", grid.grid, name="grid"),
    path(_TABLE + "rows/<str:key>/", rowpage.row, name="row"),
    path(_TABLE + "thumbnail/<name:attribute>/", views.thumbnail, name="thumbnail"),
    path(_TABLE + "value/<name:attribute>/", views.stored_value, name="value"),
    path(_TABLE + "download/<name:attribute>/", views.download, name="download"),
    path(_TABLE + "populate/", views.populate, name="populate"),
    path(_TABLE + "progress/", views.progress, name="progress"),
    path(_TABLE + "jobs/", jobs.jobs, name="jobs"),
    path(_TABLE + "jobs/action/", jobs.jobs_action, name="jobs_action"),
    path(_TABLE + "jobs/clear-errors/", views.clear_errors, name="clear_errors"),
    path(_TABLE + "jobs/traceback/", views.traceback, name="traceback"),
    path(_TABLE + "history/", history.table_history, name="history"),
    path(_TABLE + "export.<str:fmt>", export.export_table, name="export"),
    path(_TABLE + "count/", views.row_count, name="count"),
    path("history/users/<str:actor>/", history.actor_history, name="actor_history"),
    path("runs/", runs.run_list, name="runs"),
    path("runs/<str:run>/", runs.run_page, name="run"),
    path("runs/<str:run>/cancel/", runs.run_cancel, name="run_cancel"),
    path("workers/", workers.workers, name="workers"),
    path("query/", query.query_page, name="query"),
    path("query/context/", query.query_context, name="query_context"),
    path("query/saved/", query.query_save, name="query_save"),
    path("query/saved/<int:pk>/", query.saved_query, name="saved_query"),
]
