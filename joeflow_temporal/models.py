"""Workflow instances (your models) and the Task mirror of what the engine did."""

import traceback
import uuid
from contextlib import contextmanager
from functools import cache

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models.base import ModelBase
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from joeflow_temporal import client, conf, graphs
from joeflow_temporal.engine import Graph, Node, OverrideRequest, WalkerConfig, names
from joeflow_temporal.exceptions import TaskNotScheduled


class WorkflowBase(ModelBase):
    """Name every task object after the attribute it is assigned to, as joeflow does."""

    def __new__(mcs, name, bases, attrs, **kwargs):
        for attr_name, value in attrs.items():
            if hasattr(value, "node_kind"):
                value.name = attr_name
        return super().__new__(mcs, name, bases, attrs, **kwargs)


class Workflow(models.Model, metaclass=WorkflowBase):
    """The state of one workflow instance: subclass it with fields, then add tasks and edges."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    modified = models.DateTimeField(auto_now=True)
    completed = models.DateTimeField(blank=True, null=True, editable=False, db_index=True)

    edges: list | tuple = ()

    class Meta:
        permissions = [("override", "Can override a workflow")]

    def __str__(self):
        return f"{self._meta.verbose_name} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse(f"{self.get_namespace()}:detail", args=[self.pk])

    # The graph

    @classmethod
    def get_nodes(cls) -> dict[str, object]:
        """Every task of the class by name: task objects, views and the methods in ``edges``."""
        nodes = {}
        for klass in reversed(cls.__mro__):
            for attr_name, value in vars(klass).items():
                if hasattr(value, "node_kind"):
                    nodes[attr_name] = value
        for edge in cls.edges:
            for end in edge:
                nodes.setdefault(node_name(end), end)
        return nodes

    @classmethod
    def get_node(cls, name: str):
        return cls.get_nodes()[name]

    @classmethod
    def get_graph_spec(cls) -> Graph:
        """The class and its edges as the data the engine walks."""
        return compile_graph(cls)

    @classmethod
    def get_graph(cls):
        """The class's tasks and edges as a ``graphviz.Digraph``."""
        return graphs.workflow_graph(cls)

    @classmethod
    def get_graph_svg(cls):
        """The class's graph as HTML-safe SVG: ``{{ workflow_class.get_graph_svg }}``."""
        return graphs.render_svg(cls.get_graph())

    def get_instance_graph(self):
        """This instance's tasks over the class's graph, as a ``graphviz.Digraph``."""
        return graphs.instance_graph(self)

    def get_instance_graph_svg(self):
        """This instance's graph as HTML-safe SVG: ``{{ object.get_instance_graph_svg }}``."""
        return graphs.render_svg(self.get_instance_graph())

    @classmethod
    def label(cls) -> str:
        return cls._meta.label_lower

    @classmethod
    def instances(cls):
        """Instances of this class only.

        Proxy classes share their concrete model's table; the tasks' content type tells them
        apart, and every instance gets its start task in the transaction that creates it.
        """
        content_type = ContentType.objects.get_for_model(cls, for_concrete_model=False)
        of_class = Task.objects.filter(_workflow=models.OuterRef("pk"), content_type=content_type)
        return cls._default_manager.filter(models.Exists(of_class))

    @classmethod
    def get_human_nodes(cls) -> dict[str, object]:
        """The views among the tasks, by name."""
        return {name: node for name, node in cls.get_nodes().items() if is_human(node)}

    # URLs (joeflow's names: ``<namespace>:<task>``, ``:detail``, ``:override``)

    @classmethod
    def get_namespace(cls) -> str:
        return cls.__name__.lower()

    @classmethod
    def urls(cls):
        """URL patterns of every human task, the detail and the override view, and the namespace.

        ``path("welcome/", include(WelcomeWorkflow.urls()))``
        """
        from joeflow_temporal.urls import workflow_urlpatterns

        return workflow_urlpatterns(cls), cls.get_namespace()

    def get_override_url(self) -> str:
        return reverse(f"{self.get_namespace()}:override", args=[self.pk])

    # The engine

    @property
    def temporal_workflow_id(self) -> str:
        return names.workflow_id(self.label(), self.pk)

    def get_content_type(self) -> ContentType:
        return ContentType.objects.get_for_model(type(self), for_concrete_model=False)

    @classmethod
    def start_with(cls, start_node: str, fields: dict | None = None, user=None):
        """Save a new instance with ``fields`` and start it at ``start_node``; return it.

        Outside a transaction it returns once the tasks after the start are mirrored (bounded by
        ``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``), as joeflow has them when ``start()`` returns.

        Raises:
            TemporalUnavailable: Temporal could not be reached; nothing was saved.
        """
        with transaction.atomic():
            workflow = cls.objects.create(**(fields or {}))
            start_task = workflow.start_engine(start_node, user=user)
        client.wait_followed(workflow, start_task.pk)
        return workflow

    def start_engine(self, start_node: str, user=None) -> "Task":
        """Record the start task and start the Temporal execution, inside the caller's transaction.

        If Temporal refuses, the error propagates and the transaction leaves nothing behind.
        The start task's key is a fresh token the execution confirms against, so a start that
        rolls back never drives a later row that gets the same ids. Returns the start task;
        after the commit, ``client.wait_followed(workflow, task.pk)`` waits for what follows.
        """
        with transaction.atomic():
            node = self.get_node(start_node)
            task = self.task_set.create(
                name=start_node,
                key=f"start:{uuid.uuid4().hex}",
                type=node.type,
                content_type=self.get_content_type(),
                status=Task.SUCCEEDED,
                completed=timezone.now(),
                completed_by_user=user,
            )
            client.start_workflow(self, task, self.get_walker_config())
        return task

    @staticmethod
    def get_walker_config() -> WalkerConfig:
        return WalkerConfig(
            poll_interval=conf.get("JOEFLOW_TEMPORAL_POLL_INTERVAL"),
            poll_max_interval=conf.get("JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL"),
            task_timeout=conf.get("JOEFLOW_TEMPORAL_TASK_TIMEOUT"),
            heartbeat_timeout=conf.get("JOEFLOW_TEMPORAL_HEARTBEAT_TIMEOUT"),
            confirm_timeout=conf.get("JOEFLOW_TEMPORAL_CONFIRM_TIMEOUT"),
            local_activities=conf.get("JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES"),
        )

    def get_engine_state(self) -> dict:
        """The walker's ``state`` query: open tasks, joins, timers and the run count."""
        return client.query_state(self)

    def override(self, next_tasks: list[str], user=None) -> "Task":
        """Cancel the open tasks, record an ``override`` task and start ``next_tasks`` after it.

        From then on the instance walks the class's current graph (the one ``next_tasks`` are
        checked against), which moves an instance started before a deploy onto the new graph.
        """
        graph = self.get_graph_spec()
        unknown = [name for name in next_tasks if name not in graph.nodes]
        if unknown:
            raise ValueError(f"Not a task of {self.label()}: {', '.join(unknown)}")
        with transaction.atomic():
            open_tasks = list(self.task_set.open().select_for_update())
            now = timezone.now()
            self.task_set.filter(pk__in=[t.pk for t in open_tasks]).update(
                status=Task.CANCELED, completed=now, modified=now
            )
            override = self.task_set.create(
                name="override",
                key=f"override:{uuid.uuid4().hex}",
                type=Task.HUMAN,
                content_type=self.get_content_type(),
                status=Task.SUCCEEDED,
                completed=now,
                completed_by_user=user,
            )
            override.parent_task_set.set(open_tasks)
            client.signal(
                self,
                names.OVERRIDE,
                OverrideRequest(task_id=override.pk, next_tasks=next_tasks, graph=graph),
            )
        client.wait_followed(self, override.pk)
        return override

    def cancel(self, user=None) -> None:
        """Cancel every open task and end the instance."""
        with transaction.atomic():
            now = timezone.now()
            self.task_set.open().update(status=Task.CANCELED, completed=now, modified=now)
            client.signal(self, names.CANCEL)
        client.wait_ended(self)


def is_human(node) -> bool:
    return getattr(node, "type", None) == "human"


def node_name(node) -> str:
    name = getattr(node, "name", None) or getattr(node, "__name__", None)
    if not name:
        raise TypeError(f"{node!r} in edges is not a task of the workflow.")
    return name


@cache
def compile_graph(cls: type[Workflow]) -> Graph:
    nodes = {}
    for name, obj in cls.get_nodes().items():
        kind = getattr(obj, "node_kind", "method")
        nodes[name] = Node(
            name=name,
            type=getattr(obj, "type", "machine"),
            kind=kind,
            wait=getattr(obj, "duration", None) if kind == "wait" else None,
            join=tuple(getattr(obj, "parents", ())) if kind == "join" else (),
            local_activity=bool(getattr(obj, "local_activity", False)),
        )
    edges = tuple((node_name(start), node_name(end)) for start, end in cls.edges)
    return Graph(label=cls.label(), nodes=nodes, edges=edges)


class TaskQuerySet(models.QuerySet):
    def scheduled(self):
        return self.filter(status=Task.SCHEDULED)

    def succeeded(self):
        return self.filter(status=Task.SUCCEEDED)

    def not_succeeded(self):
        return self.exclude(status=Task.SUCCEEDED)

    def failed(self):
        return self.filter(status=Task.FAILED)

    def canceled(self):
        return self.filter(status=Task.CANCELED)

    def open(self):
        """Tasks the engine still waits on: scheduled or failed."""
        return self.filter(status__in=[Task.SCHEDULED, Task.FAILED])

    def human(self):
        return self.filter(type=Task.HUMAN)

    def for_user(self, user):
        """The tasks a user may work on: assigned to them, or to nobody (superusers: all).

        ``EXISTS`` rather than a join: no duplicate rows, so no ``DISTINCT`` over whole rows,
        and the database can walk the primary key and stop at the end of a page.
        """
        if user.is_superuser:
            return self
        assignments = Task.assignees.through.objects.filter(task=models.OuterRef("pk"))
        unassigned = ~models.Exists(assignments)
        if not user.is_authenticated:
            return self.filter(unassigned)
        return self.filter(unassigned | models.Exists(assignments.filter(user=user)))

    def machine(self):
        return self.filter(type=Task.MACHINE)


class Task(models.Model):
    """The mirror of one task of one instance, written by the engine's activities and the views."""

    HUMAN = "human"
    MACHINE = "machine"
    TYPES = [(HUMAN, "human"), (MACHINE, "machine")]

    SCHEDULED = "scheduled"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    STATUSES = [
        (SCHEDULED, "scheduled"),
        (SUCCEEDED, "succeeded"),
        (FAILED, "failed"),
        (CANCELED, "canceled"),
    ]

    _workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="task_set", db_column="workflow_id"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255, db_index=True)
    key = models.CharField(max_length=255, editable=False)
    type = models.CharField(max_length=50, choices=TYPES, editable=False)
    status = models.CharField(max_length=50, choices=STATUSES, default=SCHEDULED)
    parent_task_set = models.ManyToManyField(
        "self", related_name="child_task_set", editable=False, symmetrical=False
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="joeflow_temporal_assignee_task_set"
    )
    completed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        blank=True,
        null=True,
        editable=False,
        related_name="+",
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    modified = models.DateTimeField(auto_now=True)
    completed = models.DateTimeField(blank=True, null=True, editable=False, db_index=True)
    exception = models.TextField(blank=True)
    stacktrace = models.TextField(blank=True)
    next_tasks = models.JSONField(null=True, blank=True, editable=False)
    """The next tasks a machine task chose, recorded with its outcome (null: all edges)."""

    objects = TaskQuerySet.as_manager()

    class Meta:
        permissions = [("rerun", "Can rerun failed tasks"), ("cancel", "Can cancel tasks")]
        constraints = [
            models.UniqueConstraint(fields=["_workflow", "key"], name="joeflow_temporal_task_key")
        ]
        indexes = [
            # The inbox: newest tasks of a status, a page at a time (also any status lookup).
            models.Index(fields=["status", "-id"], name="joeflow_temporal_task_inbox"),
        ]

    def __str__(self):
        return f"{self.name} ({self.status})"

    def get_absolute_url(self) -> str | None:
        """The page that completes this task, while it is a scheduled human task."""
        if self.type != self.HUMAN or self.status != self.SCHEDULED:
            return None
        namespace = self.content_type.model_class().get_namespace()
        try:
            return reverse(f"{namespace}:{self.name}", args=[self.pk])
        except NoReverseMatch:
            return None

    @property
    def workflow(self) -> Workflow:
        """The instance, as its workflow class (not the base model)."""
        if not hasattr(self, "_workflow_cache"):
            self._workflow_cache = self.content_type.model_class()._default_manager.get(
                pk=self._workflow_id
            )
        return self._workflow_cache

    @property
    def node(self):
        """The task's node on the workflow class (None if a deploy removed it)."""
        return self.workflow.get_nodes().get(self.name)

    def can_be_completed_by(self, user) -> bool:
        """Tasks with assignees are theirs (and superusers'); others anyone's who may see them."""
        if user.is_superuser:
            return True
        assignees = self.assignees.all()
        return not assignees or user in assignees

    def finish(self, next_tasks: list[str] | None = None) -> None:
        self.status = self.SUCCEEDED
        self.completed = timezone.now()
        self.next_tasks = next_tasks
        self.exception = self.stacktrace = ""
        self.save(
            update_fields=[
                "status",
                "completed",
                "next_tasks",
                "exception",
                "stacktrace",
                "completed_by_user",
                "modified",
            ]
        )

    def fail(self, error: BaseException) -> None:
        self.status = self.FAILED
        self.exception = f"{type(error).__name__}: {error}"
        self.stacktrace = "".join(traceback.format_exception(error))
        self.save(update_fields=["status", "exception", "stacktrace", "modified"])

    @contextmanager
    def completing(self, user=None):
        """Complete this human task: lock it, let the caller save, mark it done, wake the engine.

        Everything happens in one transaction and the signal is sent before the commit, so
        either the user's change, the Task and the engine's wake-up call all happen, or nothing.
        After the commit it waits (``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``) for the tasks that follow.

        Raises:
            TaskNotScheduled: the task is no longer scheduled, or is a machine task.
            TemporalUnavailable, InstanceNotRunning: from the signal; nothing was written.
        """
        with transaction.atomic():
            task = self.locked(self.SCHEDULED)
            if task.type != self.HUMAN:
                raise TaskNotScheduled(f"Task {task.pk} ({task.name}) is a machine task.")
            yield task
            task.completed_by_user = user
            task.finish()
            client.signal(task.workflow, names.COMPLETE_TASK, task.pk)
        self.refresh_from_db()
        client.wait_followed(task.workflow, task.pk)

    def complete(self, user=None) -> None:
        with self.completing(user):
            pass

    def rerun(self, user=None) -> None:
        """Run a failed machine task again, reusing this row."""
        with transaction.atomic():
            task = self.locked(self.FAILED)
            task.status = self.SCHEDULED
            task.exception = task.stacktrace = ""
            task.save(update_fields=["status", "exception", "stacktrace", "modified"])
            client.signal(task.workflow, names.RERUN_TASK, task.pk)
        self.refresh_from_db()
        client.wait_followed(task.workflow, task.pk)

    def cancel(self, user=None) -> None:
        """Cancel a scheduled or failed task: its branch ends here."""
        with transaction.atomic():
            task = self.locked(self.SCHEDULED, self.FAILED)
            task.status = self.CANCELED
            task.completed = timezone.now()
            task.completed_by_user = user
            task.save(update_fields=["status", "completed", "completed_by_user", "modified"])
            client.signal(task.workflow, names.CANCEL_TASK, task.pk)
        self.refresh_from_db()
        client.wait_followed(task.workflow, task.pk)

    def locked(self, *statuses: str) -> "Task":
        task = Task.objects.select_for_update().get(pk=self.pk)
        if task.status not in statuses:
            raise TaskNotScheduled(f"Task {task.pk} ({task.name}) is {task.status}.")
        return task
