"""Temporal configuration bundled once, so the worker, the client and the replayer agree."""

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.plugin import SimplePlugin
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from joeflow_temporal.engine.walker import JoeflowWalker

PURE_MODULES = [
    "joeflow_temporal.engine.names",
    "joeflow_temporal.engine.payloads",
    "joeflow_temporal.engine.spec",
    "joeflow_temporal.engine.state",
]
"""Constants and pydantic models only: imported once, not again in the sandbox of every new run,
where building the models cost more than a short run does. The walker stays sandboxed."""


class EnginePlugin(SimplePlugin):
    """Pydantic payloads and the walker workflow; the Django side adds the activities."""

    def __init__(self, activities=None) -> None:
        super().__init__(
            "joeflow_temporal.EnginePlugin",
            data_converter=pydantic_data_converter,
            workflows=[JoeflowWalker],
            activities=activities,
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(
                    "pydantic", *PURE_MODULES
                )
            ),
        )
