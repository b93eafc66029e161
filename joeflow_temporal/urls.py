"""The inbox, its claim/unclaim buttons and the overview pages:
``path("tasks/", include("joeflow_temporal.urls"))``.

Names (namespace ``joeflow_temporal``): ``inbox``, ``claim`` and ``unclaim`` (a task's pk),
``overview`` (a workflow class's label, staff only).
"""

from django.urls import path

from joeflow_temporal import inbox
from joeflow_temporal.overview import OverviewView

app_name = "joeflow_temporal"

urlpatterns = [
    path("", inbox.InboxView.as_view(), name="inbox"),
    path("<int:pk>/claim/", inbox.ClaimView.as_view(), name="claim"),
    path("<int:pk>/unclaim/", inbox.UnclaimView.as_view(), name="unclaim"),
    path("overview/<str:label>/", OverviewView.as_view(), name="overview"),
]
