"""The Temporal client used from sync Django code.

One daemon thread runs one event loop that owns the client, so a request never opens a new
connection; sync code hands coroutines to that loop and waits with a timeout. Calls made while a
user waits (start, signals) have a short timeout and raise ``TemporalUnavailable`` when Temporal
cannot be reached, so the caller's transaction rolls back and nothing is written.
"""

import asyncio
import os
import sys
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import NoReturn

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from joeflow_temporal import conf
from joeflow_temporal.engine import EnginePlugin, WalkerInput, WalkerState, WorkflowRef, names
from joeflow_temporal.exceptions import InstanceNotRunning, TemporalUnavailable

SEARCH_ATTRIBUTE = SearchAttributeKey.for_keyword(names.SEARCH_ATTRIBUTE)
UNREACHABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}


async def connect(address: str, namespace: str, *, fail_fast: bool = False) -> Client:
    """Connect with the engine's converter, and register the search attribute if missing."""
    retry = RetryConfig(max_retries=2, max_elapsed_time_millis=3000) if fail_fast else None
    client = await Client.connect(
        address, namespace=namespace, plugins=[EnginePlugin()], retry_config=retry
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


def run(coroutine, timeout: float | None = None):
    """Run a coroutine on the client's event loop and return its result (for sync code)."""
    return _engine.run(coroutine, timeout)


async def get_client() -> Client:
    """The shared client for the configured address and namespace (await it on the loop)."""
    return await _engine.client(
        conf.get("JOEFLOW_TEMPORAL_ADDRESS"), conf.get("JOEFLOW_TEMPORAL_NAMESPACE")
    )


def _call(make_call):
    """Run ``make_call(client, rpc_timeout)`` on the loop; translate 'cannot reach Temporal'."""
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


def start_workflow(workflow, start_task, config, state: WalkerState | None = None) -> None:
    """Start the instance's execution at ``start_task`` (or, given ``state``, at its open tasks).

    Raises:
        TemporalUnavailable: Temporal could not be reached in time.
        WorkflowAlreadyStartedError: an execution with the instance's id is running.
    """
    label = workflow.label()
    walker_input = WalkerInput(
        graph=workflow.get_graph_spec(),
        workflow=WorkflowRef(label=label, pk=workflow.pk),
        start_task_id=start_task.pk,
        start_node=start_task.name,
        config=config,
        state=state,
    )
    task_queue = conf.get("JOEFLOW_TEMPORAL_TASK_QUEUE")

    async def start(client: Client, rpc_timeout):
        await client.start_workflow(
            names.WORKFLOW_TYPE,
            walker_input,
            id=workflow.temporal_workflow_id,
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(SEARCH_ATTRIBUTE, label)]),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            rpc_timeout=rpc_timeout,
        )

    _call(start)


def running_input(workflow) -> WalkerInput | None:
    """The input the instance's running execution was started with; None if none runs."""

    async def fetch(client: Client, rpc_timeout):
        handle = client.get_workflow_handle(workflow.temporal_workflow_id)
        description = await handle.describe(rpc_timeout=rpc_timeout)
        if description.status != WorkflowExecutionStatus.RUNNING:
            return None
        async for event in handle.fetch_history_events(rpc_timeout=rpc_timeout):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [started_with] = await client.data_converter.decode(payloads, [WalkerInput])
            return started_with
        return None

    try:
        return _call(fetch)
    except InstanceNotRunning:
        return None


def signal(workflow, name: str, arg=None) -> None:
    args = [] if arg is None else [arg]

    async def send(client: Client, rpc_timeout):
        handle = client.get_workflow_handle(workflow.temporal_workflow_id)
        await handle.signal(name, *args, rpc_timeout=rpc_timeout)

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
    async def query(client: Client, rpc_timeout):
        handle = client.get_workflow_handle(workflow.temporal_workflow_id)
        state = await handle.query(names.STATE, rpc_timeout=rpc_timeout)
        return state

    return _call(query)
