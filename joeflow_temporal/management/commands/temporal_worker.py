import asyncio
import signal

from django.core.management.base import CommandError

from joeflow_temporal import conf
from joeflow_temporal.management.commands._temporal import TemporalCommand
from joeflow_temporal.registry import get_workflows
from joeflow_temporal.runtime.client import connect
from joeflow_temporal.runtime.worker import running_worker


class Command(TemporalCommand):
    """``manage.py temporal_worker``: serve the walker and the activities of every installed
    workflow on ``JOEFLOW_TEMPORAL_TASK_QUEUE`` until SIGTERM or SIGINT, which lets running
    machine tasks finish (Temporal's graceful shutdown) before it exits.

    Raises ``CommandError`` when Temporal cannot be reached at ``JOEFLOW_TEMPORAL_ADDRESS``.
    """

    help = "Run a Temporal worker for every installed workflow; stops gracefully on SIGTERM/SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--task-queue", help="Task queue to poll (default: the setting).")
        parser.add_argument(
            "--max-concurrent-activities",
            type=int,
            default=20,
            help="Machine tasks and mirror writes run at once (threads). Default: 20.",
        )

    def handle(self, *args, task_queue=None, max_concurrent_activities=20, **options):
        task_queue = task_queue or conf.get("JOEFLOW_TEMPORAL_TASK_QUEUE")
        address = conf.get("JOEFLOW_TEMPORAL_ADDRESS")
        namespace = conf.get("JOEFLOW_TEMPORAL_NAMESPACE")
        try:
            asyncio.run(self.serve(address, namespace, task_queue, max_concurrent_activities))
        except RuntimeError as error:
            raise CommandError(f"Cannot connect to Temporal at {address}: {error}") from error

    async def serve(self, address, namespace, task_queue, max_concurrent_activities):
        client = await connect(address, namespace)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with running_worker(client, task_queue, max_concurrent_activities):
            workflows = ", ".join(w._meta.label_lower for w in get_workflows()) or "none installed"
            self.stdout.write(
                f"Worker polling task queue {task_queue!r} on {address} (namespace {namespace!r}); "
                f"workflows: {workflows}",
            )
            await stop.wait()
            self.stdout.write("Stopping: finishing running tasks…")
        self.stdout.write(self.style.SUCCESS("Worker stopped."))
