"""``manage.py test`` with a Temporal environment of its own (DESIGN "Testing your workflows")."""

import unittest

from django.test import TestCase, TransactionTestCase
from django.test.runner import DiscoverRunner
from django.test.utils import override_settings

from joeflow_temporal.testing.environment import TestEnvironment, sqlite_test_databases_in_files

PARALLEL_MESSAGE = (
    "joeflow_temporal.testing.TestRunner runs the tests in one process (--parallel={} "
    "ignored): its one worker could not reach the database of each parallel test process."
)


def commits_are_real(test_class: type) -> bool | None:
    """Whether tests of ``test_class`` commit for real: yes for a ``TransactionTestCase`` (the
    engine sees what it commits), no for a ``TestCase`` (rolled back), ``None`` for the rest
    (no database)."""
    if issubclass(test_class, TestCase):
        return False
    if issubclass(test_class, TransactionTestCase):
        return True
    return None


class TestRunner(DiscoverRunner):
    """Django's test runner, plus a Temporal environment for the whole run.

    ``TEST_RUNNER = "joeflow_temporal.testing.TestRunner"`` in the project's settings. Before
    the test databases are created it starts the bundled dev server (in memory, on a free
    loopback port: never a server the developer runs) and points ``JOEFLOW_TEMPORAL_ADDRESS``,
    ``_NAMESPACE`` and ``_TASK_QUEUE`` (a queue of its own) at it. A worker in this process
    serves that queue for ``TransactionTestCase`` tests, whose commits the engine sees;
    ``TestCase`` tests commit nothing, so their instances go to a queue no worker serves and
    the engine does nothing with them.
    After each test it terminates the executions the test left running (a rolled-back
    ``TestCase`` gives its primary keys, hence its instance ids, to the next test). At the end
    it stops the worker and the server.

    SQLite test databases that would live in memory go to a temporary file instead (see
    ``sqlite_test_databases_in_files``): the worker's threads share them with the test.

    ``--parallel`` greater than 1 is reduced to 1 with a message: the worker's activities use
    this process's database connections, and parallel test processes each have a database of
    their own.
    """

    __test__ = False  # not a test class, whatever pytest's name patterns say

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.temporal: TestEnvironment | None = None
        if self.parallel > 1:
            self.log(PARALLEL_MESSAGE.format(self.parallel))
            self.parallel = 1

    def setup_test_environment(self, **kwargs):
        super().setup_test_environment(**kwargs)
        try:
            self.temporal = TestEnvironment().start()
        except BaseException:
            super().teardown_test_environment(**kwargs)
            raise
        if self.verbosity >= 2:
            self.log(
                f"Temporal dev server at {self.temporal.address}, "
                f"worker on task queue {self.temporal.task_queue}."
            )

    def setup_databases(self, **kwargs):
        sqlite_test_databases_in_files()
        return super().setup_databases(**kwargs)

    def teardown_test_environment(self, **kwargs):
        try:
            if self.temporal is not None:
                self.temporal.stop()
                self.temporal = None
        finally:
            super().teardown_test_environment(**kwargs)

    def get_resultclass(self):
        environment = self.temporal
        base = super().get_resultclass() or unittest.TextTestResult

        class Result(base):
            def startTest(self, test):
                self.queue_override = None
                commits = commits_are_real(type(test))
                if commits is not None:
                    queue = environment.task_queue_for(commits)
                    self.queue_override = override_settings(JOEFLOW_TEMPORAL_TASK_QUEUE=queue)
                    self.queue_override.enable()
                super().startTest(test)

            def stopTest(self, test):
                if self.queue_override is not None:
                    self.queue_override.disable()
                environment.end_open_executions()
                super().stopTest(test)

        return Result
