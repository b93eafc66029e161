"""The Django-free engine: a graph spec and the one generic Temporal workflow that walks it.

Everything in this package imports only the standard library, ``temporalio`` and ``pydantic``,
so the walker runs inside Temporal's workflow sandbox unmodified and a worker never needs Django
to replay history. The Django side (``joeflow_temporal.runtime``) does all the I/O.

This module re-exports the data only (names, spec, state, payloads); the walker and the plugin
are imported from their modules (``engine.walker``, ``engine.plugin``).
"""

from joeflow_temporal.engine import names
from joeflow_temporal.engine.payloads import (
    CancelRequest,
    CreateTask,
    MachineOutcome,
    OverrideRequest,
    RunMachineTask,
    TaskRef,
    WalkerConfig,
    WalkerInput,
    WorkflowRef,
)
from joeflow_temporal.engine.spec import Graph, Node
from joeflow_temporal.engine.state import OpenTask, Phase, WalkerState

__all__ = [
    "CreateTask",
    "Graph",
    "MachineOutcome",
    "Node",
    "OpenTask",
    "CancelRequest",
    "OverrideRequest",
    "Phase",
    "RunMachineTask",
    "TaskRef",
    "WalkerConfig",
    "WalkerInput",
    "WalkerState",
    "WorkflowRef",
    "names",
]
