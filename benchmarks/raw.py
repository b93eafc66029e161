"""The raw temporalio baseline: a workflow of stages of activities, each a row increment.

Sandbox-safe (stdlib and temporalio only): the worker imports it into the workflow sandbox.
``stages=[1] * 10`` is a chain of ten; ``[8, 1]`` is eight concurrent activities, then one.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow

WORKFLOW_TYPE = "raw_stages"
INCREMENT = "raw_increment"
TIMEOUT = timedelta(minutes=5)


@workflow.defn(name=WORKFLOW_TYPE)
class RawStages:
    @workflow.run
    async def run(self, pk: int, stages: list[int], local: bool) -> int:
        for width in stages:
            await asyncio.gather(*(self.increment(pk, local) for _ in range(width)))
        return sum(stages)

    @staticmethod
    async def increment(pk: int, local: bool) -> None:
        if local:
            await workflow.execute_local_activity(INCREMENT, pk, start_to_close_timeout=TIMEOUT)
        else:
            await workflow.execute_activity(INCREMENT, pk, start_to_close_timeout=TIMEOUT)
