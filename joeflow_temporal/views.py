"""Human tasks as Django views: mixins for your own views, plus the detail and override pages.

Completing a task follows DESIGN.md "Human completion": in one transaction the Task row is
locked and checked, the form saved, the Task marked done and the engine signalled before the
commit. If Temporal cannot be reached, nothing is written and the user gets a 503 page.
"""

import builtins
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)
from django.db.models import Model
from django.forms import modelform_factory
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views import generic

from joeflow_temporal import refusals
from joeflow_temporal.contrib.reversion import RevisionMixin
from joeflow_temporal.engine.spec import NodeKind, TaskType
from joeflow_temporal.exceptions import (
    InstanceNotRunning,
    Refused,
    TaskNotScheduled,
    TemporalUnavailable,
)
from joeflow_temporal.forms import OverrideForm
from joeflow_temporal.lookups import pk_fits
from joeflow_temporal.relatives import children_of, parent_of
from joeflow_temporal.runtime import client

logger = logging.getLogger(__name__)

REFUSED_TEMPLATE = "joeflow_temporal/refused.html"


class WorkflowTemplateNameViewMixin:
    """Template lookup as joeflow: the task's own, the workflow's, then the app-wide one."""

    name: str | None = None
    fallback_templates: tuple[str, ...] = ("form",)

    def get_template_names(self):
        opts = self.model._meta
        names = [f"{opts.app_label}/{opts.model_name}_{self.name}.html"]
        for fallback in self.fallback_templates:
            names += [
                f"{opts.app_label}/{opts.model_name}_{fallback}.html",
                f"{opts.app_label}/workflow_{fallback}.html",
            ]
        names += [
            f"joeflow_temporal/workflow_{fallback}.html" for fallback in self.fallback_templates
        ]
        if getattr(self, "template_name", None):
            names.insert(0, self.template_name)
        return list(dict.fromkeys(names))


def engine_unavailable(request, error: Exception):
    """The page a user sees when Temporal or the database is unreachable (or the database is
    locked: SQLite under concurrent writes): nothing was written, try again. A 503, as the
    API answers, never a 500.

    Logged as a warning too: in a test run the message names the test runner setting.
    """
    logger.warning("Answered 503: %s", error)
    database = isinstance(error, DatabaseError)
    return TemplateResponse(
        request,
        "joeflow_temporal/engine_unavailable.html",
        {"error": error, "database": database},
        status=503,
    )


UNAVAILABLE = (TemporalUnavailable, OperationalError, InterfaceError)
"""What a view that writes and signals answers with ``engine_unavailable``."""


def roll_back_request() -> None:
    """Write nothing of a refused request, also under ``ATOMIC_REQUESTS`` (whose transaction
    would otherwise commit what a project's view saved before its ``next_task()`` failed)."""
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            transaction.set_rollback(True, using=conn.alias)


def refused_page(request, refused: Refused, instance=None, **context):
    """The page of a refusal without a form: the message, and a link to the instance."""
    return TemplateResponse(
        request,
        REFUSED_TEMPLATE,
        {"refusal": refused.message, "object": instance, **context},
        status=refused.status,
    )


class TaskViewMixin(WorkflowTemplateNameViewMixin, RevisionMixin):
    """A view that completes a human task of a workflow (the task's pk is in the URL)."""

    type = TaskType.HUMAN
    node_kind = NodeKind.VIEW
    model: builtins.type[Model] = None  # type: ignore[assignment]  # Django's default; stubs omit None
    request: HttpRequest
    """The request (set by the view it is mixed into)."""
    path = ""
    """A postfix to the task's URL pattern, for views that take more URL arguments (joeflow's):
    ``tasks.StartView(path="<int:team>/")`` answers ``<task name>/<int:team>/``; other tasks
    ``<task name>/<int:pk>/<int:team>/``. The arguments arrive in ``self.kwargs``."""
    candidate_groups: Sequence[str] = ()
    """Names of auth groups whose members may claim and complete the task while it has no
    assignees (BPMN's candidate groups; DESIGN "Human work"). A group missing when the engine
    creates the task makes it a failed task (rerun it once the group exists)."""
    due: timedelta | None = None
    """The task's ``due`` date, this long after its creation; overdue after it."""
    remind_every: timedelta | None = None
    """Run the class's ``on_task_reminder`` hook this often while the task is open (a Temporal
    timer each time)."""
    on_timeout: str | None = None
    """The name of a task of the class to start at the due date, when the task is canceled
    (its ``comment`` says why); a later completion is refused (409). None: ``due`` only marks
    the task overdue."""

    def __init__(self, **kwargs):
        self._initkwargs = kwargs
        super().__init__(**kwargs)

    def create_task(self, workflow, prev_task):
        """Create this task's row when the engine reaches it; override to assign users.

        As joeflow's hook (not a view method: there is no request). The engine adopts the row
        returned: it gives it the walker's key and the parent tasks.

        Args:
            workflow: the instance, as its workflow class.
            prev_task: the Task that led here (one of them, for a task with several parents).

        Returns:
            The new Task, e.g. ``workflow.task_set.create(name=self.name, type=self.type,
            workflow=workflow)``, with ``assignees`` set as the project wants.
        """
        return workflow.task_set.create(name=self.name, type=self.type, workflow=workflow)

    def get_task(self):
        """This view's task, in whatever state (404 if the URL names none): ``dispatch`` then
        refuses a closed one, saying what became of it."""
        from joeflow_temporal.models import Task

        return get_object_or_404(
            Task.objects.human(),
            pk=self.kwargs["pk"],
            name=self.name,
            content_type=ContentType.objects.get_for_model(self.model, for_concrete_model=False),
        )

    def refusal(self) -> Refused | None:
        """Why this request may not complete the task, or None: it is closed (completed,
        canceled, failed), a deploy removed its node, or it is assigned to others."""
        submitted = self.request.method not in ("GET", "HEAD", "OPTIONS")
        return refusals.refuse_completion(self.task, self.request.user, submitted=submitted)

    def dispatch(self, request, *args, **kwargs):
        """Refuse what ``refusal()`` names; a project's view whose ``next_task()`` finds the
        task closed meanwhile (or Temporal unreachable) gets the same pages, not a 500."""
        self.task = self.get_task()
        refused = self.refusal()
        if refused is not None:
            return self.refuse(refused)
        try:
            return super().dispatch(request, *args, **kwargs)
        except (TaskNotScheduled, InstanceNotRunning) as error:
            roll_back_request()
            return self.refuse(refusals.explain(error, "complete", task=self.task))
        except UNAVAILABLE as error:
            roll_back_request()
            return engine_unavailable(request, error)

    def refuse(self, refused: Refused, form=None):
        """Answer a refusal: a posted form comes back with the message and what the user typed
        (409); otherwise a page says it. A closed task's page is a 404 to a GET, as joeflow's."""
        status = refused.status
        if status == 409 and self.request.method in ("GET", "HEAD"):
            status = 404
        if status == 409 and form is None and hasattr(self, "get_form"):
            self.object = self.get_object()
            form = self.get_form()
        if status == 409 and form is not None and hasattr(self, "form_invalid"):
            form.add_error(None, refused.message)
            response = self.form_invalid(form)
            response.status_code = status
            return response
        return refused_page(
            self.request,
            Refused(refused.message, status=status, code=refused.code),
            self.task.workflow,
            task=self.task,
            view=self,
        )

    def get_object(self, queryset=None):
        """The instance the task belongs to, as its workflow class (the form edits it)."""
        return self.task.workflow

    def get_context_data(self, **kwargs):
        """The generic view's context, plus ``task`` (the Task row), as joeflow's, and
        ``overdue`` (whether it is past its due date)."""
        overdue = self.task.due is not None and self.task.due < timezone.now()
        return super().get_context_data(task=self.task, overdue=overdue, **kwargs)

    def completed_by(self):
        """The user to record on the task: the request's, or None for an anonymous one."""
        user = self.request.user
        return user if user.is_authenticated else None

    def next_task(self) -> None:
        """Complete this view's task and move the instance on: joeflow's call for your own views.

        Call it once your view has saved its changes, e.g. at the end of ``post()``; it runs
        ``Task.completing`` (the task locked and checked, marked ``succeeded`` by the request's
        user, the engine signalled before the commit, then a wait for the tasks that follow).
        To have the save and the completion commit together, call both inside
        ``transaction.atomic()``; there is no wait then (the engine sees nothing before the
        commit), so the next tasks appear a moment later.

        Raises:
            TaskNotScheduled: someone completed or canceled the task meanwhile.
            InstanceNotRunning: the instance has ended.
            TemporalUnavailable: Temporal cannot be reached; the completion was not written.
        """
        with self.task.completing(self.completed_by()):
            pass

    def form_valid(self, form):
        """Save the form and complete the task in one transaction, then redirect to the next
        task this user may complete (``get_success_url``). A task closed meanwhile gets the
        form back with a message (409), nothing saved; Temporal unreachable: the 503 page."""
        try:
            with self.task.completing(self.completed_by()):
                self.object = form.save()
        except (TaskNotScheduled, InstanceNotRunning) as error:
            return self.refuse(refusals.explain(error, "complete", task=self.task), form)
        except UNAVAILABLE as error:
            return engine_unavailable(self.request, error)
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self):
        """The next human task this user may complete, else the instance's detail page; a
        view's ``success_url`` wins, as on Django's (and joeflow's) views."""
        if getattr(self, "success_url", None):
            return super().get_success_url()
        return next_task_url(self.task, self.request.user) or self.object.get_absolute_url()


def next_task_url(task, user) -> str | None:
    """The page of the first scheduled human task right after ``task`` that ``user`` may
    complete; None if there is none (yet: the engine mirrors them after the commit)."""
    following = task.child_task_set.human().scheduled().order_by("pk")
    for candidate in following.select_related("content_type"):
        if candidate.can_be_completed_by(user):
            url = candidate.get_absolute_url()
            if url:
                return url
    return None


class StartViewMixin(TaskViewMixin):
    """A view that creates a workflow instance and starts it (no task pk in the URL)."""

    node_kind = NodeKind.START_VIEW

    def dispatch(self, request, *args, **kwargs):
        """No task to look up yet; a project's view whose ``next_task()`` cannot reach
        Temporal gets the 503 page, as the generic view does."""
        try:
            return super(TaskViewMixin, self).dispatch(request, *args, **kwargs)
        except UNAVAILABLE as error:
            roll_back_request()
            return engine_unavailable(request, error)

    def get_context_data(self, **kwargs):
        return super(TaskViewMixin, self).get_context_data(**kwargs)

    def next_task(self) -> None:
        """Start the instance your view saved as ``self.object``: joeflow's call for your views.

        Records this start task as ``self.task`` (completed by the request's user) and starts
        the instance's Temporal execution, in one transaction with the caller's, if any; then,
        outside a transaction, waits for the tasks that follow (``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``).

        Raises:
            TemporalUnavailable: Temporal cannot be reached; nothing of the start was written.
        """
        self.task = self.object.start_engine(self.name, user=self.completed_by())
        client.wait_followed(self.object, self.task.pk)

    def form_valid(self, form):
        """Save the new instance and start it in one transaction, then redirect (as
        ``TaskViewMixin.form_valid``); Temporal unreachable: the 503 page, nothing saved."""
        try:
            with transaction.atomic():
                self.object = form.save()
                self.task = self.object.start_engine(self.name, user=self.completed_by())
        except UNAVAILABLE as error:
            return engine_unavailable(self.request, error)
        client.wait_followed(self.object, self.task.pk)
        return HttpResponseRedirect(self.get_success_url())


class WorkflowInstanceMixin:
    """Pages of one instance: only instances of this class (proxies share a table)."""

    def get_queryset(self):
        return self.model.instances()

    def get_object(self, queryset=None):
        if not pk_fits(self.model, self.kwargs["pk"]):
            raise Http404("No such instance.")
        return super().get_object(queryset)


class WorkflowDetailView(WorkflowInstanceMixin, WorkflowTemplateNameViewMixin, generic.DetailView):
    name = "detail"
    fallback_templates = ("detail",)

    def get_context_data(self, **kwargs):
        """The generic view's context, plus ``tasks`` (oldest first), ``override_url``,
        ``notices``, ``parent`` (``relatives.parent_of``: the instance and task that started
        this one, or None) and ``children`` (``relatives.children_of``)."""
        tasks = self.object.task_set.order_by("pk").prefetch_related("parent_task_set")
        override_url = self.object.get_override_url() if self.model.override_view else None
        return super().get_context_data(
            tasks=tasks,
            override_url=override_url,
            notices=self.notices(),
            parent=parent_of(self.object),
            children=children_of(self.object),
            **kwargs,
        )

    def notices(self) -> list[str]:
        """What nothing on the page can move on: open tasks whose node a deploy removed."""
        nodes = dict(self.model.get_nodes())
        stuck = self.object.task_set.open().human().exclude(name__in=list(nodes)).order_by("pk")
        return [refusals.node_removed(task).message for task in stuck]


class OverrideView(
    PermissionRequiredMixin,
    RevisionMixin,
    WorkflowInstanceMixin,
    WorkflowTemplateNameViewMixin,
    generic.UpdateView,
):
    """Change the instance's fields; then cancel its open tasks and start the chosen ones, or
    end it, if the user chose so (else the open tasks keep running).

    As joeflow's: ``form_class`` (an ``OverrideForm``) and ``fields`` make the form, and the
    form's ``start_next_tasks(user)`` does the override. An ended instance is refused (409).
    """

    name = "override"
    fallback_templates = ("override", "form")
    permission_required = "joeflow_temporal.override"
    permission_denied_message = (
        "You may not override workflow instances (permission joeflow_temporal.override)."
    )
    form_class = OverrideForm
    fields: list[str] | tuple[str, ...] | Literal["__all__"] | None = "__all__"

    def get_form_class(self):
        return modelform_factory(self.model, form=self.form_class, fields=self.fields)

    def dispatch(self, request, *args, **kwargs):
        """The permission first (403), then the instance's state: an ended one says how it
        ended, to a GET too (its page has nothing to offer)."""
        if not self.has_permission():
            return self.handle_no_permission()
        instance = self.get_object()
        if instance.completed:
            return refused_page(request, refusals.instance_ended(instance, "override"), instance)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        open_tasks = self.object.task_set.open().order_by("pk")
        return super().get_context_data(open_tasks=open_tasks, **kwargs)

    def form_valid(self, form):
        try:
            with transaction.atomic():
                self.object = form.save()
                if form.override_chosen():
                    form.start_next_tasks(self.request.user)
        except InstanceNotRunning:
            self.object.refresh_from_db(fields=["completed"])
            form.add_error(None, refusals.instance_ended(self.object, "override").message)
            response = self.form_invalid(form)
            response.status_code = 409
            return response
        except UNAVAILABLE as error:
            return engine_unavailable(self.request, error)
        return HttpResponseRedirect(self.object.get_absolute_url())
