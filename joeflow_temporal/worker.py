"""Worker assembly: the walker (from the client's engine plugin) plus the Django activities."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from joeflow_temporal import conf
from joeflow_temporal.activities import ACTIVITIES

GRACEFUL_SHUTDOWN = timedelta(seconds=10)


@asynccontextmanager
async def running_worker(
    client: Client,
    task_queue: str | None = None,
    max_concurrent_activities: int = 20,
    **worker_options,
):
    """Run a worker while the block runs; the client must come from ``client.connect``.

    Activities run on a thread pool (they use the Django ORM, which is synchronous).
    ``worker_options`` go to ``temporalio.worker.Worker`` (tests make nondeterminism fatal).
    """
    with ThreadPoolExecutor(
        max_workers=max_concurrent_activities, thread_name_prefix="joeflow-activity"
    ) as executor:
        worker = Worker(
            client,
            task_queue=task_queue or conf.get("JOEFLOW_TEMPORAL_TASK_QUEUE"),
            activities=ACTIVITIES,
            activity_executor=executor,
            max_concurrent_activities=max_concurrent_activities,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
            **worker_options,
        )
        async with worker:
            yield worker
