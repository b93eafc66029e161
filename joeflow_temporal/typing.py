"""The two kinds of task, as joeflow names them (``from joeflow_temporal.typing import HUMAN``).

A human task is a view a person completes; a machine task is code the engine runs. ``Task.type``
holds one of these; ``joeflow_temporal.tasks`` re-exports both.
"""

HUMAN = "human"
MACHINE = "machine"

__all__ = ["HUMAN", "MACHINE"]
