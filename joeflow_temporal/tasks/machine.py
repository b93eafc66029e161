"""Machine tasks that are not methods: starting from code, joining branches, waiting."""

from datetime import timedelta
from functools import partial


class Start:
    """Start a new workflow instance from code.

    ``MyWorkflow.start(field=value)`` saves the instance with those fields, records the start
    task and starts the instance's Temporal execution, all in one database transaction.
    """

    type = "machine"
    node_kind = "start"
    name: str | None = None

    def __get__(self, instance, owner):
        return partial(owner.start_with, self.name)


class Join:
    """Wait for all named parent tasks (all parents when none are named), then continue."""

    type = "machine"
    node_kind = "join"
    name: str | None = None

    def __init__(self, *parents: str):
        self.parents = parents


class Wait:
    """Continue after ``duration``, measured from the creation of the task (a Temporal timer)."""

    type = "machine"
    node_kind = "wait"
    name: str | None = None

    def __init__(self, duration: timedelta):
        if not isinstance(duration, timedelta):
            raise TypeError("Wait takes a datetime.timedelta, e.g. Wait(timedelta(hours=3)).")
        self.duration = duration
