"""Machine tasks that are not methods: starting from code, joining branches, waiting."""

from datetime import timedelta

from joeflow_temporal.engine.spec import NodeKind
from joeflow_temporal.typing import MACHINE


class Start:
    """Start a new workflow instance from code (joeflow's ``tasks.Start``).

    ``MyWorkflow.start(field=value)`` saves the instance with those fields, records the start
    task and starts the instance's Temporal execution, all in one database transaction, and
    returns the saved instance (``Workflow.start_with``: it raises ``TemporalUnavailable``,
    with nothing saved, when Temporal cannot be reached). With ``schedule``, a Temporal
    Schedule starts instances here too.
    """

    type = MACHINE
    node_kind = NodeKind.START
    name: str | None = None

    def __init__(self, schedule: str | timedelta | None = None):
        """``schedule`` also starts an instance here at set times, with the model's default
        field values: a cron string in UTC (Temporal's syntax, five fields or a macro such as
        ``@daily``) or a ``timedelta`` interval. ``manage.py sync_schedules`` makes it a
        Temporal Schedule (docs/scheduled-starts.md); system check E019 reports a bad value.

        Raises:
            TypeError: ``schedule`` is neither None, a string nor a ``datetime.timedelta``.
        """
        if schedule is not None and not isinstance(schedule, (str, timedelta)):
            raise TypeError(
                "Start(schedule=...) takes a cron string or a datetime.timedelta, e.g. "
                'Start(schedule="0 9 * * MON") or Start(schedule=timedelta(hours=6)).'
            )
        self.schedule = schedule

    def __get__(self, instance, owner):
        return BoundStart(self, owner)


class BoundStart:
    """``MyWorkflow.start``: call it to start an instance; in ``edges`` it stands for the task.

    As joeflow's ``Start`` read from the class, it has ``name``, ``type`` and ``workflow_cls``
    (the class it was read from, so a subclass that inherits the node starts its own instances)
    and equals the ``Start`` node itself.
    """

    def __init__(self, node: Start, workflow_cls):
        self.node = node
        self.name = node.name
        self.type = node.type
        self.workflow_cls = workflow_cls

    def __call__(self, **fields):
        """Save an instance with ``fields``, start it here and return it (``start_with``)."""
        return self.workflow_cls.start_with(self.name, fields)

    def __eq__(self, other):
        if isinstance(other, BoundStart):
            return (other.node, other.workflow_cls) == (self.node, self.workflow_cls)
        return other is self.node

    def __hash__(self):
        return hash(self.node)


class Join:
    """Wait for all named parent tasks (all parents when none are named), then continue.

    ``Join("a", "b")`` takes task names (system check E002 reports anything else); ``parents``
    is the set of names given, as in joeflow. The walker counts the arrivals in its state.
    """

    type = MACHINE
    node_kind = NodeKind.JOIN
    name: str | None = None

    def __init__(self, *parents: str):
        self.parents = set(parents)


class Wait:
    """Continue after ``duration``, measured from the creation of the task (a Temporal timer,
    so it survives worker restarts and deploys; joeflow's ``Wait``).

    Raises:
        TypeError: ``duration`` is not a ``datetime.timedelta``.
    """

    type = MACHINE
    node_kind = NodeKind.WAIT
    name: str | None = None

    def __init__(self, duration: timedelta):
        if not isinstance(duration, timedelta):
            raise TypeError("Wait takes a datetime.timedelta, e.g. Wait(timedelta(hours=3)).")
        self.duration = duration


def local_activity(method):
    """Run this machine task as a Temporal local activity, in the worker that runs the walker.

    It saves the round trip through the task queue (several times the throughput of a chain
    of short tasks); meant for methods that take seconds at most. The setting
    ``JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES`` does the same for every machine task.
    """
    method.local_activity = True
    return method
