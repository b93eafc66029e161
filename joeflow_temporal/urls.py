"""The inbox and its claim/unclaim buttons: ``path("tasks/", include("joeflow_temporal.urls"))``.

Names (namespace ``joeflow_temporal``): ``inbox``, ``claim`` and ``unclaim`` (a task's pk).
"""

from django.urls import path

from joeflow_temporal import inbox

app_name = "joeflow_temporal"

urlpatterns = [
    path("", inbox.InboxView.as_view(), name="inbox"),
    path("<int:pk>/claim/", inbox.ClaimView.as_view(), name="claim"),
    path("<int:pk>/unclaim/", inbox.UnclaimView.as_view(), name="unclaim"),
]
