"""Errors the Django side raises; the views translate them (503, 409)."""

import sys

from django.db import InterfaceError, OperationalError
from temporalio.exceptions import CancelledError

RETRIED = (OperationalError, InterfaceError, CancelledError)
"""What is never a task's failure: a database outage, or the activity canceled (its worker
stopping, its heartbeat lost). Raised on, so that Temporal runs the activity again."""

RUNNER_HINT = (
    " Tests need a Temporal server of their own: set "
    'TEST_RUNNER = "joeflow_temporal.testing.TestRunner" in your settings for '
    "`manage.py test`, or run pytest with pytest-django (the joeflow_temporal plugin, on "
    "unless `-p no:joeflow_temporal`); both start the bundled dev server and a worker for "
    "the test run."
)


def running_tests_without_environment() -> bool:
    """Django's test environment is set up (it installs ``mail.outbox``) but no joeflow-temporal
    test environment runs in this process."""
    from django.core import mail

    environment = sys.modules.get("joeflow_temporal.testing.environment")
    return hasattr(mail, "outbox") and (environment is None or not environment.active_environment())


class TemporalUnavailable(Exception):
    """Temporal could not be reached in time; nothing was written.

    Under Django's test environment without ``joeflow_temporal.testing``'s, the message says
    how to get a server for the tests (``RUNNER_HINT``).
    """

    def __init__(self, message: str = "Temporal is unreachable.") -> None:
        if running_tests_without_environment():
            message += RUNNER_HINT
        super().__init__(message)


class ExecutionIdTaken(TemporalUnavailable):
    """A running execution of another database has the new instance's id: nothing was written.

    Workflow ids are ``<label>.<pk>`` within a namespace, so two databases (two installations,
    a test run against the developer's server) sharing one namespace hand out the same ids.
    """


class InstanceNotRunning(Exception):
    """The instance's Temporal execution has ended (or never started): it takes no more signals."""


class TaskNotScheduled(Exception):
    """The task is no longer in a state for this action (completed, canceled, failed...)."""


class Refused(Exception):
    """A request refused, with a message for its user: what happened, and what to do.

    The task pages render it with ``status``; the API answers ``{"detail": message}`` with it
    (``code``: the error's code). See ``joeflow_temporal.refusals``.
    """

    def __init__(self, message: str, *, status: int = 409, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
