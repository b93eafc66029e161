"""Temporal Schedules for the ``Start(schedule=...)`` nodes, made to match the code.

Each scheduled start node has one Schedule, id ``<app_label>.<model_name>.<node>``, whose action
starts the small ``joeflow.scheduled_start`` workflow (``engine.scheduled``); that workflow's
activity creates the instance through the node, once per firing. ``sync_schedules`` creates,
updates and deletes Schedules so they match the installed classes; it touches only Schedules
whose id starts with an installed workflow class's label and a dot.
"""

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from joeflow_temporal.cron import describe_schedule
from joeflow_temporal.engine import names
from joeflow_temporal.engine.payloads import ScheduledStart
from joeflow_temporal.engine.spec import NodeKind

if TYPE_CHECKING:
    from joeflow_temporal.models import Workflow

FINGERPRINT = "joeflow_schedule"
"""Key of the action memo that records what ``sync_schedules`` made the Schedule from."""
FORMAT = 1
"""Bumped whenever this module builds Schedules differently, so every one is updated."""
NOTE = "Managed by joeflow_temporal: manage.py sync_schedules creates, updates and deletes it."


@dataclasses.dataclass(frozen=True)
class ScheduledNode:
    """A ``Start(schedule=...)`` node of an installed workflow class."""

    workflow: "type[Workflow]"
    node: str
    schedule: str | timedelta

    @property
    def id(self) -> str:
        return names.schedule_id(self.workflow._meta.label_lower, self.node)

    def fingerprint(self, task_queue: str) -> str:
        """What the Schedule is made from: another value means it must be updated."""
        return f"v{FORMAT} {describe_schedule(self.schedule)!r} on {task_queue}"

    def to_schedule(self, task_queue: str, state: ScheduleState | None = None) -> Schedule:
        """The Temporal Schedule of the node: its action starts ``joeflow.scheduled_start`` on
        ``task_queue`` with the id ``<schedule id>`` (Temporal appends each firing's time).

        Every firing starts its own instance (``ALLOW_ALL``: one still running never makes
        Temporal skip the next); missed firings are caught up within Temporal's default window.
        """
        label = self.workflow._meta.label_lower
        if isinstance(self.schedule, timedelta):
            spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=self.schedule)])
        else:
            spec = ScheduleSpec(cron_expressions=[self.schedule.strip()])
        return Schedule(
            action=ScheduleActionStartWorkflow(
                names.SCHEDULED_START_TYPE,
                ScheduledStart(label=label, node=self.node),
                id=self.id,
                task_queue=task_queue,
                memo={FINGERPRINT: self.fingerprint(task_queue)},
            ),
            spec=spec,
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL),
            state=state or ScheduleState(note=NOTE),
        )


def scheduled_nodes() -> dict[str, ScheduledNode]:
    """Every scheduled start node of the installed workflow classes, by Schedule id."""
    from joeflow_temporal.registry import get_workflows

    nodes = {}
    for workflow in get_workflows():
        for name, node in workflow.get_nodes():
            schedule = getattr(node, "schedule", None)
            if getattr(node, "node_kind", None) == NodeKind.START and schedule is not None:
                scheduled = ScheduledNode(workflow, name, schedule)
                nodes[scheduled.id] = scheduled
    return nodes


def managed(schedule_id: str, labels: set[str]) -> bool:
    """Whether ``sync_schedules`` owns the Schedule: its id is an installed class's label, a
    dot and a name (any other Schedule of the namespace is someone else's)."""
    label, dot, node = schedule_id.rpartition(".")
    return bool(dot and node) and label in labels


@dataclasses.dataclass(frozen=True)
class Change:
    """What ``sync_schedules`` did (or, in a dry run, would do) to one Schedule."""

    action: Literal["create", "update", "delete", "keep"]
    schedule_id: str
    schedule: str = ""
    """The schedule for people (``describe_schedule``); empty for a deletion."""


async def sync_schedules(client: Client, task_queue: str, dry_run: bool = False) -> list[Change]:
    """Create, update and delete Temporal Schedules so they match the scheduled start nodes.

    Args:
        client: a client with the engine's plugin (``runtime.client.connect``).
        task_queue: the queue the firings' workflows run on (the workers').
        dry_run: only say what would change.

    Returns:
        One ``Change`` per managed Schedule, sorted by id (``keep`` for those already right).
        A Schedule an operator paused stays paused through an update.

    Raises:
        RPCError: Temporal refused a call (unreachable, or a spec it does not accept).
    """
    from joeflow_temporal.registry import get_workflows

    wanted = scheduled_nodes()
    labels = {workflow._meta.label_lower for workflow in get_workflows()}
    changes = [await sync_one(client, node, task_queue, dry_run) for node in wanted.values()]
    async for listed in await client.list_schedules():
        if listed.id not in wanted and managed(listed.id, labels):
            if not dry_run:
                await delete(client, listed.id)
            changes.append(Change("delete", listed.id))
    return sorted(changes, key=lambda change: change.schedule_id)


async def sync_one(client: Client, node: ScheduledNode, task_queue: str, dry_run: bool) -> Change:
    handle = client.get_schedule_handle(node.id)
    schedule = describe_schedule(node.schedule)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        if dry_run:
            return Change("create", node.id, schedule)
        try:
            await client.create_schedule(node.id, node.to_schedule(task_queue))
        except ScheduleAlreadyRunningError:  # another worker's sync, just now: compare
            return await sync_one(client, node, task_queue, dry_run)
        return Change("create", node.id, schedule)
    action = description.schedule.action
    memo = getattr(action, "memo", None) or {}
    current = memo.get(FINGERPRINT)
    if current is not None and not isinstance(current, str):
        current = client.data_converter.payload_converter.from_payload(current, str)
    if current == node.fingerprint(task_queue):
        return Change("keep", node.id, schedule)
    if not dry_run:

        def update(input: ScheduleUpdateInput) -> ScheduleUpdate:
            state = input.description.schedule.state
            return ScheduleUpdate(schedule=node.to_schedule(task_queue, state))

        await handle.update(update)
    return Change("update", node.id, schedule)


async def delete(client: Client, schedule_id: str) -> None:
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:  # deleted since it was listed
            raise


SYNC_TIMEOUT = 120.0
"""Seconds ``sync`` waits for Temporal in all (a few calls per scheduled start node)."""


class SyncFailed(Exception):
    """Temporal could not be reached, or refused a Schedule; the message says which."""


def sync(task_queue: str | None = None, dry_run: bool = False) -> list[Change]:
    """``sync_schedules`` from sync code, with the shared client (``runtime.client``): what
    ``manage.py sync_schedules`` runs.

    Args:
        task_queue: the firings' queue; ``JOEFLOW_TEMPORAL_TASK_QUEUE`` if None.
        dry_run: only say what would change.

    Raises:
        SyncFailed: Temporal is unreachable at ``JOEFLOW_TEMPORAL_ADDRESS`` or refused a call;
            the Schedules already done stay done (running it again finishes the job).
    """
    from joeflow_temporal import conf
    from joeflow_temporal.exceptions import TemporalUnavailable, running_tests_without_environment
    from joeflow_temporal.runtime import client

    if running_tests_without_environment():
        raise SyncFailed(
            "Tests do not sync the schedules of JOEFLOW_TEMPORAL_ADDRESS "
            f"({conf.get('JOEFLOW_TEMPORAL_ADDRESS')}): it may be a developer's server."
        )
    queue = task_queue or conf.get("JOEFLOW_TEMPORAL_TASK_QUEUE")

    async def call() -> list[Change]:
        return await sync_schedules(await client.get_client(), queue, dry_run)

    try:
        return client.run(call(), timeout=SYNC_TIMEOUT)
    except (TemporalUnavailable, RuntimeError, TimeoutError) as error:
        raise SyncFailed(unreachable(error)) from error
    except RPCError as error:
        raise SyncFailed(refused(error)) from error


def unreachable(error: BaseException) -> str:
    from joeflow_temporal import conf

    return (
        f"Temporal is unreachable at {conf.get('JOEFLOW_TEMPORAL_ADDRESS')} "
        f"(namespace {conf.get('JOEFLOW_TEMPORAL_NAMESPACE')!r}): {error or type(error).__name__}"
    )


def refused(error: RPCError) -> str:
    from joeflow_temporal.runtime.client import UNREACHABLE

    if error.status in UNREACHABLE:
        return unreachable(error)
    return f"Temporal refused to sync the schedules: {error.message}"


def report(changes: list[Change], dry_run: bool = False, verbosity: int = 1) -> list[str]:
    """Lines saying what ``sync_schedules`` did (or would do): one per change, unchanged ones
    from verbosity 2, and a summary from verbosity 1."""
    if verbosity < 1:
        return []
    verbs = {"create": "created", "update": "updated", "delete": "deleted", "keep": "unchanged"}
    if dry_run:
        verbs = {"create": "would create", "update": "would update", "delete": "would delete"}
        verbs["keep"] = "unchanged"
    lines = [
        f"Schedule {change.schedule_id} {verbs[change.action]}"
        + (f" ({change.schedule})" if change.schedule else "")
        for change in changes
        if change.action != "keep" or verbosity >= 2
    ]
    counts = {action: sum(c.action == action for c in changes) for action in verbs}
    lines.append(
        "Schedules: "
        + ", ".join(f"{counts[action]} {verbs[action]}" for action in verbs)
        + (" (dry run)" if dry_run else "")
    )
    return lines
