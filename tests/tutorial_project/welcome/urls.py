from django.urls import include, path

from . import workflows

urlpatterns = [
    # …
    path("welcome/", include(workflows.WelcomeWorkflow.urls())),
]
