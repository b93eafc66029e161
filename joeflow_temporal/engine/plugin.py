"""Temporal configuration bundled once, so the worker, the client and the replayer agree."""

from collections.abc import Callable, Sequence

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.plugin import SimplePlugin
from temporalio.worker import Interceptor
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from joeflow_temporal.engine.scheduled import ScheduledStartWorkflow
from joeflow_temporal.engine.walker import JoeflowWalker

PASSTHROUGH_MODULES = ["pydantic", "joeflow_temporal.engine"]
"""Imported once per worker process, not again in the sandbox of every new run: the engine's
own modules (constants, pydantic models, the walker) keep no state between runs, and building
the models again cost more than a short run does."""


class EnginePlugin(SimplePlugin):
    """The pydantic converter, the sandbox's passthrough, the walker workflow and the workflow
    that schedules start (``engine.scheduled``).

    The engine stays Django-free: the Django side passes its activities (and the worker
    interceptors that go with them); ``joeflow_temporal.runtime.worker.engine_plugin()`` is
    that full plugin, which the client, the worker, the replayer and the tests take.

    Args:
        activities: the activity functions the walker calls, by name (``engine.names``).
        interceptors: Temporal interceptors to add to the client, worker and replayer.
    """

    def __init__(
        self,
        activities: Sequence[Callable] | None = None,
        interceptors: Sequence[Interceptor] | None = None,
    ) -> None:
        super().__init__(
            "joeflow_temporal.EnginePlugin",
            data_converter=pydantic_data_converter,
            workflows=[JoeflowWalker, ScheduledStartWorkflow],
            activities=activities,
            interceptors=interceptors,
            workflow_runner=SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(
                    *PASSTHROUGH_MODULES
                )
            ),
        )
