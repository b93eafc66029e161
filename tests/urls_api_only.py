"""A project that mounts only the REST API, under a prefix of its own (no home page, no admin)."""

from django.urls import include, path

urlpatterns = [path("backend/api/", include("joeflow_temporal.api.urls"))]
