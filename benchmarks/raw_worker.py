"""The raw baseline's worker process: ``python -m benchmarks.raw_worker``.

Configured like ``manage.py temporal_worker`` (20 activity threads, the same settings and
database connection handling), so the two differ only in what runs inside them.
"""

import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
django.setup()

from django.db import close_old_connections, transaction  # noqa: E402
from temporalio import activity  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from benchmarks.benchapp.models import Counter  # noqa: E402
from benchmarks.raw import INCREMENT, RawStages  # noqa: E402
from joeflow_temporal.runtime.client import exit_process  # noqa: E402

ACTIVITY_THREADS = 20


@activity.defn(name=INCREMENT)
def increment(pk: int) -> None:
    """What a joeflow machine step does to the row: lock, increment, save, one transaction."""
    close_old_connections()
    try:
        with transaction.atomic():
            counter = Counter.objects.select_for_update().get(pk=pk)
            counter.count += 1
            counter.save(update_fields=["count"])
    finally:
        close_old_connections()


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    with ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="raw-activity") as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[RawStages],
            activities=[increment],
            activity_executor=executor,
            max_concurrent_activities=ACTIVITY_THREADS,
        ):
            print(f"Worker polling task queue {task_queue!r}", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(os.environ["JOEFLOW_TEMPORAL_ADDRESS"], os.environ["RAW_TASK_QUEUE"]))
    exit_process(0)
