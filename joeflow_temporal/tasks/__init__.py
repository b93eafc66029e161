"""The tasks a workflow is made of: human tasks are views, machine tasks are methods and these."""

from joeflow_temporal.tasks.human import StartView, UpdateView
from joeflow_temporal.tasks.machine import Join, Start, Wait, local_activity

__all__ = ["Join", "Start", "StartView", "UpdateView", "Wait", "local_activity"]
