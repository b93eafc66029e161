"""Workflow instances (your models) and the Task mirror of what the engine did."""

import functools
import logging
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.base import ModelBase
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views import View

from joeflow_temporal import conf, graphs, notify, overrides, refusals
from joeflow_temporal.engine import CancelRequest, Graph, OverrideRequest, names
from joeflow_temporal.engine.payloads import TaskAssigned
from joeflow_temporal.engine.spec import NodeKind, TaskStatus, TaskType
from joeflow_temporal.engine.state import SentEvent
from joeflow_temporal.exceptions import InstanceNotRunning, TaskNotScheduled
from joeflow_temporal.runtime import client
from joeflow_temporal.runtime.compile import compile_graph, default_hook, node_name, overrides_hook
from joeflow_temporal.runtime.rows import new_key, reopen_human_task

__all__ = ["Task", "Workflow", "WorkflowEvent", "get_workflow", "get_workflows"]

logger = logging.getLogger(__name__)


class WorkflowBase(ModelBase):
    """Name every task after the attribute it is assigned to, as joeflow does.

    Task objects (views, ``Start``, ``Join``, ``Wait``) get their name wherever they are
    assigned. A method, lambda or other callable in the class's ``edges`` gets ``name``,
    ``type`` and ``workflow_cls`` too, so ``x = lambda self: ...`` is the task ``x`` and
    ``alias = method`` is the task ``alias`` (the engine calls ``getattr(instance, name)``).
    """

    def __new__(mcs, name, bases, attrs, **kwargs):
        klass = super().__new__(mcs, name, bases, attrs, **kwargs)
        in_edges = edge_ends(attrs.get("edges"))
        for attr_name, value in attrs.items():
            if hasattr(value, "node_kind"):
                value.name = attr_name
            elif callable(value) and any(value is end for end in in_edges):
                name_callable(value, attr_name, klass)
        return klass


def name_callable(value, name: str, klass) -> None:
    try:
        value.name = name
        value.type = getattr(value, "type", TaskType.MACHINE)
        value.workflow_cls = klass
    except (AttributeError, TypeError):
        pass  # a builtin takes no attributes: named by __name__, and checks report a mismatch


def edge_ends(edges) -> list:
    """Every object an edge names (nothing for malformed edges: the system checks report them)."""
    try:
        return [end for edge in edges or () for end in edge]
    except TypeError:
        return []


class Workflow(models.Model, metaclass=WorkflowBase):
    """The state of one workflow instance: subclass it with fields, then add tasks and edges."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    modified = models.DateTimeField(auto_now=True)
    completed = models.DateTimeField(blank=True, null=True, editable=False, db_index=True)
    parent_task = models.ForeignKey(
        "Task",
        on_delete=models.SET_NULL,
        blank=True,
        null=True,
        editable=False,
        related_name="child_workflow_set",
    )
    """The ``Subworkflow`` task that started this instance; None for a top-level instance."""
    parent_item = models.PositiveIntegerField(blank=True, null=True, editable=False)
    """This child's item of its parent task's ``for_each`` (0 without): one child per item."""

    edges: list | tuple = ()

    override_view: type[View] | str | None = "joeflow_temporal.views.OverrideView"
    """The view of ``<namespace>:override``: a view class or its dotted path; None: no URL."""
    detail_view: type[View] | str | None = "joeflow_temporal.views.WorkflowDetailView"
    """The view of ``<namespace>:detail``: a view class or its dotted path; None: no URL (give
    the class its own ``get_absolute_url``: the task views redirect there)."""
    rankdir = "LR"
    """Direction of the graph pictures, Graphviz and Mermaid: ``LR``, ``TB``, ``RL``, ``BT``."""

    class Meta:
        permissions = [
            ("override", "Can override a workflow"),
            ("send_event", "Can send events to workflows"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["parent_task", "parent_item"], name="joeflow_temporal_workflow_child"
            )
        ]

    def __str__(self):
        return f"{self._meta.verbose_name} #{self.pk}"

    def save(self, **kwargs):
        """Save; a save with ``update_fields`` updates ``modified`` too, as joeflow's."""
        super().save(**with_modified(kwargs))

    def get_absolute_url(self) -> str:
        """The instance's detail page, ``<namespace>:detail`` (joeflow's).

        Raises:
            NoReverseMatch: the class's ``urls()`` are not in the URLconf, or ``detail_view``
                is None (then give the class its own ``get_absolute_url``).
        """
        return reverse(f"{self.get_url_namespace()}:detail", args=[self.pk])

    # The graph

    @classmethod
    def get_nodes(cls) -> Iterator[tuple[str, object]]:
        """Yield ``(name, node)`` for every task of the class, as joeflow's ``get_nodes``.

        The nodes are the task objects (views, ``Start``, ``Join``, ``Wait``) of the class and
        its bases, and the methods (or other callables) its ``edges`` or a human task's
        ``on_timeout`` name (an edge end that is no task, without a name, is left out: system
        check E001 reports it).
        """
        nodes = {}
        for klass in reversed(cls.__mro__):
            for attr_name, value in vars(klass).items():
                if hasattr(value, "node_kind"):
                    nodes[attr_name] = value
        for end in edge_ends(cls.edges):
            name = getattr(end, "name", None) or getattr(end, "__name__", None)
            if isinstance(name, str):
                nodes.setdefault(name, end)
        for node in list(nodes.values()):
            target = getattr(node, "on_timeout", None)
            if (
                isinstance(target, str)
                and target not in nodes
                and callable(getattr(cls, target, None))
            ):
                nodes[target] = getattr(cls, target)  # a method only a timeout leads to
        yield from nodes.items()

    @classmethod
    def get_node(cls, name: str):
        """The task called ``name``; ``KeyError`` if the class has none."""
        return dict(cls.get_nodes())[name]

    @classmethod
    def get_next_nodes(cls, prev_node) -> Iterator[object]:
        """Yield the nodes the edges lead to from ``prev_node`` (a node or its name), in order."""
        prev_name = prev_node if isinstance(prev_node, str) else node_name(prev_node)
        for start, end in cls.edges:
            if node_name(start) == prev_name:
                yield end

    @classmethod
    def get_graph_spec(cls) -> Graph:
        """The class and its edges as the data the engine walks."""
        return compile_graph(cls)

    @classmethod
    def get_graph(cls, color: str | None = None):
        """The class's tasks and edges as a ``graphviz.Digraph`` (joeflow's; human tasks are
        rounded, start tasks bold). Needs no Graphviz binary until it is rendered.

        Args:
            color: one color for every node and edge (joeflow draws an instance's graph over
                its class's in grey this way); ``None`` for the default palette.
        """
        return graphs.workflow_graph(cls, color=color)

    @classmethod
    def get_graph_svg(cls):
        """The class's graph as HTML-safe SVG (``SafeString``): ``{{ workflow_class.get_graph_svg
        }}``, as joeflow's. Without Graphviz's ``dot`` it is an install hint, not an error."""
        return graphs.render_svg(cls.get_graph())

    @classmethod
    def get_graph_mermaid(cls) -> str:
        """The class's graph as Mermaid text (``flowchart``), styled as the Graphviz one.

        Text only: render it where Mermaid runs (Markdown on GitHub or GitLab, MkDocs, your own
        page with Mermaid's JavaScript); nothing here loads a script.
        """
        return graphs.workflow_mermaid(cls)

    def get_instance_graph(self):
        """This instance's tasks over the class's graph (grey), as a ``graphviz.Digraph``: each
        task colored by its status, the edges it took in black, as joeflow draws it."""
        return graphs.instance_graph(self)

    def get_instance_graph_svg(self, output_format: str = "svg"):
        """This instance's graph as HTML-safe SVG: ``{{ object.get_instance_graph_svg }}``.

        Args:
            output_format: another text format of Graphviz (``dot``, ``plain``, ``json``...)
                to get the graph in that format instead, as a plain string.

        Raises:
            graphviz.ExecutableNotFound: for formats other than SVG, when Graphviz is missing
                (SVG shows an install hint instead).
        """
        return graphs.render(self.get_instance_graph(), output_format)

    def get_instance_graph_mermaid(self) -> str:
        """This instance's graph as Mermaid text, styled as ``get_instance_graph``."""
        return graphs.instance_mermaid(self)

    @classmethod
    def label(cls) -> str:
        """``app_label.modelname``, lower case (the app itself reads ``_meta.label_lower``)."""
        return cls._meta.label_lower

    @classmethod
    def instances(cls):
        """Instances of this class only, as a ``QuerySet`` of ``cls``.

        Proxy classes share their concrete model's table; the tasks' content type tells them
        apart, and every instance gets its start task in the transaction that creates it.
        """
        content_type = ContentType.objects.get_for_model(cls, for_concrete_model=False)
        of_class = Task.objects.filter(_workflow=models.OuterRef("pk"), content_type=content_type)
        return cls._default_manager.filter(models.Exists(of_class))

    @classmethod
    def get_human_nodes(cls) -> dict[str, object]:
        """The views among the tasks, by name."""
        return {name: node for name, node in cls.get_nodes() if is_human(node)}

    # URLs (joeflow's names: ``<namespace>:<task>``, ``:detail``, ``:override``)

    @classmethod
    def get_url_namespace(cls) -> str:
        """The URL namespace of the class's pages: its name in lower case, as joeflow."""
        return cls.__name__.lower()

    @classmethod
    def urls(cls):
        """``(patterns, namespace)`` for ``include()``: every human task, the detail and the
        override view, as joeflow's (``<namespace>:<task>``, start views without a pk).

        ``path("welcome/", include(WelcomeWorkflow.urls()))``
        """
        return workflow_urlpatterns(cls), cls.get_url_namespace()

    def get_override_url(self) -> str:
        """The instance's override page, ``<namespace>:override`` (joeflow's).

        Raises:
            NoReverseMatch: the class's ``urls()`` are not in the URLconf, or ``override_view``
                is None.
        """
        return reverse(f"{self.get_url_namespace()}:override", args=[self.pk])

    # The engine

    @property
    def temporal_workflow_id(self) -> str:
        """The id of the instance's Temporal execution: ``<app_label.modelname>.<pk>``, one per
        instance (Temporal refuses a second running execution with the same id)."""
        return names.workflow_id(self._meta.label_lower, self.pk)

    def get_content_type(self) -> ContentType:
        """The instance's class as a content type (a proxy's own, not its concrete model's):
        what tells apart the instances of proxy classes that share one table."""
        return ContentType.objects.get_for_model(type(self), for_concrete_model=False)

    @classmethod
    def start_with(cls, start_node: str, fields: dict | None = None, user=None):
        """Save a new instance with ``fields`` and start it at ``start_node``; return it.

        What ``MyWorkflow.start(**fields)`` calls. Args: ``start_node``, the name of a start
        task; ``fields``, the model's field values; ``user``, recorded on the start task.
        Outside a transaction it returns once the tasks after the start are mirrored (bounded by
        ``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``), as joeflow has them when ``start()`` returns.

        Raises:
            TemporalUnavailable: Temporal could not be reached; nothing was saved.
            KeyError: the class has no task ``start_node``.
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
        rolls back never drives a later row that gets the same ids. Returns the start task; after
        the commit, ``runtime.client.wait_followed(workflow, task.pk)`` waits for what follows.
        """
        with transaction.atomic():
            task = self.record_start(start_node, user)
            client.start_workflow(self, task)
        return task

    def record_start(self, start_node: str, user=None) -> "Task":
        """Record the succeeded start task, keyed by a fresh token its execution confirms
        against (``start_engine`` then starts it; a parent's walker starts a child's).

        Raises:
            KeyError: the class has no task ``start_node``.
        """
        node = self.get_node(start_node)
        return self.task_set.create(
            name=start_node,
            key=f"start:{uuid.uuid4().hex}",
            type=node.type,
            content_type=self.get_content_type(),
            status=Task.SUCCEEDED,
            completed=timezone.now(),
            completed_by_user=user,
        )

    def get_engine_state(self) -> dict:
        """The walker's ``state`` query (``engine.state.WalkerState`` as JSON data): ``run``,
        ``steps``, ``tasks`` (the open tasks by key: ``name``, ``phase``, ``id``, ``wake_at``,
        ``arrived``...) and the signals not yet handled.

        Raises:
            TemporalUnavailable: Temporal could not be reached.
            InstanceNotRunning: no execution has this instance's id (any more).
        """
        return client.query_state(self)

    # Process structure (DESIGN "Process structure")

    def get_child_workflows(self) -> models.QuerySet:
        """The instances this one's ``Subworkflow`` tasks started (of any class, as the base
        ``Workflow`` rows; ``get_workflow_instance()`` is not needed: see ``Task.workflow``)."""
        return Workflow.objects.filter(parent_task___workflow=self).order_by("pk")

    @classmethod
    def get_event_node(cls, name: str) -> Any:
        """The ``tasks.Event`` node waiting for events called ``name``.

        Raises:
            LookupError: the class has no such node.
        """
        for _, node in cls.get_nodes():
            kind = getattr(node, "node_kind", None)
            if kind == NodeKind.EVENT and getattr(node, "event_name", None) == name:
                return node
        raise LookupError(f"{cls._meta.label_lower} has no event {name!r}.")

    def send_event(
        self, name: str, data: dict | None = None, user=None, event_id: str | None = None
    ) -> "WorkflowEvent":
        """Send the event ``name`` to the instance: its ``tasks.Event`` node goes on (now if it
        waits, else when it is reached). Returns the recorded ``WorkflowEvent``.

        ``data`` is validated against the node's ``fields`` like a task form and saved to the
        instance, in one transaction with the event row and the ``event_sent`` signal (sent
        before the commit, as a completion's). An ``event_id`` sent before is not applied again:
        the earlier event is returned, its ``duplicate`` attribute True.

        Raises:
            LookupError: the class has no ``Event`` node called ``name``.
            django.core.exceptions.ValidationError: the data did not validate (``message_dict``
                holds the field errors); nothing was written.
            InstanceNotRunning: the instance has ended; TemporalUnavailable: Temporal could not
                be reached. Nothing was written.
        """
        node = self.get_event_node(name)
        event_id = event_id or uuid.uuid4().hex
        with transaction.atomic():
            locked = type(self).objects.select_for_update().get(pk=self.pk)
            earlier = WorkflowEvent.objects.filter(_workflow_id=self.pk, event_id=event_id).first()
            if earlier is not None:
                earlier.duplicate = True
                return earlier
            if locked.completed is not None:
                raise InstanceNotRunning(f"{self} has ended; it takes no events.")
            form = node.get_form_class(type(self))(data=data or {}, instance=locked)
            if not form.is_valid():
                raise ValidationError(form.errors.as_data())
            form.save()
            event = WorkflowEvent.objects.create(
                _workflow_id=self.pk,
                name=name,
                event_id=event_id,
                data={key: value for key, value in (data or {}).items() if key in node.fields},
                sent_by=authenticated(user),
            )
            client.signal(self, names.EVENT_SENT, SentEvent(name=name, event_id=event.pk))
        for field in node.fields:
            setattr(self, field, getattr(locked, field))
        return event

    # Hooks of human work (DESIGN "Human work"): the engine runs each as an activity.

    @default_hook
    def on_task_created(self, task: "Task") -> None:
        """Called once per human task row, after it is created and committed (exactly once:
        its database writes commit with a mark a retry finds). The default e-mails the task's
        assignees, else its candidates, a link to it when ``JOEFLOW_TEMPORAL_NOTIFY_EMAIL``."""
        notify.email_task(task, "created")

    @default_hook
    def on_task_assigned(self, task: "Task") -> None:
        """Called after ``claim`` or ``assign`` gave a human task its assignees (retried, so at
        least once). The default e-mails the assignees when ``JOEFLOW_TEMPORAL_NOTIFY_EMAIL``."""
        notify.email_task(task, "assigned")

    @default_hook
    def on_task_reminder(self, task: "Task") -> None:
        """Called every ``remind_every`` while a human task is open, before and after its due
        date (a Temporal timer each time). The default e-mails as ``on_task_created``."""
        notify.email_task(task, "reminder")

    @classmethod
    def runs_hook(cls, name: str) -> bool:
        """Whether the engine calls the hook ``name`` for this class: the class overrides it,
        or ``JOEFLOW_TEMPORAL_NOTIFY_EMAIL`` makes the default send e-mail."""
        return bool(conf.get("JOEFLOW_TEMPORAL_NOTIFY_EMAIL")) or overrides_hook(cls, name)

    def override(self, next_tasks: list[str], user=None, comment: str = "") -> "Task":
        """Cancel the open tasks, record an ``override`` task and start ``next_tasks`` after it;
        a ``comment`` says why (kept on those tasks, and sent to Temporal with the signal).

        From then on the instance walks the class's current graph (the one ``next_tasks`` are
        checked against), which moves an instance started before a deploy onto the new graph.
        ``[]`` ends the instance.

        Raises:
            ValueError: ``next_tasks`` would leave the instance stuck: a name the class has no
                task for, a start node, a join, or a task leading to a join whose other parents
                none of them reaches (``joeflow_temporal.overrides``); nothing was written.
            InstanceNotRunning: the instance has ended.
            TemporalUnavailable: Temporal cannot be reached; nothing was written.
        """
        graph = self.get_graph_spec()
        refused = overrides.refuse_next_tasks(graph, next_tasks)
        if refused:
            raise ValueError(" ".join(refused))
        with transaction.atomic():
            override = self.record_action("override", user, comment)
            client.signal(
                self,
                names.OVERRIDE,
                OverrideRequest(
                    task_id=override.pk,
                    task_key=override.key,
                    next_tasks=next_tasks,
                    graph=graph,
                    comment=comment,
                ),
            )
        client.wait_followed(self, override.pk)
        return override

    def record_action(self, name: str, user=None, comment: str = "") -> "Task":
        """Cancel the open tasks (by ``user``) and record the manual action ``name``
        (``override``, ``cancel``) as a succeeded human task by ``user``, after them; inside the
        caller's transaction. Its key is a fresh token the engine confirms the action against.
        A ``comment`` is kept on all of them."""
        open_tasks = list(self.task_set.open().select_for_update())
        now = timezone.now()
        by = authenticated(user)
        canceled = {"comment": comment} if comment else {}
        self.task_set.filter(pk__in=[t.pk for t in open_tasks]).update(
            status=Task.CANCELED,
            completed=now,
            modified=now,
            completed_by_user=by,
            **canceled,
        )
        action = self.task_set.create(
            name=name,
            key=f"{name}:{uuid.uuid4().hex}",
            type=Task.HUMAN,
            content_type=self.get_content_type(),
            status=Task.SUCCEEDED,
            completed=now,
            completed_by_user=by,
            comment=comment,
        )
        action.parent_task_set.set(open_tasks)
        return action

    def cancel(self, user=None, comment: str = "") -> None:
        """Cancel every open task and end the instance (joeflow's ``Workflow.cancel``); a
        ``comment`` says why (kept on the tasks, and sent to Temporal with the signal).

        ``user`` is recorded on the canceled tasks (an anonymous user as none), as joeflow's,
        and on a ``cancel`` task after them, which the engine confirms before it acts: a cancel
        whose transaction rolls back changes nothing. Outside a transaction it returns once the
        execution has ended (``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``). An ended instance is left as is.

        Raises:
            TemporalUnavailable: Temporal could not be reached; nothing was written.
        """
        if Workflow.objects.filter(pk=self.pk, completed__isnull=False).exists():
            return
        with transaction.atomic():
            cancel = self.record_action("cancel", user, comment)
            request = CancelRequest(task_id=cancel.pk, task_key=cancel.key, comment=comment)
            client.signal(self, names.CANCEL, request)
        client.wait_ended(self)


def with_modified(save_kwargs: dict) -> dict:
    """``save()`` arguments where ``update_fields``, if given, includes ``modified``."""
    update_fields = save_kwargs.get("update_fields")
    if update_fields is None:
        return save_kwargs
    return {**save_kwargs, "update_fields": list(dict.fromkeys([*update_fields, "modified"]))}


def authenticated(user):
    """The user to record: none for an anonymous one (``AnonymousUser``), as joeflow does."""
    return user if user is not None and user.is_authenticated else None


def get_workflows() -> Iterator[type[Workflow]]:
    """Yield every installed workflow class (a ``Workflow`` subclass with edges), as joeflow's."""
    from django.apps import apps

    for model in apps.get_models():
        if issubclass(model, Workflow) and model is not Workflow and model.edges:
            yield model


def get_workflow(name: str) -> type[Workflow] | None:
    """The installed workflow class called ``name`` (``"app_label.ClassName"``, any case)."""
    for workflow_cls in get_workflows():
        if name.lower() == workflow_cls._meta.label_lower:
            return workflow_cls
    return None


PAGE_NAMES = ("detail", "override")
"""The URL names of an instance's own pages, which no human task may take (check E006)."""


def workflow_urlpatterns(workflow_class) -> list:
    """The human tasks' patterns, then ``detail`` and ``override`` unless the class disables
    them (``detail_view = None``, ``override_view = None``), as joeflow's ``urls()``.

    A task whose view or pattern cannot be built is left out and logged as an error (system
    check E013 names it), so that one bad task does not take the project's URLconf down.
    """
    patterns = []
    for name, node in workflow_class.get_human_nodes().items():
        try:
            patterns.append(task_urlpattern(workflow_class, name, node))
        except Exception as error:  # whatever Django's view and URL machinery raise
            logger.error(
                "%s: the human task %r has no URL: %s (manage.py check, joeflow_temporal.E013)",
                workflow_class._meta.label_lower,
                name,
                error,
            )
    detail_view = view_class(workflow_class.detail_view)
    if detail_view is not None:
        patterns.append(path("<int:pk>/", detail_view.as_view(model=workflow_class), name="detail"))
    override_view = view_class(workflow_class.override_view)
    if override_view is not None:
        patterns.append(
            path("<int:pk>/override", override_view.as_view(model=workflow_class), name="override")
        )
    return patterns


def task_urlpattern(workflow_class, name: str, node):
    """The URL pattern of one human task: ``<name>/`` for a start view, else
    ``<name>/<int:pk>/``, then the view's ``path`` postfix.

    Raises:
        TypeError, ImproperlyConfigured, re.error: the view takes arguments it has no
            attributes for, or the pattern does not parse (compiled here, not on a request).
    """
    view = type(node).as_view(**{**node._initkwargs, "model": workflow_class, "name": name})
    route = f"{name}/" if node.node_kind == NodeKind.START_VIEW else f"{name}/<int:pk>/"
    pattern = path(route + node.path, view, name=name)
    pattern.pattern.regex  # noqa: B018  (compiles the route)
    return pattern


def view_class(view):
    """A view class, or its dotted path (imported when the URLconf loads, not with the models:
    the views import the models), or None."""
    return import_string(view) if isinstance(view, str) else view


def is_human(node) -> bool:
    return getattr(node, "type", None) == TaskType.HUMAN


class TaskQuerySet(models.QuerySet):
    """joeflow's task filters: ``scheduled()``, ``succeeded()``, ``failed()``, ``canceled()``,
    their ``not_`` forms, ``human()``, ``machine()``, plus ``open()`` and ``for_user(user)``."""

    def scheduled(self):
        return self.filter(status=Task.SCHEDULED)

    def not_scheduled(self):
        return self.exclude(status=Task.SCHEDULED)

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
        """The tasks a user may work on: assigned to them, or to nobody and offered to them (no
        candidate groups, or one of theirs); superusers: all (DESIGN "Human work").

        ``EXISTS`` rather than a join: no duplicate rows, so no ``DISTINCT`` over whole rows,
        and the database can walk the primary key and stop at the end of a page.
        """
        if user.is_superuser:
            return self
        assignments = Task.assignees.through.objects.filter(task=models.OuterRef("pk"))
        offered = ~models.Exists(assignments) & self._offered_to(user)
        if not user.is_authenticated:
            return self.filter(offered)
        return self.filter(offered | models.Exists(assignments.filter(user=user)))

    def claimable_by(self, user):
        """Scheduled tasks ``user`` may claim now: unassigned, and with no candidate groups or
        one of the user's (the inbox's ``candidate=me``)."""
        if not user.is_authenticated:
            return self.none()
        assignments = Task.assignees.through.objects.filter(task=models.OuterRef("pk"))
        return self.scheduled().filter(~models.Exists(assignments) & self._offered_to(user))

    def overdue(self):
        """Scheduled tasks past their ``due`` date."""
        return self.scheduled().filter(due__lt=timezone.now())

    @staticmethod
    def _offered_to(user) -> models.Q:
        """No candidate groups, or one the user is in (an anonymous user is in none).

        Written as "no candidate group, unless the task has one of the user's" (one ``NOT
        EXISTS``): PostgreSQL estimates the plain ``NOT EXISTS … OR EXISTS …`` so high that it
        JIT-compiles the inbox's count, which then takes most of a second.
        """
        groups = TaskCandidateGroup.objects
        offered_groups = groups.filter(task=models.OuterRef("pk"))
        if not user.is_authenticated:
            return models.Q(~models.Exists(offered_groups))
        theirs = groups.filter(
            task=models.OuterRef(models.OuterRef("pk")),
            group__in=user.groups.values("pk"),
        )
        return models.Q(~models.Exists(offered_groups.filter(~models.Exists(theirs))))

    def machine(self):
        return self.filter(type=Task.MACHINE)

    def cancel(self, user=None, comment: str = "") -> int:
        """Cancel the open tasks among these, as ``Task.cancel`` each; return how many.

        ``user`` is recorded on them (an anonymous user as none), as joeflow's ``cancel``.
        Each task's engine is told before the commit, so either all are canceled or none.
        Tasks that are done (or became so meanwhile) keep their outcome.
        """
        canceled = 0
        with transaction.atomic():
            for task in self.open():
                try:
                    task.cancel(user, comment)
                except TaskNotScheduled:
                    continue
                canceled += 1
        return canceled


def exception_line(error: BaseException) -> str:
    """``"ValueError: boom"``, also for an exception whose ``str()`` itself raises."""
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:
        return f"{type(error).__name__}: <str() failed>"


def log_failure(task: "Task", error: BaseException) -> None:
    """One ERROR line per recorded failure, with the traceback: what failed where."""
    content_type = task.content_type
    logger.error(
        "%s.%s %s: task %s (%s) failed: %s",
        content_type.app_label,
        content_type.model,
        task._workflow_id,
        task.pk,
        task.name,
        task.exception,
        exc_info=error,
    )


class Task(models.Model):
    """The mirror of one task of one instance, written by the engine's activities and the views.

    ``workflow.task_set.create(name=..., type=..., workflow=workflow)`` makes a valid row, as
    in joeflow: ``content_type`` comes from the instance and ``key`` is a unique placeholder.
    """

    HUMAN = TaskType.HUMAN
    MACHINE = TaskType.MACHINE
    TYPES = [(type.value, type.value) for type in TaskType]
    """``type``'s choices: the engine's ``TaskType`` values, labelled as in joeflow."""

    SCHEDULED = TaskStatus.SCHEDULED
    SUCCEEDED = TaskStatus.SUCCEEDED
    FAILED = TaskStatus.FAILED
    CANCELED = TaskStatus.CANCELED
    STATUSES = [(status.value, status.value) for status in TaskStatus]
    """``status``'s choices: the engine's ``TaskStatus`` values, labelled as in joeflow."""

    _workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="task_set", db_column="workflow_id"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    workflow = GenericForeignKey("content_type", "_workflow_id", for_concrete_model=False)
    """The instance, as its workflow class (not the base model); settable, as in joeflow."""
    name = models.CharField(max_length=255, db_index=True)
    key = models.CharField(max_length=255, editable=False, default=new_key)
    type = models.CharField(max_length=50, choices=TYPES, editable=False)
    status = models.CharField(max_length=50, choices=STATUSES, default=SCHEDULED.value)
    parent_task_set = models.ManyToManyField(
        "self", related_name="child_task_set", editable=False, symmetrical=False
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="joeflow_temporal_assignee_task_set"
    )
    completed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
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
    due = models.DateTimeField(blank=True, null=True)
    """When a human task is overdue: its view's ``due`` after creation, or what its
    ``create_task`` hook set (the engine's due timer follows the row)."""
    priority = models.IntegerField(default=0)
    """Higher first in the inbox; a ``create_task`` hook may set it."""
    comment = models.TextField(blank=True, editable=False)
    """Why the last manual or timed action happened (rerun, cancel, override, timeout)."""
    candidate_groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="joeflow_temporal_candidate_task_set",
        through="TaskCandidateGroup",
    )
    """Groups whose members may claim and complete the task while it has no assignees."""
    created_hook_done = models.BooleanField(default=False, editable=False)
    """``on_task_created`` ran and committed: a retried hook activity does not run it again."""

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ("-completed", "-created")
        get_latest_by = ("created",)
        permissions = [
            ("rerun", "Can rerun failed tasks"),
            ("cancel", "Can cancel tasks"),
            ("assign", "Can assign tasks to users"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["_workflow", "key"], name="joeflow_temporal_task_key")
        ]
        indexes = [
            # The inbox: newest tasks of a status, a page at a time (also any status lookup).
            models.Index(fields=["status", "-id"], name="joeflow_temporal_task_inbox"),
            # The inbox by due date, and the overdue filter.
            models.Index(fields=["status", "due"], name="joeflow_temporal_task_due"),
        ]

    def __str__(self):
        return f"{self.name} ({self.status})"

    def save(self, **kwargs):
        """Save; a new row without a content type takes its instance's, and a save with
        ``update_fields`` updates ``modified`` too, as joeflow's.

        Raises:
            ValueError: a new row that knows neither its content type nor its instance.
        """
        if self.content_type_id is None:
            workflow = Task._meta.get_field("_workflow").get_cached_value(self, None)
            if workflow is None:
                raise ValueError(
                    "A Task needs its instance: workflow.task_set.create(...) or "
                    "Task(workflow=instance, ...)."
                )
            self.content_type = workflow.get_content_type()
        super().save(**with_modified(kwargs))

    def get_absolute_url(self) -> str | None:
        """The page that completes this task, while it is a scheduled human task."""
        model = self.content_type.model_class()
        if self.type != self.HUMAN or self.status != self.SCHEDULED:
            return None
        if model is None or not issubclass(model, Workflow):
            return None
        namespace = model.get_url_namespace()
        try:
            return reverse(f"{namespace}:{self.name}", args=[self.pk])
        except NoReverseMatch:
            return None

    @property
    def node(self):
        """The task's node on the workflow class (None if a deploy removed it)."""
        return dict(self.workflow.get_nodes()).get(self.name)

    def can_be_completed_by(self, user) -> bool:
        """Who may complete a human task (DESIGN "Human work"): a superuser; an assignee; or,
        while it has no assignees, anyone (no candidate groups) or a member of one of them."""
        if user.is_superuser:
            return True
        assignees = self.assignees.all()
        if assignees:
            return user in assignees
        return self.is_offered_to(user)

    def is_offered_to(self, user) -> bool:
        """Whether ``user`` is a candidate: the task has no candidate groups, or one of theirs."""
        groups = self.candidate_groups.all()
        if not groups:
            return True
        return user.is_authenticated and user.groups.filter(pk__in=groups).exists()

    def claim(self, user) -> None:
        """Make ``user`` the task's sole assignee (BPMN's claim); nothing changes if they are.

        Raises:
            Refused: 403 if the user may not complete the task, 409 if it is assigned to
                someone else (``refusals.refuse_claim``).
            TaskNotScheduled: the task is no longer scheduled.
            TemporalUnavailable, InstanceNotRunning: from the ``task_assigned`` signal (sent
                when the class has an ``on_task_assigned`` hook); nothing was written.
        """
        with transaction.atomic():
            task = self.locked(self.SCHEDULED)
            refused = refusals.refuse_claim(task, user)
            if refused is not None:
                raise refused
            if list(task.assignees.all()) != [user]:
                task.set_assignees([user])
        self.refresh_from_db()

    def unclaim(self, user) -> None:
        """Give the task back to its candidates: no assignees (BPMN's unclaim). One of several
        assignees gives back only their own share: the others keep it.

        Raises:
            Refused: 403 unless ``user`` is an assignee, may assign tasks or is a superuser;
                409 if nobody has claimed it (``refusals.refuse_unclaim``).
            TaskNotScheduled: the task is no longer scheduled.
        """
        with transaction.atomic():
            task = self.locked(self.SCHEDULED)
            refused = refusals.refuse_unclaim(task, user)
            if refused is not None:
                raise refused
            assignees = list(task.assignees.all())
            if user in assignees and len(assignees) > 1:
                task.assignees.remove(user)
            else:
                task.assignees.clear()
            task.save(update_fields=["modified"])
        self.refresh_from_db()

    def assign(self, assignees, by) -> None:
        """Set the task's assignees (users); allowed with permission ``joeflow_temporal.assign``
        or to a current assignee delegating (DESIGN "Human work").

        Raises:
            Refused: 403 if ``by`` may not assign it (``refusals.refuse_assign``).
            TaskNotScheduled: the task is no longer scheduled.
            TemporalUnavailable, InstanceNotRunning: as ``claim``; nothing was written.
        """
        with transaction.atomic():
            task = self.locked(self.SCHEDULED)
            refused = refusals.refuse_assign(task, by)
            if refused is not None:
                raise refused
            task.set_assignees(assignees)
        self.refresh_from_db()

    def set_assignees(self, users) -> None:
        """Set the assignees and, if the class has an ``on_task_assigned`` hook, have the engine
        run it once this commits (signal ``task_assigned`` before the commit); in the caller's
        transaction."""
        self.assignees.set(users)
        self.save(update_fields=["modified"])
        users = list(self.assignees.all())
        workflow = self.workflow
        if users and workflow is not None and workflow.runs_hook("on_task_assigned"):
            client.signal(
                workflow,
                names.TASK_ASSIGNED,
                TaskAssigned(task_id=self.pk, assignee_ids=sorted(user.pk for user in users)),
            )

    def finish(self, user=None, *, next_tasks: list[str] | None = None) -> None:
        """Record the task as succeeded, by ``user`` (an anonymous user as none), as joeflow's.

        This writes the mirror only (a new row is inserted); ``complete(user)`` is what
        completes a human task and wakes the engine. ``next_tasks``: the names a machine task
        chose (``None``: every outgoing edge).
        """
        self.status = self.SUCCEEDED
        self.completed = timezone.now()
        self.completed_by_user = authenticated(user)
        self.next_tasks = next_tasks
        self.exception = self.stacktrace = ""
        if self.pk is None:
            self.save()
            return
        self.save(
            update_fields=[
                "status",
                "completed",
                "next_tasks",
                "exception",
                "stacktrace",
                "completed_by_user",
            ]
        )

    def fail(self, error: BaseException | None = None) -> None:
        """Record the task as failed with ``error``'s message and traceback (a new row is
        inserted), and log it once at ERROR (logger ``joeflow_temporal.models``) when that
        commits: a transaction that rolls back, and is retried, logs nothing.

        Without ``error``, the exception being handled, as joeflow's ``fail()`` called in an
        ``except`` block. ``completed`` stays empty, as in joeflow's rows: a failed task is
        still open, waiting for a rerun or a cancel.
        """
        error = error if error is not None else sys.exc_info()[1]
        if error is None:
            raise ValueError("Task.fail() needs the error, or to be called in an except block.")
        self.status = self.FAILED
        self.exception = exception_line(error)
        self.stacktrace = "".join(traceback.format_exception(error))
        if self.pk is None:
            self.save()
        else:
            self.save(update_fields=["status", "exception", "stacktrace"])
        transaction.on_commit(functools.partial(log_failure, self, error), robust=True)

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
            task.finish(user)
            client.signal(task.workflow, names.COMPLETE_TASK, task.pk)
        self.refresh_from_db()
        client.wait_followed(task.workflow, task.pk)

    def complete(self, user=None) -> None:
        """Complete this human task as ``user`` without changing the instance (joeflow's);
        ``completing`` says what happens and raises."""
        with self.completing(user):
            pass

    def rerun(self, user=None, comment: str = "") -> None:
        """Run a failed task again, reusing this row; a ``comment`` says why (kept on the row,
        and sent to Temporal with the signal).

        A machine task's method runs again. A human task has failed because its row could not
        be made (its view's ``create_task`` hook raised): the hook is called again here, in the
        rerun's transaction, and the row it makes moves onto this one, which opens for users;
        if the hook raises again, the task stays failed with the new exception and the engine
        is not woken.

        Raises:
            TaskNotScheduled: the task has not failed.
            TemporalUnavailable, InstanceNotRunning: from the signal; nothing was written.
        """
        with transaction.atomic():
            task = self.locked(self.FAILED)
            if comment:
                task.comment = comment
                task.save(update_fields=["comment", "modified"])
            reopened = task.type == self.MACHINE or reopen_human_task(task)
            if reopened:
                task.status = self.SCHEDULED
                task.exception = task.stacktrace = ""
                task.save(update_fields=["status", "exception", "stacktrace", "modified"])
                client.signal(task.workflow, names.RERUN_TASK, task.pk, comment)
        self.refresh_from_db()
        if reopened:
            client.wait_followed(task.workflow, task.pk)

    def cancel(self, user=None, comment: str = "") -> None:
        """Cancel a scheduled or failed task: its branch ends here (joeflow's ``cancel``); a
        ``comment`` says why (kept on the row, and sent to Temporal with the signal).

        ``user`` (an anonymous user as none) is recorded; the engine is signaled before the
        commit, and after it the call waits (``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``) for the engine.

        Raises:
            TaskNotScheduled: the task is neither scheduled nor failed.
            TemporalUnavailable, InstanceNotRunning: from the signal; nothing was written.
        """
        with transaction.atomic():
            task = self.locked(self.SCHEDULED, self.FAILED)
            task.status = self.CANCELED
            task.completed = timezone.now()
            task.completed_by_user = authenticated(user)
            task.comment = comment or task.comment
            task.save(
                update_fields=["status", "completed", "completed_by_user", "comment", "modified"]
            )
            client.signal(task.workflow, names.CANCEL_TASK, task.pk, comment)
        self.refresh_from_db()
        client.wait_followed(task.workflow, task.pk)

    def locked(self, *statuses: str) -> "Task":
        """This task's row, locked (``select_for_update``), if it has one of ``statuses``.

        Raises:
            TaskNotScheduled: it has another status, saying which (``refusals.task_state``).
        """
        task = Task.objects.select_for_update().get(pk=self.pk)
        if task.status not in statuses:
            raise TaskNotScheduled(refusals.task_state(task))
        return task


class TaskCandidateGroup(models.Model):
    """A candidate group of a task. Its group is protected: deleting a group tasks were
    offered to would leave them without candidate groups, which means open to anyone."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE)
    group = models.ForeignKey("auth.Group", on_delete=models.PROTECT)

    class Meta:
        db_table = "joeflow_temporal_task_candidate_groups"
        constraints = [
            models.UniqueConstraint(
                fields=["task", "group"], name="joeflow_temporal_task_candidate_group"
            )
        ]

    def __str__(self):
        return f"{self.group} may work on {self.task}"


class WorkflowEvent(models.Model):
    """An event sent to an instance (``Workflow.send_event``): kept until one of its ``Event``
    tasks consumes it, then linked to that task. ``event_id`` is unique per instance, so an
    event sent twice (a client's retry) is applied once."""

    _workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="event_set", db_column="workflow_id"
    )
    name = models.CharField(max_length=255)
    event_id = models.CharField(max_length=255)
    """The sender's idempotency key (a random one when none was given)."""
    data = models.JSONField(default=dict, blank=True)
    """The fields the event set on the instance, as sent."""
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, blank=True, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    task = models.OneToOneField(
        Task, on_delete=models.SET_NULL, blank=True, null=True, related_name="event"
    )
    """The ``Event`` task that consumed it; None while it waits for one."""

    duplicate = False
    """Set on what ``send_event`` returns for an ``event_id`` sent before."""

    class Meta:
        ordering = ("created", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["_workflow", "event_id"], name="joeflow_temporal_event_id"
            )
        ]

    def __str__(self):
        return f"event {self.name} ({self.event_id})"
