"""A project's own task views and pages, written as joeflow's documentation shows."""

from django.db import transaction
from django.http import HttpResponseRedirect
from django.views import generic

from joeflow_temporal.views import OverrideView, StartViewMixin, TaskViewMixin
from tests.testapp.forms import NotingOverrideForm


class QuickStartView(StartViewMixin, generic.View):
    """Starts an instance from a URL argument (``path``), without a form."""

    def post(self, request, *args, **kwargs):
        with transaction.atomic():
            self.object = self.model.objects.create(choice=self.kwargs["choice"])
            self.next_task()
        return HttpResponseRedirect(self.object.get_absolute_url())


class ApproveView(TaskViewMixin, generic.DetailView):
    """Completes its task on a button press: saves the instance, then ``next_task()``."""

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        self.object.flag = True
        self.object.save(update_fields=["flag"])
        self.next_task()
        return HttpResponseRedirect(self.object.get_absolute_url())


class NotingOverrideView(OverrideView):
    """A project's override page (``Workflow.override_view``): its own form, fewer fields."""

    form_class = NotingOverrideForm
    fields = ["count"]
