"""Finding workflow classes, their nodes and their instances from what a URL names."""

from django.contrib.auth.models import Group
from django.db.models import Prefetch
from rest_framework.exceptions import NotFound

from joeflow_temporal import refusals
from joeflow_temporal.engine.spec import NodeKind
from joeflow_temporal.models import Task, Workflow
from joeflow_temporal.registry import get_workflows
from joeflow_temporal.relatives import child_workflows


def get_workflow_class(label: str) -> type[Workflow]:
    """The registered workflow class labelled ``app_label.modelname`` (404 if none is)."""
    for cls in get_workflows():
        if cls._meta.label_lower == label.lower():
            return cls
    raise NotFound(f"No workflow {label!r}.")


def get_start_node(cls: type[Workflow], name: str):
    """The start view called ``name``.

    Raises:
        Refused: 404 for any other node or name, naming the class's start views.
    """
    refused = refusals.refuse_start(cls, name)
    if refused is not None:
        raise refused
    return cls.get_human_nodes()[name]


def get_event_node(cls: type[Workflow], name: str):
    """The ``tasks.Event`` node waiting for events called ``name`` (``Workflow.get_event_node``).

    Raises:
        NotFound: the class has none (404, naming the events it has).
    """
    try:
        return cls.get_event_node(name)
    except LookupError:
        names = event_names([cls])
        has = f"Its events: {', '.join(names)}." if names else "It waits for no events."
        raise NotFound(f"{cls._meta.label_lower} has no event {name!r}. {has}") from None


def event_names(classes=None) -> list[str]:
    """The names of the ``tasks.Event`` nodes of ``classes`` (default: every registered class),
    sorted."""
    return sorted(
        {
            getattr(node, "event_name", "")
            for cls in (get_workflows() if classes is None else classes)
            for _, node in cls.get_nodes()
            if getattr(node, "node_kind", None) == NodeKind.EVENT
        }
    )


def view_fields(node) -> tuple[str, ...] | str:
    """The model fields a task's view edits, found as the view's own form would find them."""
    fields = getattr(node, "fields", None)
    if fields is None:
        form_meta = getattr(getattr(node, "form_class", None), "_meta", None)
        fields = getattr(form_meta, "fields", None)
    if fields is None:
        return ()
    return fields if isinstance(fields, str) else tuple(fields)


def own_field_names(cls: type[Workflow]) -> list[str]:
    """The instance's business fields: the model's, without the base bookkeeping and parent link."""
    base = {field.name for field in Workflow._meta.concrete_fields}
    fields = [
        field.name
        for field in cls._meta.concrete_fields
        if field.name not in base and not (field.remote_field and field.remote_field.parent_link)
    ]
    return fields + [field.name for field in cls._meta.many_to_many]


def task_queryset():
    """Tasks with what the serializers read, so a page costs the same few queries."""
    return Task.objects.select_related("content_type").prefetch_related(
        Prefetch("parent_task_set", queryset=Task.objects.only("pk")),
        "assignees",
        Prefetch("candidate_groups", queryset=Group.objects.only("name")),
    )


def instances_of(cls: type[Workflow]):
    """This class's instances (``Workflow.instances``) with what the serializers read: a page
    of them costs the same few queries however many instances, tasks and children it holds
    (each task's ``child_workflows``: ``relatives.child_workflows``)."""
    tasks = task_queryset().prefetch_related(
        Prefetch("child_workflow_set", queryset=child_workflows(), to_attr="child_workflows")
    )
    return (
        cls.instances()
        .select_related("parent_task__content_type")
        .prefetch_related(
            Prefetch("task_set", queryset=tasks.order_by("pk")),
            *[field.name for field in cls._meta.many_to_many],
        )
        .order_by("-pk")
    )
