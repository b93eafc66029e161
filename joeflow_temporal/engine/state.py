"""The walker's state: everything a run needs, carried across continue-as-new."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Phase(StrEnum):
    CREATE = "create"
    """The Task row is to be created (idempotently, by ``key``)."""
    CONFIRM_START = "confirm_start"
    """The start task was created by Django; wait until its commit is visible."""
    RUN = "run"
    """A machine method is to be run."""
    POLL = "poll"
    """The method returned ``False``: run it again at ``wake_at``."""
    WAIT = "wait"
    """A ``Wait`` node's timer runs until ``wake_at``."""
    HUMAN = "human"
    """A human task waits for ``complete_task``."""
    JOIN = "join"
    """A join waits for the rest of its parents."""
    CHILDREN = "children"
    """A subworkflow task starts its child instances, then waits until every one has ended."""
    EVENT = "event"
    """An event task waits for an event of its name (``event_sent``)."""
    FAILED = "failed"
    """The method raised (or a human task's ``create_task`` hook did); waits for ``rerun_task``
    or ``cancel_task``."""


class HookCall(BaseModel):
    """A human-work hook to run for a task: ``on_task_created``, ``on_task_assigned`` (with
    the assignees it was sent for) or ``on_task_reminder``."""

    hook: str
    task_id: int
    assignee_ids: list[int] | None = None


class SentEvent(BaseModel):
    """Signal ``event_sent``: Django recorded an event row (sent before its commit)."""

    name: str
    event_id: int
    """The ``WorkflowEvent`` row's pk."""


class OpenTask(BaseModel):
    key: str
    """Idempotency key of the Task row, chosen by the walker, unique within the instance."""
    name: str
    phase: Phase
    id: int | None = None
    """The Task row's id, once created (a machine task's first run may create it)."""
    parent_ids: list[int] = Field(default_factory=list)
    wake_at: datetime | None = None
    polls: int = 0
    arrived: list[str] = Field(default_factory=list)
    """For a join: the parents that have arrived so far."""
    due_at: datetime | None = None
    """For a human task with ``on_timeout``: when it times out (its row's ``due``)."""
    remind_at: datetime | None = None
    """For a human task with reminders: when ``on_task_reminder`` runs next."""
    children_total: int | None = None
    """For a subworkflow task: how many child instances it has (None: not created yet)."""
    children: list[int] = Field(default_factory=list)
    """For a subworkflow task: the pks of the child instances started so far."""
    children_ended: list[int] = Field(default_factory=list)
    """For a subworkflow task: the pks of the child instances that have ended."""

    @property
    def row_id(self) -> int:
        """``id``, where the walker needs the row: a finished task, one a signal named, the
        start task. Raises ``LookupError`` (a workflow task failure, retried) were it not set."""
        if self.id is None:
            raise LookupError(f"Task {self.key!r} ({self.name}) has no row yet.")
        return self.id


class WalkerState(BaseModel):
    run: int = 1
    """The run number: 1, plus one per continue-as-new."""
    steps: int = 0
    """Tasks finished by the engine over all runs."""
    tasks: dict[str, OpenTask] = Field(default_factory=dict)
    """Open tasks by key, in creation order."""
    completions: list[int] = Field(default_factory=list)
    """``complete_task`` signals not yet handled."""
    reruns: list[int] = Field(default_factory=list)
    cancels: list[int] = Field(default_factory=list)
    hooks: list[HookCall] = Field(default_factory=list)
    """Hook activities to run (``on_task_created``...), in order; kept until each has run."""
    events: list[SentEvent] = Field(default_factory=list)
    """Events sent (``event_sent``) and not consumed yet, in the order they came: kept until
    an event task of their name takes them, so an event may come before its node is reached."""
