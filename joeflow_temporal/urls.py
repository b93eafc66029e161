"""The app's HTML pages: ``path("tasks/", include("joeflow_temporal.urls"))``."""

from django.urls import path

from joeflow_temporal.overview import OverviewView

app_name = "joeflow_temporal"

urlpatterns = [
    path("overview/<str:label>/", OverviewView.as_view(), name="overview"),
]
