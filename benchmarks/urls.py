from django.urls import include, path

from benchmarks.benchapp import models
from django_integration.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("human-loop/", include(models.HumanLoopWorkflow.urls())),
]
