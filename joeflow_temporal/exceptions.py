"""Errors the Django side raises; the views translate them (503, 409)."""


class TemporalUnavailable(Exception):
    """Temporal could not be reached in time; nothing was written."""


class InstanceNotRunning(Exception):
    """The instance's Temporal execution has ended (or never started): it takes no more signals."""


class TaskNotScheduled(Exception):
    """The task is no longer in a state for this action (completed, canceled, failed...)."""
