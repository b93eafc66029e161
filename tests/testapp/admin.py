"""Admin of the test workflows whose admin behaviour the tests look at."""

from django.contrib import admin

from joeflow_temporal.admin import WorkflowAdmin
from tests.testapp import forms, models


@admin.register(models.CustomPagesWorkflow)
class CustomPagesWorkflowAdmin(WorkflowAdmin):
    form = forms.NotingOverrideForm
