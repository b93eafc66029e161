"""The two kinds of task, as joeflow names them (``from joeflow_temporal.typing import HUMAN``).

A human task is a view a person completes; a machine task is code the engine runs. ``Task.type``
holds one of these; ``joeflow_temporal.tasks`` re-exports both. They are the members of the
engine's ``TaskType`` (strings, equal to joeflow's ``"human"`` and ``"machine"``).
"""

from joeflow_temporal.engine.spec import TaskType

HUMAN = TaskType.HUMAN
MACHINE = TaskType.MACHINE

__all__ = ["HUMAN", "MACHINE"]
