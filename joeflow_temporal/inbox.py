"""The inbox page: the signed-in user's human tasks, the ones they may claim, the overdue ones;
and the claim and unclaim buttons (DESIGN "Human work", HTML).

Mounted by ``path("tasks/", include("joeflow_temporal.urls"))``. A page costs the same few
queries however many tasks are open: the rows of one page, their assignees and candidate
groups prefetched, the user's groups once; who may do what is decided in Python from those.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import F, OrderBy
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.views import View
from django.views.generic import TemplateView

from joeflow_temporal import refusals
from joeflow_temporal.exceptions import InstanceNotRunning, Refused, TaskNotScheduled
from joeflow_temporal.models import Task, Workflow, get_workflows
from joeflow_temporal.views import UNAVAILABLE, engine_unavailable, refused_page


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    empty: str
    """What the section says when it has no task."""


SECTIONS = [
    Section("mine", "My tasks", "Nothing is assigned to you. Claim a task to make it yours."),
    Section("claimable", "Claimable", "No unassigned task is offered to you right now."),
    Section("overdue", "Overdue", "Nothing you may work on is past its due date."),
]

ORDERINGS: dict[str, tuple[OrderBy | str, ...]] = {
    "due": (F("due").asc(nulls_last=True), "-priority", "pk"),
    "-due": (F("due").desc(nulls_last=True), "-priority", "pk"),
    "priority": ("priority", F("due").asc(nulls_last=True), "pk"),
    "-priority": ("-priority", F("due").asc(nulls_last=True), "pk"),
}
"""``?ordering=`` values and their ``order_by``; the default is ``-priority`` (higher first,
then the earliest due). Ties end on the primary key so that pages never overlap."""
DEFAULT_ORDERING = "-priority"
PAGE_SIZE = 25


def section_queryset(key: str, user):
    """The scheduled human tasks of the section ``key`` for ``user``, unordered."""
    tasks = Task.objects.human().scheduled()
    if key == "claimable":
        return tasks.claimable_by(user)
    if key == "overdue":
        return tasks.for_user(user).overdue()
    return tasks.filter(assignees=user)


class InboxView(LoginRequiredMixin, TemplateView):
    """The inbox: ``?section=mine|claimable|overdue`` (default ``mine``),
    ``?ordering=due|-due|priority|-priority`` (anything else: the default), ``?page=N``."""

    template_name = "joeflow_temporal/inbox.html"
    paginate_by = PAGE_SIZE

    def get_context_data(self, **kwargs):
        user = self.request.user
        key = self.request.GET.get("section", "mine")
        section = next((s for s in SECTIONS if s.key == key), SECTIONS[0])
        ordering = self.request.GET.get("ordering", DEFAULT_ORDERING)
        if ordering not in ORDERINGS:
            ordering = DEFAULT_ORDERING
        rows = (
            section_queryset(section.key, user)
            .select_related("content_type")
            .prefetch_related("assignees", "candidate_groups")
            .order_by(*ORDERINGS[ordering])
        )
        page = Paginator(rows, self.paginate_by).get_page(self.request.GET.get("page"))
        counts = {s.key: section_queryset(s.key, user).count() for s in SECTIONS if s != section}
        counts[section.key] = page.paginator.count
        rights = Rights(user)
        now = timezone.now()
        return super().get_context_data(
            sections=[(s, counts[s.key]) for s in SECTIONS],
            section=section,
            ordering=ordering,
            page_obj=page,
            rows=[Row(task, rights, now) for task in page.object_list],
            overviews=overview_links(user),
            **kwargs,
        )


def overview_links(user) -> list[tuple[str, str]]:
    """``(class name, URL)`` of every workflow class's overview page, for staff (the pages
    are staff only); none for others."""
    if not user.is_staff:
        return []
    return [
        (
            str(capfirst(cls._meta.verbose_name)),
            reverse("joeflow_temporal:overview", args=[cls._meta.label_lower]),
        )
        for cls in get_workflows()
    ]


class Rights:
    """What one user may do with tasks whose assignees and candidate groups are prefetched:
    the rules of ``Task.can_be_completed_by`` and ``refusals.refuse_claim/refuse_unclaim``
    without a query per task."""

    def __init__(self, user):
        self.user = user
        self.group_ids = set(Group.objects.filter(user=user).values_list("pk", flat=True))
        self.may_assign = user.has_perm("joeflow_temporal.assign")

    def offered(self, task) -> bool:
        groups = task.candidate_groups.all()
        return not groups or any(group.pk in self.group_ids for group in groups)

    def may_complete(self, task) -> bool:
        assignees = task.assignees.all()
        if self.user.is_superuser:
            return True
        return self.user in assignees if assignees else self.offered(task)

    def may_claim(self, task) -> bool:
        return not task.assignees.all() and (self.user.is_superuser or self.offered(task))

    def may_unclaim(self, task) -> bool:
        assignees = task.assignees.all()
        return bool(assignees) and (self.user in assignees or self.may_assign)


class Row:
    """One task as the inbox shows it."""

    def __init__(self, task: Task, rights: Rights, now):
        self.task = task
        self.assignees = list(task.assignees.all())
        self.candidate_groups = list(task.candidate_groups.all())
        self.overdue = task.due is not None and task.due < now
        self.url = task.get_absolute_url() if rights.may_complete(task) else None
        self.may_claim = rights.may_claim(task)
        self.may_unclaim = rights.may_unclaim(task)
        model = task.content_type.model_class()
        self.instance_label = (
            f"{capfirst(model._meta.verbose_name)} #{task._workflow_id}"
            if model is not None
            else f"{task.content_type} #{task._workflow_id}"
        )
        self.instance_url = instance_url(model, task._workflow_id)


def instance_url(model, pk) -> str | None:
    """The instance's detail page, without loading the instance; None when it has none."""
    if model is None or not issubclass(model, Workflow):
        return None
    try:
        return reverse(f"{model.get_url_namespace()}:detail", args=[pk])
    except NoReverseMatch:
        return None


class TaskActionView(View):
    """``POST <pk>/claim/`` or ``<pk>/unclaim/``: do it, then back to the inbox (or the
    ``next`` URL the form carries) with a message. A refusal is a page with its message and
    status (403, 409), an unreachable engine the 503 page; a GET is a 405."""

    http_method_names = ["post"]
    action = ""
    done = ""
    """The success message; ``{task}`` is filled in ("Task review #12")."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("joeflow_temporal:inbox"))
        task = get_object_or_404(Task.objects.human().select_related("content_type"), pk=pk)
        try:
            getattr(task, self.action)(request.user)
        except Refused as refused:
            return self.refuse(refused, task)
        except TaskNotScheduled as error:  # closed meanwhile: says how (409)
            return self.refuse(Refused(str(error)), task)
        except InstanceNotRunning as error:
            return self.refuse(refusals.explain(error, "complete", task=task), task)
        except UNAVAILABLE as error:
            return engine_unavailable(request, error)
        messages.success(request, self.done.format(task=refusals.task_label(task)))
        return HttpResponseRedirect(self.next_url())

    def refuse(self, refused: Refused, task: Task) -> HttpResponse:
        return refused_page(self.request, refused, task.workflow, task=task, back=self.next_url())

    def next_url(self) -> str:
        """The ``next`` URL posted with the form, if it is on this site; else the inbox."""
        url = self.request.POST.get("next", "")
        safe = url_has_allowed_host_and_scheme(
            url, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        )
        return url if url and safe else reverse("joeflow_temporal:inbox")


class ClaimView(TaskActionView):
    action = "claim"
    done = "{task} is yours now."


class UnclaimView(TaskActionView):
    action = "unclaim"
    done = "{task} is back with its candidates."
