"""The graph spec: a workflow class and its edges, compiled to plain data.

The spec travels in the walker's input, so an instance keeps walking the graph it started with
even after a deploy changes the class.
"""

from datetime import timedelta
from enum import StrEnum
from functools import cached_property

from pydantic import BaseModel, ConfigDict


class TaskType(StrEnum):
    """Who does a task (``Task.type``, ``Node.type``); joeflow's ``tasks.HUMAN`` and ``MACHINE``."""

    HUMAN = "human"
    """A person, through a view."""
    MACHINE = "machine"
    """The engine: a method it runs, or a start, join or wait it records itself."""


class NodeKind(StrEnum):
    """What a node is, which decides how the walker drives its task (``PHASE_OF_KIND``).

    A task class names its kind in ``node_kind``; a callable without one is a ``METHOD``. A new
    kind is added here, in the walker's ``PHASE_OF_KIND`` and on its task class.
    """

    START = "start"
    """``tasks.Start``: code starts the instance (``MyWorkflow.start(...)``)."""
    START_VIEW = "start_view"
    """A ``StartView``: a form starts the instance; its URL has no task pk."""
    VIEW = "view"
    """A human task's view."""
    METHOD = "method"
    """A machine task: a method of the workflow class, run as a Temporal activity."""
    JOIN = "join"
    """``tasks.Join``: waits for its parents."""
    WAIT = "wait"
    """``tasks.Wait``: a Temporal timer."""
    SUBWORKFLOW = "subworkflow"
    """``tasks.Subworkflow``: instances of another class, each a Temporal child workflow."""
    EVENT = "event"
    """``tasks.Event``: waits until an event of its name is sent to the instance."""


START_KINDS = frozenset({NodeKind.START, NodeKind.START_VIEW})
"""An instance begins at a node of these kinds: its task has no parent task."""


class TaskStatus(StrEnum):
    """Where a task's row stands (``Task.status``); the values are joeflow's."""

    SCHEDULED = "scheduled"
    """Open: waits for a person, a timer, a join, or the engine to run it."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """A method (or a human task's ``create_task`` hook) raised; open until rerun or canceled."""
    CANCELED = "canceled"


class Node(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: TaskType
    kind: NodeKind
    wait: timedelta | None = None
    """How long a ``Wait`` node waits, measured from the creation of its task."""
    join: tuple[str, ...] = ()
    """The parents a ``Join`` node waits for."""
    local_activity: bool = False
    """A method that runs as a local activity (``tasks.local_activity``)."""
    due: timedelta | None = None
    """A human task's due date, after its creation (the row's ``due`` is the truth)."""
    remind_every: timedelta | None = None
    """A human task's reminder interval: ``on_task_reminder`` runs this often while it is open."""
    on_timeout: str | None = None
    """A human task's escalation: at its due date it is canceled and this node starts."""
    candidate_groups: tuple[str, ...] = ()
    """Names of the groups whose members may claim and complete a human task."""
    subworkflow: str | None = None
    """A ``Subworkflow`` node's child class label, ``app_label.modelname``."""
    event: str | None = None
    """The name of the event an ``Event`` node waits for."""


class Graph(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    """The workflow class label, ``app_label.modelname``."""
    nodes: dict[str, Node]
    edges: tuple[tuple[str, str], ...]
    hooks: tuple[str, ...] = ()
    """The human-work hooks the class defines (``on_task_created``, ``on_task_assigned``,
    ``on_task_reminder``): the walker runs only these (``WalkerConfig.notify_email``: all)."""

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {name: [] for name in self.nodes}
        for start, end in self.edges:
            children[start].append(end)
        return children

    def children(self, name: str) -> list[str]:
        """The nodes an edge leads to from ``name``, in the order the edges list them."""
        return self._children.get(name, [])

    def parents(self, name: str) -> list[str]:
        return [start for start, end in self.edges if end == name]

    def join_parents(self, name: str) -> tuple[str, ...]:
        """What a join waits for: the names it was given, or else every parent in the graph."""
        return self.nodes[name].join or tuple(self.parents(name))
