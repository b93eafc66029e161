"""A workflow class at a glance, for staff: where its tasks wait, fail and take long.

``<app>/overview/<label>/`` (URL name ``joeflow_temporal:overview``) draws the class's graph with
each node's open, overdue and failed tasks and the median time its completed tasks took, counts
the instances by status and lists the oldest open tasks. Everything comes from the Task mirror
of that class in a few aggregate queries (one ``GROUP BY`` for the counts, one small ordered
query per node for its median), so the page stays fast at hundreds of thousands of rows.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, F, FloatField, Func, OuterRef, Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.generic import TemplateView

from joeflow_temporal import graphs
from joeflow_temporal.models import Task, get_workflow

SLOWEST = 20
"""How many of the oldest open tasks the page lists."""


class Seconds(Func):
    """``end - start`` of two datetime columns in seconds (a float), on PostgreSQL and SQLite
    (where Django's own datetime subtraction calls a Python function per row)."""

    arity = 2
    arg_joiner = " - "
    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


@dataclass
class NodeStats:
    """One task name's figures: open (scheduled), overdue, failed, succeeded, median seconds."""

    open: int = 0
    overdue: int = 0
    failed: int = 0
    succeeded: int = 0
    median: timedelta | None = None

    @property
    def median_text(self) -> str:
        return "" if self.median is None else duration(self.median)

    def notes(self) -> list[str]:
        """The lines drawn under the node (``!``: red and bold, see ``graphs.node_label``)."""
        notes = [f"{self.open} open"] if self.open else []
        if self.overdue:
            notes.append(f"!{self.overdue} overdue")
        if self.failed:
            notes.append(f"!{self.failed} failed")
        if self.median is not None:
            notes.append(f"median {self.median_text}")
        return notes


@dataclass
class InstanceCounts:
    """Instances of the class by status: running, completed, canceled (a ``cancel`` task)."""

    running: int = 0
    completed: int = 0
    canceled: int = 0
    total: int = field(init=False)

    def __post_init__(self):
        self.total = self.running + self.completed + self.canceled


def duration(value: timedelta) -> str:
    """``"2 d 3 h"``, ``"4 min 12 s"``, ``"0.8 s"``: the two largest units."""
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount or parts:
            parts.append(f"{int(amount)} {unit}")
    return " ".join(parts[:2])


def node_stats(tasks, now) -> dict[str, NodeStats]:
    """Counts per task name in one ``GROUP BY``, then each name's median duration."""
    rows = (
        tasks.order_by()
        .values("name")
        .annotate(
            open=Count("pk", filter=Q(status=Task.SCHEDULED)),
            overdue=Count("pk", filter=Q(status=Task.SCHEDULED, due__lt=now)),
            failed=Count("pk", filter=Q(status=Task.FAILED)),
            succeeded=Count("pk", filter=Q(status=Task.SUCCEEDED, completed__isnull=False)),
        )
    )
    stats = {row.pop("name"): NodeStats(**row) for row in rows}
    for name, figures in stats.items():
        figures.median = median_duration(tasks, name, figures.succeeded)
    return stats


def median_duration(tasks, name: str, count: int) -> timedelta | None:
    """The median of ``completed - created`` over the ``count`` succeeded tasks ``name``: the
    middle row of them ordered by that duration (``ORDER BY ... LIMIT 1 OFFSET count/2``)."""
    if not count:
        return None
    middle = (count - 1) // 2
    seconds = (
        tasks.filter(name=name, status=Task.SUCCEEDED, completed__isnull=False)
        .annotate(took=Seconds(F("completed"), F("created")))
        .order_by("took")
        .values_list("took", flat=True)[middle : middle + 1]
    )
    found = list(seconds)
    return timedelta(seconds=round(max(found[0], 0), 3)) if found else None  # SQLite: ms


def instance_counts(workflow_class) -> InstanceCounts:
    """Running (not completed), canceled (ended by ``Workflow.cancel``: it has a ``cancel``
    task) and completed instances of the class, in one query."""
    canceled = Task.objects.filter(_workflow=OuterRef("pk"), name="cancel", status=Task.SUCCEEDED)
    counts = workflow_class.instances().aggregate(
        running=Count("pk", filter=Q(completed__isnull=True)),
        canceled=Count("pk", filter=Q(completed__isnull=False) & Q(Exists(canceled))),
        ended=Count("pk", filter=Q(completed__isnull=False)),
    )
    return InstanceCounts(
        running=counts["running"],
        canceled=counts["canceled"],
        completed=counts["ended"] - counts["canceled"],
    )


def reverse_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def instance_url(workflow_class, pk: int) -> str | None:
    """The instance's detail page, else its admin page, else None."""
    try:
        return workflow_class(pk=pk).get_absolute_url()
    except NoReverseMatch:
        opts = workflow_class._meta
        return reverse_or_none(f"admin:{opts.app_label}_{opts.model_name}_change", pk)


def slowest_open_tasks(workflow_class, tasks, now) -> list[dict]:
    """The ``SLOWEST`` oldest scheduled or failed tasks, each with its page (the task's form,
    else its admin page) and its instance's page."""
    oldest = (
        tasks.open()
        .select_related("content_type")
        .order_by("created", "pk")
        .only("name", "type", "status", "created", "due", "exception", "_workflow", "content_type")[
            :SLOWEST
        ]
    )
    return [
        {
            "task": task,
            "age": now - task.created,
            "overdue": task.status == Task.SCHEDULED and task.due is not None and task.due < now,
            "url": task.get_absolute_url()
            or reverse_or_none("admin:joeflow_temporal_task_change", task.pk),
            "instance_pk": task._workflow_id,
            "instance_url": instance_url(workflow_class, task._workflow_id),
        }
        for task in oldest
    ]


class OverviewView(UserPassesTestMixin, TemplateView):
    """The overview page of one workflow class (``label``: ``app_label.modelname``).

    Staff only: others signed in get 403, anonymous users the login page. A label that names
    no installed workflow class is a 404.
    """

    template_name = "joeflow_temporal/workflow_overview.html"

    def test_func(self) -> bool:
        user = self.request.user
        return user.is_active and user.is_staff

    def get_context_data(self, **kwargs):
        workflow_class = get_workflow(kwargs["label"])
        if workflow_class is None:
            raise Http404(f"No workflow class {kwargs['label']!r}.")
        now = timezone.now()
        content_type = ContentType.objects.get_for_model(workflow_class, for_concrete_model=False)
        tasks = Task.objects.filter(content_type=content_type)
        stats = node_stats(tasks, now)
        nodes = workflow_class.get_graph_spec().nodes
        graph = graphs.workflow_graph(
            workflow_class, notes={name: stats[name].notes() for name in nodes if name in stats}
        )
        names = [*nodes, *sorted(set(stats) - set(nodes))]
        return super().get_context_data(
            workflow_class=workflow_class,
            name=workflow_class._meta.verbose_name,
            graph=graphs.render_svg(graph),
            rows=[(name, stats.get(name, NodeStats()), name in nodes) for name in names],
            instances=instance_counts(workflow_class),
            slowest=slowest_open_tasks(workflow_class, tasks, now),
            slowest_limit=SLOWEST,
            changelist_url=reverse_or_none(
                f"admin:{workflow_class._meta.app_label}_{workflow_class._meta.model_name}"
                "_changelist"
            ),
            **{**kwargs, "label": workflow_class._meta.label_lower},
        )
