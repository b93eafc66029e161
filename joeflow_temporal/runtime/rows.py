"""The Task rows the engine makes: keyed by the walker, a human task's from its view's hook.

A human task's row comes from its view's ``create_task(workflow, prev_task)`` hook (where
projects assign users), as in joeflow; the engine checks it and gives it the walker's key
(it "adopts" it). ``Task.rerun`` of a human task whose hook failed calls the hook again here.

``models`` imports this module (``Task.key``'s default, ``Task.rerun``), so it never imports
``models``: the Task model is reached through the instance (``workflow.task_set.model``).
"""

import uuid

from django.db import transaction
from django.utils import timezone

from joeflow_temporal.engine.payloads import CreateTask
from joeflow_temporal.exceptions import RETRIED

NEW_KEY_PREFIX = "new:"
"""Keys of rows the engine has not adopted (yet): see ``new_key``."""


def new_key() -> str:
    """A unique placeholder key: the engine gives a row it adopts its own key."""
    return f"{NEW_KEY_PREFIX}{uuid.uuid4().hex}"


def new_task(workflow, request: CreateTask):
    """The new Task row of ``request`` (a human task's from its view's hook), saved.

    Raises:
        TypeError, ValueError: the hook returned no new Task of this instance (``hook_row``).
        Whatever the hook raises.
    """
    node = dict(workflow.get_nodes()).get(request.name)
    Task = workflow.task_set.model
    if request.type == Task.HUMAN and hasattr(node, "create_task"):
        task = adopt(hook_row(node, workflow, request.parent_ids), workflow, request)
        apply_human_work(task, node)
        return task
    return Task.objects.create(
        _workflow_id=workflow.pk,
        key=request.key,
        name=request.name,
        type=request.type,
        content_type=workflow.get_content_type(),
    )


def hook_row(node, workflow, parent_ids: list[int]):
    """The row a human task's ``create_task(workflow, prev_task)`` hook made, checked.

    Raises:
        TypeError, ValueError: it returned no Task, a Task of another instance, or one the
            engine has already adopted (another task's row).
        Whatever the hook raises.
    """
    Task = workflow.task_set.model
    prev_task = Task.objects.filter(pk__in=parent_ids).first()
    task = node.create_task(workflow, prev_task)
    if not isinstance(task, Task):
        raise TypeError(
            f"{node.name}.create_task() returned {task!r}; it must return a Task, e.g. "
            "workflow.task_set.create(name=self.name, type=self.type, workflow=workflow)."
        )
    if task._workflow_id not in (None, workflow.pk):
        raise ValueError(
            f"{node.name}.create_task() returned task {task.pk} of another instance "
            f"({task._workflow_id}, not {workflow.pk})."
        )
    if task.pk is not None and not task.key.startswith(NEW_KEY_PREFIX):
        raise ValueError(
            f"{node.name}.create_task() returned task {task.pk} ({task.name}), which the engine "
            "already has; it must return a new Task."
        )
    return task


def adopt(task, workflow, request: CreateTask):
    """Make the row a ``create_task`` hook returned the walker's task: its key, saved.

    The hook may return the row as joeflow's docs write it (``workflow.task_set.create(name=...,
    type=..., workflow=workflow)``, saved, with a placeholder key) or unsaved; the caller adds
    the parents.
    """
    task.workflow = workflow
    task.key = request.key
    if task.pk is None:
        task.save()
    else:
        task.save(update_fields=["key", "content_type"])
    return task


def apply_human_work(task, node, since=None) -> None:
    """Give a new human task its view's ``due`` (after ``since``, default its creation) and
    ``candidate_groups``, unless its ``create_task`` hook set them.

    Raises:
        LookupError: a candidate group does not exist (the task then fails, visibly).
    """
    due = getattr(node, "due", None)
    if due is not None and task.due is None:
        task.due = (since or task.created) + due
        task.save(update_fields=["due"])
    names = list(getattr(node, "candidate_groups", None) or ())
    if names and not task.candidate_groups.exists():
        Group = task.candidate_groups.model
        groups = list(Group.objects.filter(name__in=names))
        missing = sorted(set(names) - {group.name for group in groups})
        if missing:
            raise LookupError(
                f"{node.name}: no group {', '.join(map(repr, missing))} for its "
                "candidate_groups; create it (Django admin, Groups), then rerun this task."
            )
        task.candidate_groups.set(groups)


def human_task_or_failure(workflow, request: CreateTask):
    """The human task's new row, or a failed one that says why it could not be made.

    Raises:
        OperationalError, InterfaceError, CancelledError: retried by Temporal; nothing written.
    """
    try:
        with transaction.atomic():  # a savepoint: a failing hook's writes are rolled back
            existing_node(workflow, request.name)
            return new_task(workflow, request)
    except RETRIED:
        raise
    except Exception as error:
        task = workflow.task_set.model(
            _workflow_id=workflow.pk,
            key=request.key,
            name=request.name,
            type=request.type,
            content_type=workflow.get_content_type(),
        )
        task.fail(error)
        return task


def existing_node(workflow, name: str):
    """The node ``name`` of the instance's class; ``LookupError`` if a deploy removed it."""
    node = dict(workflow.get_nodes()).get(name)
    if node is None:
        raise LookupError(
            f"{type(workflow).__name__} has no task {name!r} any more; "
            "override the instance to move it on."
        )
    return node


def reopen_human_task(task) -> bool:
    """Call a failed human task's ``create_task`` hook again, for ``Task.rerun``: whether it
    made the row (the caller then opens ``task``).

    The hook runs in a savepoint. What its row holds moves onto ``task``, which keeps its id,
    key and parents: the fields the engine does not own, the many-to-many relations (assignees)
    and the rows that point at the hook's row; the hook's row is then deleted. A hook that fails
    again leaves nothing behind but the new failure, recorded on ``task``.

    Raises:
        OperationalError, InterfaceError: the database is away; nothing was written.
    """
    workflow = task.workflow
    parent_ids = list(task.parent_task_set.values_list("pk", flat=True))
    try:
        with transaction.atomic():
            node = existing_node(workflow, task.name)
            if hasattr(node, "create_task"):
                move_onto(hook_row(node, workflow, parent_ids), task)
                apply_human_work(task, node, since=timezone.now())
    except RETRIED:
        raise
    except Exception as error:
        task.fail(error)
        return False
    return True


ENGINE_FIELDS = frozenset(
    {
        "id",
        "_workflow",
        "content_type",
        "name",
        "key",
        "type",
        "status",
        "created",
        "modified",
        "completed",
        "completed_by_user",
        "exception",
        "stacktrace",
        "next_tasks",
        "comment",
        "created_hook_done",
    }
)
"""Task fields the engine owns: a hook's row never brings them onto a reopened task."""


def move_onto(row, task) -> None:
    """Give ``task`` what a ``create_task`` hook put on its ``row``, then delete ``row``."""
    Task = type(task)
    fields = [f for f in Task._meta.concrete_fields if f.name not in ENGINE_FIELDS]
    for field in fields:
        setattr(task, field.attname, getattr(row, field.attname))
    if fields:
        task.save(update_fields=[field.name for field in fields])
    if row.pk is None:
        return
    for field in Task._meta.many_to_many:
        if field.name != "parent_task_set":
            getattr(task, field.name).set(getattr(row, field.name).all())
    for relation in pointing_at_tasks(Task):
        relation.related_model._base_manager.filter(**{relation.field.name: row}).update(
            **{relation.field.name: task}
        )
    row.delete()


def pointing_at_tasks(Task) -> list:
    """The foreign keys of other models to Task (also with ``related_name="+"``), but those of
    many-to-many tables, whose rows ``move_onto`` copies with the relation."""
    return [
        field
        for field in Task._meta.get_fields(include_hidden=True)
        if field.auto_created
        and not field.concrete
        and (field.one_to_many or field.one_to_one)
        and field.related_model is not None
        and not field.related_model._meta.auto_created
    ]
