"""Root URL configuration: accounts (login/logout), admin, the web UI and the JSON API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("pipeline_core.api.urls")),
    path("", include("pipeline_core.web.urls")),
]

# an unreachable database server: 503 naming it (pipeline_core/web/unavailable.py)
handler500 = "pipeline_core.web.unavailable.server_error"
