"""The base of the commands that use a Temporal client or worker."""

import traceback

from django.core.management.base import BaseCommand

from joeflow_temporal.runtime.client import exit_process


class TemporalCommand(BaseCommand):
    """A command that, run from the command line, ends through ``exit_process``.

    The SDK's Rust threads outlive a Temporal client or worker and may call into Python while
    the interpreter finalizes, which aborts it (exit code -6 instead of 0 or 1, after an error
    message as much as after a clean stop). ``call_command`` (tests) returns as usual.
    """

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        except SystemExit as exit:  # Django's way out after printing a CommandError
            exit_process(exit.code if isinstance(exit.code, int) else 1)
        except KeyboardInterrupt:
            exit_process(130)
        except Exception:
            traceback.print_exc()
            exit_process(1)
        exit_process(0)
