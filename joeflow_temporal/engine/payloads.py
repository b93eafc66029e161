"""Inputs and outputs of the walker and its activities: ids and names, never ORM objects."""

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from joeflow_temporal.engine.spec import Graph, TaskStatus, TaskType
from joeflow_temporal.engine.state import WalkerState


class WalkerConfig(BaseModel):
    """Engine settings, read from Django settings once when an instance starts."""

    poll_interval: timedelta = timedelta(seconds=10)
    poll_max_interval: timedelta = timedelta(minutes=10)
    task_timeout: timedelta = timedelta(minutes=30)
    """start-to-close timeout of one machine task run."""
    heartbeat_timeout: timedelta = timedelta(seconds=30)
    """How soon a machine task whose worker died is retried elsewhere."""
    confirm_timeout: timedelta = timedelta(seconds=30)
    """How long a signal waits for the commit it announced before it is ignored."""
    local_activities: bool = False
    """Run machine tasks as local activities: fewer round trips, for short tasks only."""
    notify_email: bool = False
    """``JOEFLOW_TEMPORAL_NOTIFY_EMAIL``: run every human-work hook (their defaults e-mail)."""


class WorkflowRef(BaseModel):
    label: str
    pk: int


class ParentRef(BaseModel):
    """Where a child instance came from: its parent's execution and subworkflow task."""

    workflow_id: str
    """The parent's Temporal workflow id (a continue-as-new keeps it)."""
    task_id: int
    """The parent's subworkflow Task row."""


class WalkerInput(BaseModel):
    graph: Graph
    workflow: WorkflowRef
    start_task_id: int
    start_node: str
    start_task_key: str | None = None
    """The start Task row's key, a token Django chose and stored with the row: a row with the
    same ids from another (rolled-back) start never confirms this execution."""
    config: WalkerConfig = Field(default_factory=WalkerConfig)
    state: WalkerState | None = None
    """Set when a run continues as new."""
    parent: ParentRef | None = None
    """Set for a child instance: told ``child_ended`` when this one ends."""


class TaskRef(BaseModel):
    workflow: WorkflowRef
    task_id: int


class CreateTask(BaseModel):
    workflow: WorkflowRef
    key: str
    name: str
    type: TaskType
    parent_ids: list[int]
    completed: bool = False
    """Create (or finish) the row as ``succeeded``: joins and waits."""


class CreatedTask(BaseModel):
    """A human task's row: open (``scheduled``), or ``failed`` because its view's
    ``create_task`` hook raised; a retry may find it ``succeeded`` or ``canceled`` meanwhile."""

    task_id: int
    status: TaskStatus
    due: datetime | None = None
    """The row's due date (its view's ``due``, or what its ``create_task`` hook set)."""


class RunMachineTask(BaseModel):
    workflow: WorkflowRef
    task_id: int | None = None
    """The Task row to run; ``None`` on the first run, which creates it from ``create``."""
    create: CreateTask | None = None
    node_names: list[str]
    """The nodes of the graph the instance walks: a returned task must be one of them."""


class MachineOutcome(BaseModel):
    status: Literal[TaskStatus.SUCCEEDED, "not_ready", TaskStatus.FAILED, TaskStatus.CANCELED]
    """The row's status after the run; ``not_ready``: the method returned ``False`` (joeflow's
    "try again later"), so the row stays ``scheduled`` and the walker polls."""
    next_tasks: list[str] | None = None
    """The names the method returned; ``None`` means follow every outgoing edge."""
    task_id: int | None = None
    """The Task row that ran (the one ``RunMachineTask.create`` made, on a first run)."""


class ConfirmTask(BaseModel):
    task: TaskRef
    statuses: list[TaskStatus]
    """Succeed once the Task row has one of these statuses."""
    key: str | None = None
    """Only the row with this key counts (ids repeat after a rollback; the key does not)."""
    wait: timedelta | None = None
    """Keep looking this long within one run, then fail for good. ``None`` (walkers from before
    that): look once and fail retryably; the walker's timeout bounds the retries."""


class CancelTasks(BaseModel):
    workflow: WorkflowRef
    task_ids: list[int] | None
    """The tasks to cancel if still open; ``None``: every open task of the instance."""


class CancelRequest(BaseModel):
    """Sent by ``Workflow.cancel`` after it recorded a ``cancel`` task and canceled the open ones:
    the engine ends the instance once that row (with that key) is committed."""

    task_id: int
    task_key: str
    comment: str = ""
    """Why, as the user said (also on the ``cancel`` task)."""


class OverrideRequest(BaseModel):
    """Sent by Django after it recorded an ``override`` task and canceled the open ones."""

    task_id: int
    task_key: str | None = None
    """The override Task row's key, a token stored with it: after a rollback its id can be
    handed out again (to the next override, say), the key cannot."""
    next_tasks: list[str]
    graph: Graph | None = None
    """The class's current graph: from the override on, the instance walks it (after a deploy,
    the way to move a running instance onto the new graph)."""
    comment: str = ""
    """Why, as the user said (also on the ``override`` task)."""


class TaskAssigned(BaseModel):
    """Signal ``task_assigned``: a claim or assign committed these assignees (sent before the
    commit); the walker runs ``on_task_assigned`` once the row shows them."""

    task_id: int
    assignee_ids: list[int]


class RunHook(BaseModel):
    """Run a human-work hook of the instance's class for one Task row."""

    task: TaskRef
    hook: str
    assignee_ids: list[int] | None = None
    """For ``on_task_assigned``: run only once the row has these assignees (the commit of the
    claim or assign is visible), and not at all if they changed again."""


class TimeOut(BaseModel):
    """At a human task's due date: cancel it if still scheduled and due, saying it escalated
    to the node ``on_timeout``."""

    task: TaskRef
    on_timeout: str


class TimedOut(BaseModel):
    timed_out: bool
    """True: the task was canceled now; False: it was already closed (completed meanwhile)."""
    due: datetime | None = None
    """The row's due date, when it still has one in the future (a project moved it): wait on."""


class CreateChildren(BaseModel):
    """Create a subworkflow task's child instances (all of them, once) and return some."""

    task: TaskRef
    offset: int = 0
    limit: int
    """Return the children ``offset`` to ``offset + limit`` (by item), to start next."""


class ChildStart(BaseModel):
    """A child instance, created with its start task, to start as a child workflow."""

    pk: int
    start_task_id: int
    start_task_key: str


class CreatedChildren(BaseModel):
    status: Literal[TaskStatus.SCHEDULED, TaskStatus.FAILED, TaskStatus.CANCELED]
    """``scheduled``: the children exist; ``failed``: ``fields`` or ``for_each`` raised or gave
    no dicts (recorded on the task, which waits for a rerun); ``canceled``: the task was."""
    total: int = 0
    """How many children the task has in all."""
    children: list[ChildStart] = Field(default_factory=list)
    graph: Graph | None = None
    """The child class's graph (once per batch, not per child)."""
    start_node: str = ""
    """The child class's ``Start()`` node."""


class ChildEnded(BaseModel):
    """Signal ``child_ended``: a child instance of the subworkflow task ``task_id`` ended."""

    task_id: int
    pk: int


class ConsumeEvent(BaseModel):
    """Let an event task take the event row ``event_id`` once its commit is visible."""

    task: TaskRef
    event_id: int
    wait: timedelta
    """How long to look for the event's commit before giving it up."""


class ScheduledStart(BaseModel):
    """What a Temporal Schedule starts at each firing: the class and its scheduled start node."""

    label: str
    node: str


class StartScheduled(BaseModel):
    """One firing of a schedule: ``firing_id`` (the firing's workflow id, which Temporal makes
    of the schedule's action id and the scheduled time) keys the instance it creates."""

    label: str
    node: str
    firing_id: str
