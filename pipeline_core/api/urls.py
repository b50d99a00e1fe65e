"""URLs of the JSON API under /api/v1/."""

from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("schemas/", views.SchemaList.as_view(), name="schemas"),
    path("query/", views.QueryView.as_view(), name="query"),
    path("audit/", views.AuditView.as_view(), name="audit"),
]
