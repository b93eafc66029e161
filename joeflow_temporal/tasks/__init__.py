"""The tasks a workflow is made of: human tasks are views, machine tasks are methods and these.

``HUMAN`` and ``MACHINE`` name the two kinds of task, as in joeflow's ``tasks`` module.
"""

from joeflow_temporal.tasks.human import StartView, UpdateView
from joeflow_temporal.tasks.machine import Join, Start, Wait, local_activity
from joeflow_temporal.tasks.structure import Event, Subworkflow
from joeflow_temporal.typing import HUMAN, MACHINE

__all__ = [
    "HUMAN",
    "MACHINE",
    "Event",
    "Join",
    "Start",
    "StartView",
    "Subworkflow",
    "UpdateView",
    "Wait",
    "local_activity",
]
