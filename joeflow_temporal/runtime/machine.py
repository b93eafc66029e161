"""One machine step: call the task's method and read what it returned, as joeflow does.

``None`` (or anything not a list) follows every outgoing edge, a list of tasks (or their names)
follows those only, ``False`` means "not yet" (the walker polls again). What goes wrong here is
the task's own failure, recorded on its row, but a database outage or the activity's
cancellation, which Temporal retries.
"""

import inspect
from collections.abc import Iterable

from joeflow_temporal.exceptions import RETRIED


class TaskRaised(Exception):
    """A machine task's own exception (``error``), carried out of its transaction so that it
    rolls back."""

    def __init__(self, error: Exception):
        super().__init__(error)
        self.error = error


def run_method(workflow, task, node_names: list[str]) -> tuple[object, list[str] | None]:
    """Call ``task``'s method on ``workflow``: its result and the next tasks it chose.

    Args:
        workflow: the instance, as its workflow class.
        task: its ``Task`` row (the method gets it if it takes an argument).
        node_names: every task name of the class, to check a returned list against.

    Returns:
        ``(result, next_tasks)``: ``next_tasks`` as ``interpret_result`` reads ``result``.

    Raises:
        TaskRaised: the method (or its result) failed; the cause is its ``error``.
        OperationalError, InterfaceError, CancelledError: retried by Temporal, not the task's.
    """
    try:
        result = call_machine_task(workflow, task)
        return result, interpret_result(result, task.name, node_names)
    except RETRIED:
        raise
    except Exception as error:
        raise TaskRaised(error) from error


def call_machine_task(workflow, task):
    """``workflow.<task name>(task)``, or without the argument if the method takes none.

    Raises:
        LookupError: the class has no such method any more (a deploy removed it).
    """
    method = getattr(workflow, task.name, None)
    if not callable(method):
        raise LookupError(
            f"{type(workflow).__name__} has no task {task.name!r} any more; "
            "override the instance to move it on."
        )
    if inspect.signature(method).parameters:
        return method(task)
    return method()


def interpret_result(result, task_name: str, node_names: list[str]) -> list[str] | None:
    """Names of the next tasks a method chose, or None to follow every outgoing edge.

    Raises:
        TypeError: the method is a generator.
        ValueError: it returned a task the class does not have.
    """
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        return None
    if inspect.isgenerator(result):
        raise TypeError(f"Task {task_name!r} must not be a generator; return a list of tasks.")
    chosen = [chosen_name(item) for item in result]
    unknown = [name for name in chosen if name not in node_names]
    if unknown:
        raise ValueError(
            f"Task {task_name!r} returned {', '.join(map(repr, unknown))}, "
            f"which is not a task of this workflow ({', '.join(node_names)})."
        )
    return chosen


def chosen_name(item) -> str:
    """The name of a task a method returned: a name, a task object or a method."""
    if isinstance(item, str):
        return item
    return getattr(item, "name", "") or getattr(item, "__name__", repr(item))
