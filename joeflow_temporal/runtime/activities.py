"""The Django side of the engine: every database read and write the walker needs.

All activities are synchronous (they run on the worker's thread pool), close stale database
connections around each run, and are idempotent, so Temporal may retry any of them at any time.
Database outages (``OperationalError``/``InterfaceError``) are raised, and Temporal retries them;
everything a machine task or a human task's ``create_task`` hook raises is recorded on its Task
instead (``failed``, logged once at ERROR), so no retry loop hides a step the engine cannot take.
"""

import contextvars
import functools
import logging
import threading
import time
from contextlib import contextmanager

from django.apps import apps
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from temporalio import activity
from temporalio.exceptions import ApplicationError

from joeflow_temporal import refusals
from joeflow_temporal.contrib.reversion import with_reversion
from joeflow_temporal.engine import names
from joeflow_temporal.engine.payloads import (
    CancelTasks,
    ChildStart,
    ConfirmTask,
    ConsumeEvent,
    CreateChildren,
    CreatedChildren,
    CreatedTask,
    CreateTask,
    MachineOutcome,
    RunHook,
    RunMachineTask,
    StartScheduled,
    TaskRef,
    TimedOut,
    TimeOut,
    WorkflowRef,
)
from joeflow_temporal.engine.spec import NodeKind, TaskStatus
from joeflow_temporal.exceptions import RETRIED
from joeflow_temporal.models import ScheduledFiring, Task, Workflow, WorkflowEvent
from joeflow_temporal.runtime.compile import HOOKS
from joeflow_temporal.runtime.machine import TaskRaised, run_method
from joeflow_temporal.runtime.rows import human_task_or_failure, new_task

logger = logging.getLogger(__name__)


ANSWERS = frozenset({"NotCommittedYet", "NeverCommitted"})
"""Types of the ``ApplicationError`` s that answer the walker (a commit is not visible yet, or
never was) rather than report a fault."""


def db_activity(name: str):
    """Register a sync activity that gets a fresh, healthy database connection for each run.

    A fault it raises (not a database outage, which is retried at WARNING, nor an answer such
    as ``NotCommittedYet``) is logged at ERROR on its first attempt only: Temporal retries it,
    and a fault that is no task's failure must not hide in the retries' warnings.
    """

    def decorator(fn):
        @activity.defn(name=name)
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            close_old_connections()
            try:
                return fn(*args, **kwargs)
            except Exception as error:
                if is_fault(error) and first_attempt():
                    logger.error("Activity %s failed: %s", name, error, exc_info=True)
                raise
            finally:
                close_old_connections()

        return wrapper

    return decorator


def first_attempt() -> bool:
    return not activity.in_activity() or activity.info().attempt == 1


def is_fault(error: Exception) -> bool:
    if isinstance(error, RETRIED):
        return False
    return not (isinstance(error, ApplicationError) and error.type in ANSWERS)


def workflow_class(label: str) -> type[Workflow]:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        raise ApplicationError(
            f"No workflow class {label!r} is installed in this worker.",
            type="UnknownWorkflow",  # retried: a worker of the new deploy will have it
        ) from None


def load_workflow(ref: WorkflowRef, lock: bool = False) -> Workflow:
    queryset = workflow_class(ref.label).objects.all()
    if lock:
        queryset = queryset.select_for_update()
    try:
        return queryset.get(pk=ref.pk)
    except Workflow.DoesNotExist:
        raise ApplicationError(
            f"Workflow {ref.label} {ref.pk} no longer exists.",
            type="WorkflowDeleted",
            non_retryable=True,
        ) from None


@db_activity(names.CREATE_TASK)
def create_task(request: CreateTask) -> int:
    """Create the Task row keyed by the walker (or find the one a previous attempt made).

    A human task's row comes from its view's ``create_task(workflow, prev_task)`` hook (where
    projects assign users), as in joeflow; the engine then gives it the walker's key.
    """
    workflow = load_workflow(request.workflow)
    with transaction.atomic():
        task = Task.objects.filter(_workflow_id=workflow.pk, key=request.key).first()
        if task is None:
            task = new_task(workflow, request)
        if request.parent_ids:
            task.parent_task_set.add(*request.parent_ids)
        if request.completed and task.status == Task.SCHEDULED:
            task.finish()
    return task.pk


@db_activity(names.CREATE_HUMAN_TASK)
def create_human_task(request: CreateTask) -> CreatedTask:
    """Create a human task's row (or find the one a previous attempt made), from its view's hook.

    A hook that raises (anything but a database outage, which Temporal retries) or returns no
    Task of this instance leaves nothing of what it wrote: the row is recorded ``failed`` with
    the exception and traceback instead, and the walker waits for a rerun (``Task.rerun`` calls
    the hook again) or a cancel, as for a failed machine task. So is a task whose node a deploy
    removed.
    """
    workflow = load_workflow(request.workflow)
    with transaction.atomic():
        task = Task.objects.filter(_workflow_id=workflow.pk, key=request.key).first()
        if task is None:
            task = human_task_or_failure(workflow, request)
            task.parent_task_set.add(*request.parent_ids)
    return CreatedTask(task_id=task.pk, status=TaskStatus(task.status), due=task.due)


CONFIRM_FIRST_PAUSE = 0.01
CONFIRM_MAX_PAUSE = 1.0
"""Seconds between two looks for a commit: doubling, so a rolled-back one costs few queries."""


@db_activity(names.CONFIRM_TASK)
def confirm_task(request: ConfirmTask) -> str:
    """Succeed once a commit announced by a signal is visible.

    With ``wait``, look again for that long while running, then fail for good: only time a
    worker spent looking counts, so a confirm that sat in the queue (workers down, every
    activity slot busy) is never given up unseen.
    """
    deadline = time.monotonic() + (request.wait.total_seconds() if request.wait else 0)
    pause = CONFIRM_FIRST_PAUSE
    while (status := task_status(request.task, request.key)) not in request.statuses:
        if request.wait is None or time.monotonic() >= deadline:
            raise ApplicationError(
                f"Task {request.task.task_id} is {status or 'missing'}, "
                f"expected {request.statuses}.",
                type="NotCommittedYet" if request.wait is None else "NeverCommitted",
                non_retryable=request.wait is not None,
            )
        activity.heartbeat()
        time.sleep(pause)
        pause = min(2 * pause, CONFIRM_MAX_PAUSE)
    return status


def task_status(ref: TaskRef, key: str | None = None) -> str | None:
    """The status of the Task row (with that ``key``, when given), or None if there is none."""
    rows = Task.objects.filter(pk=ref.task_id, _workflow_id=ref.workflow.pk)
    if key is not None:
        rows = rows.filter(key=key)
    return rows.values_list("status", flat=True).first()


@db_activity(names.RUN_MACHINE_TASK)
def run_machine_task(request: RunMachineTask) -> MachineOutcome:
    """Create (on a first run), run and record a machine task in one transaction.

    The Task row, the method's database writes and the outcome commit together, so a retry
    that finds the outcome already committed returns it without running the method again.
    A method that raises rolls all of it back; its failure is then recorded on its own. So is
    anything else but a database outage that stops the run from being recorded: a constraint
    the method's writes broke, checked at the commit, or a revision that cannot be saved.
    """
    try:
        return run_and_record(request)
    except TaskRaised as raised:
        return record_failure(request, raised.error)
    except (*RETRIED, ApplicationError):
        raise  # and the engine's own errors: a class this worker lacks, a deleted instance
    except Exception as error:
        return record_failure(request, error)


def record_failure(request: RunMachineTask, error: BaseException) -> MachineOutcome:
    with transaction.atomic():
        task, _ = locked_machine_task(request)
        if task.status != Task.SCHEDULED:
            return recorded_outcome(task)  # canceled meanwhile, or the error came after the commit
        task.fail(error)
    return MachineOutcome(status=TaskStatus.FAILED, task_id=task.pk)


def run_and_record(request: RunMachineTask) -> MachineOutcome:
    with transaction.atomic():
        task, workflow = locked_machine_task(request)
        if task.status != Task.SCHEDULED:
            return recorded_outcome(task)
        workflow = workflow or load_workflow(request.workflow, lock=True)
        with heartbeating(), with_reversion(task):
            result, next_tasks = run_method(workflow, task, request.node_names)
        if result is False:
            return MachineOutcome(status="not_ready", task_id=task.pk)
        task.finish(next_tasks=next_tasks)
        return MachineOutcome(status=TaskStatus.SUCCEEDED, next_tasks=next_tasks, task_id=task.pk)


def recorded_outcome(task: Task) -> MachineOutcome:
    """The outcome of a run that committed before (a retry whose first attempt's answer was
    lost with its worker: succeeded or failed), or of a task canceled meanwhile."""
    if task.status == Task.SUCCEEDED:
        return MachineOutcome(
            status=TaskStatus.SUCCEEDED, next_tasks=task.next_tasks, task_id=task.pk
        )
    if task.status == Task.FAILED:
        return MachineOutcome(status=TaskStatus.FAILED, task_id=task.pk)
    return MachineOutcome(status=TaskStatus.CANCELED, task_id=task.pk)


def locked_machine_task(request: RunMachineTask) -> tuple[Task, Workflow | None]:
    """The Task row to run, locked; on a first run, the instance is locked and the row created
    (idempotently, by key) under that lock, and the instance is returned too."""
    if request.task_id is not None:
        return Task.objects.select_for_update().get(pk=request.task_id), None
    create = request.create
    if create is None:
        raise ApplicationError(
            "RunMachineTask names neither task_id nor create.",
            type="BadRequest",
            non_retryable=True,
        )
    workflow = load_workflow(create.workflow, lock=True)
    task = Task.objects.filter(_workflow_id=workflow.pk, key=create.key).first()
    if task is None:
        task = new_task(workflow, create)
        task.parent_task_set.add(*create.parent_ids)
    return task, workflow


@db_activity(names.CANCEL_TASKS)
def cancel_tasks(request: CancelTasks) -> int:
    """Mark open tasks canceled: the given ones, or all of the instance."""
    tasks = Task.objects.filter(_workflow_id=request.workflow.pk).open()
    if request.task_ids is not None:
        tasks = tasks.filter(pk__in=request.task_ids)
    now = timezone.now()
    return tasks.update(status=Task.CANCELED, completed=now, modified=now)


@db_activity(names.RUN_HOOK)
def run_hook(request: RunHook) -> bool:
    """Call a human-work hook of the instance's class with the Task; whether it ran.

    Only for a task that is still scheduled. ``on_task_created`` runs exactly once per row:
    its database writes commit with the row's ``created_hook_done``, which a retry finds.
    ``on_task_assigned`` runs once the row shows the assignees the signal named (the signal is
    sent before the claim's commit); if it does not within ``ASSIGNMENT_WAIT`` seconds, the
    claim rolled back or was overtaken by another, whose own signal follows: nothing runs.
    """
    if request.hook not in HOOKS:
        raise ApplicationError(
            f"No hook {request.hook!r}; hooks: {', '.join(HOOKS)}.",
            type="BadRequest",
            non_retryable=True,
        )
    with heartbeating():  # a worker lost mid-hook is noticed in seconds, not HOOK_TIMEOUT
        return _run_hook(request)


def _run_hook(request: RunHook) -> bool:
    workflow = load_workflow(request.task.workflow)
    if request.assignee_ids is not None and not assignment_visible(request):
        logger.info(
            "Task %s: assignment %s not committed; no hook",
            request.task.task_id,
            request.assignee_ids,
        )
        return False
    with transaction.atomic():
        task = (
            Task.objects.select_for_update()
            .filter(pk=request.task.task_id, _workflow_id=workflow.pk)
            .first()
        )
        if task is None or task.status != Task.SCHEDULED:
            return False
        if request.hook == "on_task_created":
            if task.created_hook_done:
                return False
            task.created_hook_done = True
            task.save(update_fields=["created_hook_done", "modified"])
        task.workflow = workflow
        getattr(workflow, request.hook)(task)
    return True


ASSIGNMENT_WAIT = 10.0
"""Seconds ``on_task_assigned`` looks for the commit of the claim or assign that signalled."""


def assignment_visible(request: RunHook) -> bool:
    """Whether the task's assignees are (or within ``ASSIGNMENT_WAIT`` become) the signal's."""
    wanted = sorted(request.assignee_ids or ())
    assignees = Task.assignees.through.objects.filter(task_id=request.task.task_id)
    deadline = time.monotonic() + ASSIGNMENT_WAIT
    pause = CONFIRM_FIRST_PAUSE
    while sorted(assignees.values_list("user_id", flat=True)) != wanted:
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(2 * pause, CONFIRM_MAX_PAUSE)
    return True


@db_activity(names.TIME_OUT_TASK)
def time_out_task(request: TimeOut) -> TimedOut:
    """Cancel a human task at its due date, saying why in its ``comment``, if it is still
    scheduled and due (a project may have moved ``due``: the answer then carries the new one)."""
    with transaction.atomic():
        task = (
            Task.objects.select_for_update()
            .filter(pk=request.task.task_id, _workflow_id=request.task.workflow.pk)
            .first()
        )
        if task is None or task.status != Task.SCHEDULED or task.due is None:
            return TimedOut(timed_out=False)
        now = timezone.now()
        if task.due > now:
            return TimedOut(timed_out=False, due=task.due)
        task.status = Task.CANCELED
        task.completed = now
        task.comment = (
            f"Not completed by its due date{refusals.on(task.due)}: "
            f"escalated to {request.on_timeout}."
        )
        task.save(update_fields=["status", "completed", "comment", "modified"])
    return TimedOut(timed_out=True)


@db_activity(names.FINISH_WORKFLOW)
def finish_workflow(ref: WorkflowRef) -> None:
    Workflow.objects.filter(pk=ref.pk, completed=None).update(completed=timezone.now())


@db_activity(names.CREATE_CHILDREN)
def create_children(request: CreateChildren) -> CreatedChildren:
    """Create a subworkflow task's child instances, each with its start task, and return
    those from ``offset`` on (at most ``limit``), for the walker to start as child workflows.

    All children are created at the first call, in one transaction with the task locked; a
    retry, or the call for the next batch, finds them (``parent_task``, ``parent_item``), so each
    item gets exactly one child. ``fields`` or ``for_each`` raising or giving no dicts, or a
    child that cannot be saved, records the task ``failed`` with what went wrong.
    """
    parent = load_workflow(request.task.workflow)
    with transaction.atomic():
        task = (
            Task.objects.select_for_update()
            .filter(pk=request.task.task_id, _workflow_id=parent.pk)
            .first()
        )
        if task is None or task.status == Task.CANCELED:
            return CreatedChildren(status=TaskStatus.CANCELED)
        if task.status == Task.FAILED:
            return CreatedChildren(status=TaskStatus.FAILED)
        node = parent.get_node(task.name)
        child_cls = workflow_class(node.label)
        start_node = child_start_node(child_cls)
        children = child_cls.objects.filter(parent_task=task)
        if not children.exists():
            try:
                with transaction.atomic(), heartbeating():
                    create_child_rows(parent, task, node, child_cls, start_node)
            except RETRIED:
                raise
            except Exception as error:
                task.fail(error)
                return CreatedChildren(status=TaskStatus.FAILED)
        total = children.count()
        batch = list(
            children.order_by("parent_item").values_list("pk", flat=True)[
                request.offset : request.offset + request.limit
            ]
        )
        starts = dict(
            Task.objects.filter(_workflow_id__in=batch, name=start_node)
            .order_by("pk")
            .values_list("_workflow_id", "pk")
        )
        keys = dict(Task.objects.filter(pk__in=starts.values()).values_list("pk", "key"))
    return CreatedChildren(
        status=TaskStatus.SCHEDULED,
        total=total,
        children=[
            ChildStart(pk=pk, start_task_id=starts[pk], start_task_key=keys[starts[pk]])
            for pk in batch
        ],
        graph=child_cls.get_graph_spec(),
        start_node=start_node,
    )


def child_start_node(child_cls) -> str:
    """The name of the child class's ``tasks.Start()`` node (check E021 wants exactly one)."""
    starts = [name for name, node in child_cls.get_nodes() if node_kind(node) == NodeKind.START]
    if len(starts) != 1:
        raise ApplicationError(
            f"{child_cls._meta.label} has {len(starts)} tasks.Start() nodes, needs exactly one.",
            type="NoStartNode",
            non_retryable=True,
        )
    return starts[0]


def node_kind(node) -> NodeKind | None:
    return getattr(node, "node_kind", None)


def create_child_rows(parent, task, node, child_cls, start_node: str) -> None:
    for item, fields in enumerate(node.child_fields(parent)):
        child = child_cls(**fields, parent_task=task, parent_item=item)
        child.full_clean(exclude=["parent_task", "parent_item"], validate_unique=False)
        child.save()
        child.record_start(start_node)


@db_activity(names.CONSUME_EVENT)
def consume_event(request: ConsumeEvent) -> TaskStatus:
    """Finish an event task with the event row ``event_id`` once that row's commit is visible.

    Answers ``succeeded`` (now, or by an earlier attempt), ``scheduled`` when another task took
    the event (the task waits on), ``canceled`` when the task was canceled meanwhile; fails for
    good (``NeverCommitted``) when the row does not show within ``wait``.
    """
    deadline = time.monotonic() + request.wait.total_seconds()
    pause = CONFIRM_FIRST_PAUSE
    events = WorkflowEvent.objects.filter(
        pk=request.event_id, _workflow_id=request.task.workflow.pk
    )
    with heartbeating():
        while not events.exists():
            if time.monotonic() >= deadline:
                raise ApplicationError(
                    f"Event {request.event_id} was never committed.",
                    type="NeverCommitted",
                    non_retryable=True,
                )
            time.sleep(pause)
            pause = min(2 * pause, CONFIRM_MAX_PAUSE)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=request.task.task_id)
        event = events.select_for_update().get()
        if event.task_id == task.pk:
            return TaskStatus.SUCCEEDED
        if task.status != Task.SCHEDULED:
            return TaskStatus(task.status)
        if event.task_id is not None:
            return TaskStatus.SCHEDULED
        event.task = task
        event.save(update_fields=["task"])
        task.finish(event.sent_by)
    return TaskStatus.SUCCEEDED


@db_activity(names.START_SCHEDULED)
def start_scheduled(request: StartScheduled) -> int:
    """Create the instance of one schedule firing through its start node and return its pk.

    As ``Workflow.start_with`` (with the model's default field values): the row, its start
    task and the walker's execution in one transaction. Exactly once per ``firing_id``: the
    firing's row commits with the instance under a unique constraint, so a retry returns the
    instance a previous attempt committed, and a concurrent run of the same firing waits for
    the first one's commit, hits the constraint and returns that instance too.
    """
    workflow_cls = workflow_class(request.label)
    node = dict(workflow_cls.get_nodes()).get(request.node)
    if getattr(node, "schedule", None) is None:
        raise ApplicationError(
            f"{request.label} has no scheduled start {request.node!r} (any more): "
            "run manage.py sync_schedules to remove its Schedule.",
            type="UnknownNode",
            non_retryable=True,
        )
    started = fired_instance(request.firing_id)
    if started is not None:
        return started
    try:
        with transaction.atomic():
            workflow = workflow_cls.objects.create()
            ScheduledFiring.objects.create(firing_id=request.firing_id, workflow=workflow)
            workflow.start_engine(request.node)
    except IntegrityError:
        started = fired_instance(request.firing_id)
        if started is None:
            raise  # not the firing's constraint: the model's own
        return started
    return workflow.pk


def fired_instance(firing_id: str) -> int | None:
    """The pk of the instance the firing created, if one did."""
    firings = ScheduledFiring.objects.filter(firing_id=firing_id)
    return firings.values_list("workflow_id", flat=True).first()


ACTIVITIES = [
    create_task,
    create_human_task,
    confirm_task,
    run_machine_task,
    cancel_tasks,
    finish_workflow,
    run_hook,
    time_out_task,
    create_children,
    consume_event,
    start_scheduled,
]


class Heartbeats:
    """One thread heartbeats every machine task running in this worker, so a dead worker is
    noticed, without starting a thread per task."""

    TICK = 0.5
    """Seconds between two looks at what is due."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[object, list] = {}  # token -> [context, interval, next beat]
        self._thread: threading.Thread | None = None

    @contextmanager
    def keep_alive(self):
        """Heartbeat the current activity while the block runs (if it has a heartbeat timeout)."""
        timeout = activity.info().heartbeat_timeout
        if not timeout:
            yield
            return
        interval = timeout.total_seconds() / 3
        token = object()
        with self._lock:
            self._running[token] = [
                contextvars.copy_context(),
                interval,
                time.monotonic() + interval,
            ]
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="joeflow-heartbeats", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                del self._running[token]

    def _beat(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self._lock:
                due = [entry for entry in self._running.values() if entry[2] <= now]
                for entry in due:
                    entry[2] = now + entry[1]
            for context, _, _ in due:
                try:
                    context.run(activity.heartbeat)
                except Exception:  # one task's trouble must not stop the others' heartbeats
                    logger.exception("Heartbeat failed")


heartbeating = Heartbeats().keep_alive
