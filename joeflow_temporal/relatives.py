"""An instance's relatives (DESIGN "Process structure"): the ``Subworkflow`` task of a parent
instance that started it, and the child instances its own ``Subworkflow`` tasks started, as the
detail page, the admin and the API show them.

A child is a row of another class, and ``Workflow.get_child_workflows`` gives base rows: its
class is the content type of its tasks (``Task.workflow``), read here from its start task.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.urls import NoReverseMatch

from joeflow_temporal.models import Task, Workflow


def page_url(obj) -> str | None:
    """The object's own page, or None for no link: a task that is not a scheduled human task
    has no page, nor has an instance whose class's URLs the project does not include."""
    try:
        return obj.get_absolute_url()
    except NoReverseMatch:
        return None


def child_workflows() -> QuerySet:
    """Child instances as base ``Workflow`` rows (of any class), in item order, with
    ``class_content_type_id`` (their class's own content type) and ``failed_tasks`` (their
    failed tasks, oldest first): what keeps a parent's ``Subworkflow`` task waiting."""
    first_task = Task.objects.filter(_workflow=OuterRef("pk")).order_by("pk")
    failed = Task.objects.failed().only("pk", "name", "exception", "_workflow").order_by("pk")
    return (
        Workflow.objects.annotate(
            class_content_type_id=Subquery(first_task.values("content_type")[:1])
        )
        .prefetch_related(Prefetch("task_set", queryset=failed, to_attr="failed_tasks"))
        .order_by("parent_item", "pk")
    )


@dataclass
class Relative:
    """A parent or child instance, as its workflow class, and the ``Subworkflow`` task
    between the two (the parent's)."""

    instance: Workflow
    task: Task
    url: str | None
    """The instance's page (``page_url``)."""
    failed_tasks: list[Task] = field(default_factory=list)
    """A child's failed tasks (none for a parent)."""


def parent_of(instance: Workflow) -> Relative | None:
    """The instance whose task started ``instance``; None for a top-level instance (or one
    whose parent's class the project no longer has)."""
    task = instance.parent_task
    if task is None:
        return None
    parent = task.workflow
    if parent is None:  # the parent's class is gone from the project
        return None
    return Relative(instance=parent, task=task, url=page_url(parent))


def children_of(instance: Workflow) -> list[Relative]:
    """The instances ``instance``'s tasks started, by task and item, each as its class (one
    query per child class)."""
    rows = list(
        child_workflows()
        .filter(parent_task___workflow=instance)
        .select_related("parent_task")
        .order_by("parent_task_id", "parent_item", "pk")
    )
    pks_by_class = defaultdict(list)
    for row in rows:
        pks_by_class[row.class_content_type_id].append(row.pk)
    typed: dict[int, Workflow] = {}
    for content_type_id, pks in pks_by_class.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is not None:  # a class the project no longer has: its base row will do
            typed.update(model._default_manager.in_bulk(pks))
    relatives = []
    for row in rows:
        child = typed.get(row.pk, row)
        relatives.append(
            Relative(
                instance=child,
                task=row.parent_task,
                url=page_url(child),
                failed_tasks=row.failed_tasks,
            )
        )
    return relatives
