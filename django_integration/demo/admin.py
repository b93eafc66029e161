from django.contrib import admin

from django_integration.demo import models
from joeflow_temporal.admin import WorkflowAdmin

admin.site.register(models.WelcomeWorkflow, WorkflowAdmin)
admin.site.register(models.ShippingWorkflow, WorkflowAdmin)
admin.site.register(models.PatrolWorkflow, WorkflowAdmin)
admin.site.register(models.ExpenseWorkflow, WorkflowAdmin)
admin.site.register(models.NightlyReportWorkflow, WorkflowAdmin)
