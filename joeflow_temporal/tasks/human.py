"""Human tasks: Django views that complete a task when their form is saved."""

from django.views import generic

from joeflow_temporal.views import StartViewMixin, TaskViewMixin


class StartView(StartViewMixin, generic.CreateView):
    """Start a new workflow instance from a form, like Django's ``CreateView``."""


class UpdateView(TaskViewMixin, generic.UpdateView):
    """Edit the instance and complete the task, like Django's ``UpdateView``."""
