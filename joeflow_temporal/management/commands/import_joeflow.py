from django.core.management.base import CommandError

from joeflow_temporal.exceptions import TemporalUnavailable
from joeflow_temporal.joeflow_import import ImportRefused, JoeflowImport
from joeflow_temporal.management.commands._temporal import TemporalCommand

MAX_PROBLEMS_SHOWN = 20


class Command(TemporalCommand):
    """``manage.py import_joeflow [--dry-run] [--database ALIAS]``: a thin shim over
    ``joeflow_import.JoeflowImport``, which says what it copies and starts.

    Raises ``CommandError`` when joeflow's tables are missing or an instance cannot be imported
    (nothing is written), or when Temporal cannot be reached or the run is interrupted (the
    instances before stay imported; a second run goes on where it stopped).
    """

    help = (
        "Import a joeflow 2.x database: copy its workflows and tasks into joeflow_temporal's "
        "tables (keeping their ids) and start an execution for every running instance."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be imported and started; write nothing.",
        )
        parser.add_argument(
            "--database",
            default="default",
            help="The database holding joeflow's tables and joeflow_temporal's. Default: default",
        )

    def handle(self, *args, dry_run=False, database="default", verbosity=1, **options):
        importer = JoeflowImport(using=database)
        try:
            importer.check_tables()
        except ImportRefused as refused:
            raise CommandError(str(refused))
        total = importer.count()
        self.refuse_problems(importer)
        width = len(str(total))

        def report(position: int, line: str) -> None:
            if verbosity >= 1:
                self.stdout.write(f"[{position:>{width}}/{total}] {line}")

        if dry_run:
            self.dry_run(importer, report)
            return
        position = 0

        def imported(plan) -> None:
            nonlocal position
            position += 1
            report(position, plan.describe(done=True))

        try:
            summary = importer.run(importer.plans(), imported)
        except TemporalUnavailable as error:
            raise CommandError(
                f"{error} Imported {position} of {total} instances; the one after them was "
                "rolled back. Run import_joeflow again once Temporal is reachable: it goes on "
                "where it stopped."
            )
        except KeyboardInterrupt:
            raise CommandError(
                f"Interrupted. Imported {position} of {total} instances; the one after them was "
                "rolled back. Run import_joeflow again: it goes on where it stopped."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.started + summary.ended} of {total} instances: "
                f"{summary.started} running (executions started), {summary.ended} ended; "
                f"{summary.skipped} already imported."
            )
        )

    def refuse_problems(self, importer: JoeflowImport) -> None:
        """Check every instance before anything is written; refuse with all problems found."""
        problems = [
            f"{plan.name}: {problem}" for plan in importer.plans() for problem in plan.problems
        ]
        if problems:
            shown = problems[:MAX_PROBLEMS_SHOWN]
            more = len(problems) - len(shown)
            raise CommandError(
                "Nothing was imported:\n  "
                + "\n  ".join(shown)
                + (f"\n  … and {more} more" if more else "")
            )

    def dry_run(self, importer: JoeflowImport, report) -> None:
        started = ended = skipped = 0
        for position, plan in enumerate(importer.plans(), start=1):
            report(position, plan.describe(done=False))
            if plan.already_imported:
                skipped += 1
            elif plan.state is None:
                ended += 1
            else:
                started += 1
        self.stdout.write(
            f"Dry run: would import {started + ended} instances ({started} running, "
            f"{ended} ended); {skipped} already imported. Nothing was written."
        )
