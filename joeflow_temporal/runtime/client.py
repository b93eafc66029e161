"""The Temporal client used from sync Django code.

One daemon thread runs one event loop that owns the client, so a request never opens a new
connection; sync code hands coroutines to that loop and waits with a timeout. Calls made while a
user waits (start, signals) have a short timeout and raise ``TemporalUnavailable`` when Temporal
cannot be reached, so the caller's transaction rolls back and nothing is written.
"""

import asyncio
import gc
import logging
import os
import sys
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from typing import NoReturn

from django.db import router
from django.db import transaction as db_transaction
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from joeflow_temporal import conf
from joeflow_temporal.engine import WalkerConfig, WalkerInput, WalkerState, WorkflowRef, names
from joeflow_temporal.exceptions import (
    ExecutionIdTaken,
    InstanceNotRunning,
    TemporalUnavailable,
    running_tests_without_environment,
)

logger = logging.getLogger(__name__)

SEARCH_ATTRIBUTE = SearchAttributeKey.for_keyword(names.SEARCH_ATTRIBUTE)
LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker name Temporal's SDK core records for each local activity."""
UNREACHABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}


async def connect(address: str, namespace: str, *, fail_fast: bool = False) -> Client:
    """Connect with the full plugin (``runtime.worker.engine_plugin()``: converter, walker,
    activities), and register the search attribute on the namespace if it is missing.

    Args:
        address: ``host:port`` of the Temporal frontend.
        namespace: the Temporal namespace.
        fail_fast: give up after about 3 seconds (a request waits) instead of retrying.

    Raises:
        RuntimeError: the connection failed.
        RPCError: the search attribute could not be listed or added.
    """
    # Imported here: ``models`` imports this module, and the worker's activities import ``models``.
    from joeflow_temporal.runtime.worker import engine_plugin

    retry = RetryConfig(max_retries=2, max_elapsed_time_millis=3000) if fail_fast else None
    client = await Client.connect(
        address, namespace=namespace, plugins=[engine_plugin()], retry_config=retry
    )
    await ensure_search_attribute(client)
    return client


async def ensure_search_attribute(client: Client) -> None:
    namespace = client.namespace
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    if names.SEARCH_ATTRIBUTE in listed.custom_attributes:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={
                    names.SEARCH_ATTRIBUTE: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                },
            )
        )
    except RPCError as error:
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            raise


class _Engine:
    """The event loop thread and the clients it owns, one per (address, namespace)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[tuple[str, str], Client] = {}

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name="joeflow-temporal-client", daemon=True
                ).start()
            return self._loop

    def run(self, coroutine, timeout: float | None = None):
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TemporalUnavailable(
                f"Temporal did not answer within {timeout} seconds."
            ) from None

    async def client(self, address: str, namespace: str) -> Client:
        key = (address, namespace)
        if key not in self._clients:
            self._clients[key] = await connect(address, namespace, fail_fast=True)
        return self._clients[key]


_engine = _Engine()


def forget_client(address: str, namespace: str) -> None:
    """Drop the cached client of ``address`` and ``namespace`` and free it now.

    For a server that is gone (the test environment's, at the end of the run): freed while the
    interpreter is alive, the SDK's threads never call into a finalizing one, which aborted
    the process now and then (temporalio/sdk-python#300).
    """
    _engine._clients.pop((address, namespace), None)
    gc.collect()


def run(coroutine, timeout: float | None = None):
    """Run a coroutine on the client's event loop and return its result (for sync code).

    ``timeout`` in seconds (None: no limit); past it, ``concurrent.futures.TimeoutError``.
    The coroutine's own exceptions propagate.
    """
    return _engine.run(coroutine, timeout)


async def get_client() -> Client:
    """The shared ``temporalio.client.Client`` for ``JOEFLOW_TEMPORAL_ADDRESS`` and
    ``JOEFLOW_TEMPORAL_NAMESPACE``, connected on first use; await it on the loop (``run``).

    Raises:
        RuntimeError: the first connection failed (Temporal's SDK).
    """
    return await _engine.client(
        conf.get("JOEFLOW_TEMPORAL_ADDRESS"), conf.get("JOEFLOW_TEMPORAL_NAMESPACE")
    )


def _call(make_call):
    """Run ``make_call(client, rpc_timeout)`` on the loop; translate 'cannot reach Temporal'.

    Under Django's test environment without ``joeflow_temporal.testing``'s it calls nothing:
    the configured server may be a developer's, whose worker would act on the test database's
    rows (and whose instances have the same ids).
    """
    if running_tests_without_environment():
        raise TemporalUnavailable(
            "Tests do not call the Temporal server of JOEFLOW_TEMPORAL_ADDRESS "
            f"({conf.get('JOEFLOW_TEMPORAL_ADDRESS')}): it may be a developer's, whose worker "
            "would act on the test database."
        )
    rpc_timeout = conf.get("JOEFLOW_TEMPORAL_RPC_TIMEOUT")

    async def call():
        try:
            return await make_call(await get_client(), rpc_timeout)
        except RPCError as error:
            if error.status in UNREACHABLE:
                raise TemporalUnavailable(f"Temporal is unreachable: {error.message}") from error
            if error.status == RPCStatusCode.NOT_FOUND:
                raise InstanceNotRunning(error.message) from error
            raise
        except RuntimeError as error:  # the first connect failed
            raise TemporalUnavailable(f"Temporal is unreachable: {error}") from error

    return run(call(), timeout=3 * rpc_timeout.total_seconds() + 5)


def walker_config() -> WalkerConfig:
    """The settings the walker needs, read now (each execution keeps the ones it started with)."""
    return WalkerConfig(
        poll_interval=conf.get("JOEFLOW_TEMPORAL_POLL_INTERVAL"),
        poll_max_interval=conf.get("JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL"),
        task_timeout=conf.get("JOEFLOW_TEMPORAL_TASK_TIMEOUT"),
        heartbeat_timeout=conf.get("JOEFLOW_TEMPORAL_HEARTBEAT_TIMEOUT"),
        confirm_timeout=conf.get("JOEFLOW_TEMPORAL_CONFIRM_TIMEOUT"),
        local_activities=conf.get("JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES"),
        notify_email=bool(conf.get("JOEFLOW_TEMPORAL_NOTIFY_EMAIL")),
    )


def start_workflow(workflow, start_task, state: WalkerState | None = None) -> None:
    """Start the instance's execution at ``start_task`` (or, given ``state``, at its open tasks),
    with the class's graph (``get_graph_spec()``) and the settings of ``walker_config()``.

    A running execution with the instance's id is replaced when it was started for these very
    rows (an import run again) or never confirmed its start (a start that rolled back, whose
    pk the new row got again); any other is left alone and the start refused.

    Raises:
        TemporalUnavailable: Temporal could not be reached in time.
        ExecutionIdTaken: a running execution of another database has this id.
    """
    label = workflow._meta.label_lower
    walker_input = WalkerInput(
        graph=workflow.get_graph_spec(),
        workflow=WorkflowRef(label=label, pk=workflow.pk),
        start_task_id=start_task.pk,
        start_node=start_task.name,
        start_task_key=start_task.key,
        config=walker_config(),
        state=state,
    )
    task_queue = conf.get("JOEFLOW_TEMPORAL_TASK_QUEUE")

    async def start(client: Client, rpc_timeout):
        async def attempt(conflict_policy: WorkflowIDConflictPolicy):
            await client.start_workflow(
                names.WORKFLOW_TYPE,
                walker_input,
                id=workflow.temporal_workflow_id,
                task_queue=task_queue,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(SEARCH_ATTRIBUTE, label)]
                ),
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                id_conflict_policy=conflict_policy,
                rpc_timeout=rpc_timeout,
            )

        try:
            await attempt(WorkflowIDConflictPolicy.FAIL)
        except WorkflowAlreadyStartedError:
            handle = client.get_workflow_handle(workflow.temporal_workflow_id)
            if not await replaceable(client, handle, start_task.key, rpc_timeout):
                raise ExecutionIdTaken(
                    f"Execution {workflow.temporal_workflow_id} already runs in Temporal "
                    f"namespace {client.namespace!r} for an instance this database does not "
                    "have: another database (another installation, or a test run) uses the "
                    "same namespace. Give each database its own JOEFLOW_TEMPORAL_NAMESPACE."
                ) from None
            await attempt(WorkflowIDConflictPolicy.TERMINATE_EXISTING)

    _call(start)


UNCONFIRMED_START_EVENTS = 50
"""A start that never committed shows its confirmation pending within its first few events."""


async def replaceable(client: Client, handle, start_task_key: str, rpc_timeout) -> bool:
    """Whether the running execution ``handle`` may give way to a start of ``start_task_key``.

    Yes when it was started for the same start row (same key: an import run again after an
    interruption), or when it is still waiting to confirm a start nobody committed (a rolled-
    back start whose pk is handed out again): nothing but a completed activity (or local
    activity) can follow that confirmation. Read from its history: no worker is needed.
    """
    events = handle.fetch_history_events(
        page_size=UNCONFIRMED_START_EVENTS, rpc_timeout=rpc_timeout
    )
    async for event in events:
        if event.HasField("workflow_execution_started_event_attributes"):
            started = event.workflow_execution_started_event_attributes
            [existing] = await client.data_converter.decode(started.input.payloads, [WalkerInput])
            if existing.start_task_key == start_task_key:
                return True
            if started.continued_execution_run_id or existing.state is not None:
                return False  # it did not begin with a start to confirm
        elif event.HasField("activity_task_completed_event_attributes") or (
            event.HasField("marker_recorded_event_attributes")
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            return False  # confirmed, and working
        elif event.event_id > UNCONFIRMED_START_EVENTS:
            return False
    return True


def signal(workflow, name: str, *args) -> None:
    """Send the signal ``name`` (``engine.names``) with ``args`` to the instance's execution.

    Send it inside the transaction that wrote what it announces: if Temporal refuses, the
    error rolls the transaction back; the walker confirms the commit before it acts.

    Raises:
        TemporalUnavailable: Temporal could not be reached within ``JOEFLOW_TEMPORAL_RPC_TIMEOUT``.
        InstanceNotRunning: the execution has ended (or never existed).
    """

    async def send(client: Client, rpc_timeout):
        handle = client.get_workflow_handle(workflow.temporal_workflow_id)
        await handle.signal(name, args=list(args), rpc_timeout=rpc_timeout)

    _call(send)


def exit_process(code: int = 0) -> NoReturn:
    """End a command that used Temporal, skipping interpreter finalization.

    The SDK's Rust threads can call into Python while the interpreter finalizes and abort it
    (``PyGILState_Release``, temporalio/sdk-python#300), which turned clean stops into exit
    code -6. Everything worth keeping is flushed and closed first.
    """
    from django.db import connections

    connections.close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def query_state(workflow) -> dict:
    """The walker's ``state`` query (``WalkerState`` as JSON data); ``Workflow.get_engine_state``.

    Raises:
        TemporalUnavailable: Temporal could not be reached.
        InstanceNotRunning: no execution has the instance's id.
    """

    async def query(client: Client, rpc_timeout):
        handle = client.get_workflow_handle(workflow.temporal_workflow_id)
        state = await handle.query(names.STATE, rpc_timeout=rpc_timeout)
        return state

    return _call(query)


SYNC_FIRST_PAUSE = 0.005
SYNC_MAX_PAUSE = 0.02
"""Seconds between two ``followed`` queries: doubling, so a quick engine answers quickly."""


def sync_timeout(workflow) -> float | None:
    """Seconds to wait for the engine after a commit, or None when waiting is off or useless.

    Inside an outer transaction the engine cannot see the rows just written (they commit
    later, or never: a ``TestCase``), so there is nothing to wait for.
    """
    timeout = conf.get("JOEFLOW_TEMPORAL_SYNC_TIMEOUT")
    if isinstance(timeout, timedelta):
        timeout = timeout.total_seconds()
    if not timeout or timeout <= 0 or running_tests_without_environment():
        return None
    using = router.db_for_write(type(workflow), instance=workflow)
    if db_transaction.get_connection(using).in_atomic_block:
        return None
    return float(timeout)


def wait_followed(workflow, task_id: int) -> bool:
    """Wait until the engine has handled what was committed for ``task_id`` and mirrored the
    tasks that directly follow it (DESIGN "Synchronous bookkeeping").

    Bounded by ``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``; returns False when it stopped waiting (timeout,
    Temporal unreachable, the execution gone, a worker from before this query): never an
    error, because the commit is the truth and the engine goes on by itself.
    """

    async def followed(handle, remaining: float) -> bool:
        return await handle.query(names.FOLLOWED, task_id, rpc_timeout=timedelta(seconds=remaining))

    return _wait(workflow, followed)


def wait_ended(workflow) -> bool:
    """Wait, bounded like ``wait_followed``, until the instance's execution has closed."""

    async def ended(handle, remaining: float) -> bool:
        description = await handle.describe(rpc_timeout=timedelta(seconds=remaining))
        return description.close_time is not None

    return _wait(workflow, ended)


def _wait(workflow, check) -> bool:
    timeout = sync_timeout(workflow)
    if timeout is None:
        return False

    async def poll() -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        handle = (await get_client()).get_workflow_handle(workflow.temporal_workflow_id)
        pause = SYNC_FIRST_PAUSE
        while not await check(handle, max(deadline - loop.time(), 0.05)):
            if loop.time() + pause >= deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(2 * pause, SYNC_MAX_PAUSE)
        return True

    try:
        return run(poll(), timeout=timeout + 1)
    except Exception as error:  # after the commit nothing may fail: the engine catches up
        logger.debug("Stopped waiting for %s: %s", workflow.temporal_workflow_id, error)
        return False
