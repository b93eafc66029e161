"""``wait_for_engine``: let the engine finish what it can do on its own, then assert."""

import time
from datetime import timedelta

from django.db import connections
from django.db.transaction import TransactionManagementError
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from joeflow_temporal import conf
from joeflow_temporal.engine import names
from joeflow_temporal.runtime import client as engine_client

POLL_INTERVAL = 0.05
"""Seconds between two looks at the engine."""
QUERY_TIMEOUT = timedelta(seconds=5)
"""How long one look may take (a query needs a worker to answer)."""


class EngineTimeout(AssertionError):
    """The engine still worked on an instance when ``wait_for_engine`` gave up.

    An ``AssertionError``, so a test runner reports it as a failure of the test.
    """


def wait_for_engine(instance=None, timeout: float = 30) -> None:
    """Return when the engine has nothing left to do on its own for ``instance`` (or for
    every instance that has not completed), so the test can look at the result.

    An instance is done when its execution has ended, or when every open task waits for a
    human, a timer, a join or a rerun, with no machine task running and no signal pending
    (the walker's ``idle`` query). Use it in ``TransactionTestCase`` /
    ``django_db(transaction=True)`` tests, whose commits the engine sees.

    Args:
        instance: a workflow instance (a saved ``Workflow`` subclass), or ``None`` for all
            instances whose ``completed`` is not set.
        timeout: seconds to wait in all.

    Raises:
        TransactionManagementError: called inside a transaction (``TestCase``, ``atomic()``):
            nothing is committed, so the engine cannot see the rows it would work on.
        EngineTimeout: an instance was still busy after ``timeout`` seconds (names it).
    """
    inside = [alias for alias in connections if connections[alias].in_atomic_block]
    if inside:
        raise TransactionManagementError(
            "wait_for_engine() was called inside a transaction (database "
            f"{', '.join(inside)}): nothing is committed, so the engine cannot see the rows "
            "it would work on. Use TransactionTestCase, or pytest's "
            "django_db(transaction=True) / the joeflow_worker fixture, instead of TestCase."
        )
    pending = {workflow.temporal_workflow_id for workflow in _instances(instance)}
    deadline = time.monotonic() + timeout
    while pending:
        pending -= {workflow_id for workflow_id in pending if _is_done(workflow_id)}
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise EngineTimeout(
                f"The engine was still working after {timeout} seconds on: "
                f"{', '.join(sorted(pending))}. Does a worker serve task queue "
                f"{conf.get('JOEFLOW_TEMPORAL_TASK_QUEUE')!r}, and do its machine tasks end?"
            )
        time.sleep(POLL_INTERVAL)


def _instances(instance) -> list:
    if instance is not None:
        return [instance]
    from joeflow_temporal.registry import get_workflows

    return [
        workflow
        for workflow_cls in get_workflows()
        for workflow in workflow_cls.instances().filter(completed__isnull=True)
    ]


def _is_done(workflow_id: str) -> bool:
    async def look(client: Client) -> bool:
        handle = client.get_workflow_handle(workflow_id)
        try:
            description = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
            if description.status != WorkflowExecutionStatus.RUNNING:
                return True
            return await handle.query(names.IDLE, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return True  # never started (or long gone): nothing runs it
            if error.status in engine_client.UNREACHABLE:
                return False
            raise

    async def run() -> bool:
        return await look(await engine_client.get_client())

    return engine_client.run(run(), timeout=3 * QUERY_TIMEOUT.total_seconds())
