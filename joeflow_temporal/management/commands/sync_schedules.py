from django.core.management.base import CommandError

from joeflow_temporal.management.commands._temporal import TemporalCommand
from joeflow_temporal.runtime.schedules import SyncFailed, report, sync


class Command(TemporalCommand):
    """``manage.py sync_schedules [--dry-run] [--task-queue Q]``: make the Temporal Schedules
    match the ``Start(schedule=...)`` nodes of the installed workflow classes (create, update,
    delete; ``runtime.schedules.sync_schedules``). ``temporal_worker`` runs it at start-up.

    Raises ``CommandError`` when Temporal cannot be reached or refuses a Schedule.
    """

    help = "Create, update and delete the Temporal Schedules of the scheduled start tasks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would change; change nothing."
        )
        parser.add_argument(
            "--task-queue", help="Task queue the firings run on (default: the setting)."
        )

    def handle(self, *args, dry_run=False, task_queue=None, verbosity=1, **options):
        try:
            changes = sync(task_queue, dry_run=dry_run)
        except SyncFailed as error:
            raise CommandError(str(error)) from error
        for line in report(changes, dry_run, verbosity):
            self.stdout.write(line)
