"""The workflow a Temporal Schedule starts at each firing of a ``Start(schedule=...)`` node.

It only hands the firing to the Django side (``START_SCHEDULED``), which creates the instance
through the node exactly once per firing, keyed by this workflow's id: Temporal makes that id of
the schedule's action id and the firing's scheduled time, so retries and duplicate runs of one
firing share it.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from joeflow_temporal.engine import names
from joeflow_temporal.engine.payloads import ScheduledStart, StartScheduled

START_TIMEOUT = timedelta(minutes=1)
"""start-to-close timeout of one attempt: a database transaction and one Temporal start."""
START_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))
"""Retried while the database or Temporal is away, or a worker lacks the class (a deploy)."""


@workflow.defn(name=names.SCHEDULED_START_TYPE)
class ScheduledStartWorkflow:
    @workflow.run
    async def run(self, request: ScheduledStart) -> int:
        """Create the firing's instance; return its pk."""
        return await workflow.execute_activity(
            names.START_SCHEDULED,
            StartScheduled(
                label=request.label, node=request.node, firing_id=workflow.info().workflow_id
            ),
            result_type=int,
            start_to_close_timeout=START_TIMEOUT,
            retry_policy=START_RETRY,
        )
