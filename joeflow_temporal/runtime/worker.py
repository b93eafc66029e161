"""The full Temporal plugin (the engine's plus the Django activities) and a running worker.

``engine_plugin()`` is the one place the configuration is assembled: the client (and so every
worker made from it), the replayer of the stored histories and the test environment all take it.
"""

from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import cache

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

from joeflow_temporal import conf
from joeflow_temporal.engine.plugin import EnginePlugin
from joeflow_temporal.runtime.activities import ACTIVITIES

GRACEFUL_SHUTDOWN = timedelta(seconds=10)
LOCAL_RETRY_THRESHOLD = timedelta(minutes=1)
"""The SDK's ``local_retry_threshold``, which the walker's local activities keep: a retry due
sooner waits in the worker's memory, a later one on a durable timer of the instance."""


class HandOverRetriesOnStop(Interceptor):
    """A stopping worker hands the retries of its failing local activities to Temporal.

    A worker stops once its workflow tasks are done, and a workflow task waits for its local
    activities, whose retries (mirror writes and database errors retry for ever, at most 30 s
    apart) wait in the worker's memory: a stop during a database outage would wait for its end.
    From the stop on, a failing attempt asks for its next one after ``LOCAL_RETRY_THRESHOLD``,
    which the SDK turns into a durable timer in the instance's history. The workflow task
    completes, the worker stops, and the next attempt runs on whichever worker is up then.
    """

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _HandOverOnStop(next)


class _HandOverOnStop(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput):
        try:
            return await self.next.execute_activity(input)
        except CancelledError:
            raise
        except Exception as error:
            if not (activity.info().is_local and activity.is_worker_shutdown()):
                raise
            if isinstance(error, ApplicationError) and error.non_retryable:
                raise
            raise ApplicationError(
                str(error),
                type=type(error).__name__,
                next_retry_delay=LOCAL_RETRY_THRESHOLD + timedelta(seconds=1),
            ) from error


@cache
def engine_plugin() -> EnginePlugin:
    """The engine's plugin with the Django activities and ``HandOverRetriesOnStop``: the pydantic
    converter, the sandbox's passthrough, the walker workflow and every activity it calls."""
    return EnginePlugin(activities=ACTIVITIES, interceptors=[HandOverRetriesOnStop()])


@asynccontextmanager
async def running_worker(
    client: Client,
    task_queue: str | None = None,
    max_concurrent_activities: int = 20,
    **worker_options,
):
    """Run a worker while the block runs, until it exits.

    Args:
        client: a client from ``runtime.client.connect`` (or ``get_client``): its plugin
            (``engine_plugin()``) gives the worker the walker and the activities.
        task_queue: the queue to serve; ``JOEFLOW_TEMPORAL_TASK_QUEUE`` if None.
        max_concurrent_activities: the size of the activities' thread pool (they use the
            Django ORM, which is synchronous).
        worker_options: more arguments of ``temporalio.worker.Worker`` (tests make
            nondeterminism fatal).

    Yields:
        The running ``temporalio.worker.Worker``.
    """
    with ThreadPoolExecutor(
        max_workers=max_concurrent_activities, thread_name_prefix="joeflow-activity"
    ) as executor:
        worker = Worker(
            client,
            task_queue=task_queue or conf.get("JOEFLOW_TEMPORAL_TASK_QUEUE"),
            activity_executor=executor,
            max_concurrent_activities=max_concurrent_activities,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
            **worker_options,
        )
        async with worker:
            yield worker
