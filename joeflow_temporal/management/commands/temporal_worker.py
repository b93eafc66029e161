import asyncio
import signal

from django.core.management.base import CommandError
from temporalio.service import RPCError

from joeflow_temporal import conf
from joeflow_temporal.management.commands._temporal import TemporalCommand
from joeflow_temporal.registry import get_workflows
from joeflow_temporal.runtime.client import connect
from joeflow_temporal.runtime.schedules import refused, report, sync_schedules
from joeflow_temporal.runtime.worker import running_worker


class Command(TemporalCommand):
    """``manage.py temporal_worker``: serve the walker and the activities of every installed
    workflow on ``JOEFLOW_TEMPORAL_TASK_QUEUE`` until SIGTERM or SIGINT, which lets running
    machine tasks finish (Temporal's graceful shutdown) before it exits. First it syncs the
    Temporal Schedules of the scheduled start tasks to its task queue (``sync_schedules``),
    unless ``--no-sync-schedules``.

    Raises ``CommandError`` when Temporal cannot be reached at ``JOEFLOW_TEMPORAL_ADDRESS``, or
    refuses a Schedule.
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
        parser.add_argument(
            "--no-sync-schedules",
            action="store_false",
            dest="sync_schedules",
            help="Do not sync the Temporal Schedules of scheduled start tasks at start-up "
            "(for a worker of another task queue than the one the schedules should use).",
        )

    def handle(
        self,
        *args,
        task_queue=None,
        max_concurrent_activities=20,
        sync_schedules=True,
        verbosity=1,
        **options,
    ):
        task_queue = task_queue or conf.get("JOEFLOW_TEMPORAL_TASK_QUEUE")
        address = conf.get("JOEFLOW_TEMPORAL_ADDRESS")
        namespace = conf.get("JOEFLOW_TEMPORAL_NAMESPACE")
        self.sync_verbosity = verbosity if sync_schedules else None
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
            if self.sync_verbosity is not None:
                await self.sync_schedules(client, task_queue)
            await stop.wait()
            self.stdout.write("Stopping: finishing running tasks…")
        self.stdout.write(self.style.SUCCESS("Worker stopped."))

    async def sync_schedules(self, client, task_queue):
        try:
            changes = await sync_schedules(client, task_queue)
        except RPCError as error:
            raise CommandError(refused(error)) from error
        for line in report(changes, verbosity=self.sync_verbosity):
            self.stdout.write(line)
