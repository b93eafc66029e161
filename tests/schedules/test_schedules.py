"""Scheduled starts: ``Start(schedule=...)`` nodes as real Temporal Schedules on the dev server.

``sync_schedules`` creates, updates and deletes the Schedules to match the code and leaves
others' alone; each firing (a trigger here) creates exactly one instance through its node, even
when its activity runs twice.
"""

import threading
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connections
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
)

from joeflow_temporal.engine.payloads import StartScheduled
from joeflow_temporal.models import ScheduledFiring
from joeflow_temporal.runtime import client as engine_client
from joeflow_temporal.runtime.activities import start_scheduled
from joeflow_temporal.runtime.schedules import sync
from tests.helpers import result, tasks, wait_until
from tests.testapp import models

LABEL = "testapp.scheduledworkflow"
START = f"{LABEL}.start"
YEARLY = f"{LABEL}.yearly"
FOREIGN = "reports.weekly"
GONE = f"{LABEL}.gone"
NIGHTLY = "demo.nightlyreportworkflow.start"


def call(make):
    async def run():
        return await make(await engine_client.get_client())

    return engine_client.run(run(), timeout=60)


def schedule_ids() -> set[str]:
    async def listed(client):
        return {schedule.id async for schedule in await client.list_schedules()}

    return call(listed)


def describe(schedule_id: str):
    return call(lambda client: client.get_schedule_handle(schedule_id).describe())


def create_schedule(schedule_id: str) -> None:
    """A Schedule made by someone else (its action is never run: it fires once a year)."""

    async def create(client):
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow("other", id=schedule_id, task_queue="other"),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=365))]),
            ),
        )

    call(create)


@pytest.fixture
def schedules(temporal_server):
    """No Schedule before, none after: the dev server is the session's (and other tests'
    workers sync theirs at start-up)."""
    delete_all()
    yield
    delete_all()


def delete_all() -> None:
    for schedule_id in schedule_ids():
        call(lambda client, schedule_id=schedule_id: delete(client, schedule_id))
    wait_until(lambda: not schedule_ids())  # the listing catches up


async def delete(client, schedule_id):
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except Exception:
        pass  # deleted already


def actions(changes) -> dict[str, str]:
    return {change.schedule_id: change.action for change in changes}


def test_sync_creates_updates_and_deletes_only_its_own(schedules, task_queue, monkeypatch):
    create_schedule(FOREIGN)
    create_schedule(GONE)
    wait_until(lambda: {FOREIGN, GONE} <= schedule_ids())  # the listing catches up

    assert actions(sync(dry_run=True)) == {
        START: "create",
        YEARLY: "create",
        NIGHTLY: "create",
        GONE: "delete",
    }
    assert START not in schedule_ids()

    changes = actions(sync())
    assert changes[START] == "create" and changes[YEARLY] == "create" and changes[GONE] == "delete"
    description = describe(START)
    assert description.schedule.action.id == START
    assert description.schedule.action.task_queue == task_queue
    assert description.schedule.spec.calendars[0].month[0].start == 1  # "0 0 1 1 *"
    assert describe(YEARLY).schedule.spec.intervals[0].every == timedelta(days=365)
    assert FOREIGN in schedule_ids()
    wait_until(lambda: GONE not in schedule_ids())
    assert actions(sync())[START] == "keep"

    start = models.ScheduledWorkflow.__dict__["start"]
    monkeypatch.setattr(start, "schedule", "30 2 * * MON-FRI")
    assert actions(sync())[START] == "update"
    assert describe(START).schedule.spec.calendars[0].hour[0].start == 2

    yearly = models.ScheduledWorkflow.__dict__["yearly"]
    monkeypatch.setattr(yearly, "schedule", None)
    wait_until(lambda: YEARLY in schedule_ids())
    assert actions(sync())[YEARLY] == "delete"
    wait_until(lambda: YEARLY not in schedule_ids())
    assert FOREIGN in schedule_ids()


def test_the_command_reports_and_a_dry_run_changes_nothing(schedules, task_queue, capsys):
    call_command("sync_schedules", "--dry-run", verbosity=2)
    output = capsys.readouterr().out
    assert f"Schedule {START} would create (0 0 1 1 *)" in output
    assert f"Schedule {YEARLY} would create (every 365 days)" in output
    assert START not in schedule_ids()

    call_command("sync_schedules")
    output = capsys.readouterr().out
    assert f"Schedule {START} created (0 0 1 1 *)" in output
    assert "Schedules: 3 created, 0 updated, 0 deleted" in output
    assert describe(START).schedule.action.id == START


def test_an_unreachable_server_is_a_command_error(settings):
    from django.core.management.base import CommandError

    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"
    with pytest.raises(CommandError, match="Temporal is unreachable at 127.0.0.1:1"):
        call_command("sync_schedules")


def firings(node: str = "start") -> list[ScheduledFiring]:
    return list(ScheduledFiring.objects.filter(firing_id__startswith=f"{LABEL}.{node}-"))


def trigger(schedule_id: str) -> None:
    call(lambda client: client.get_schedule_handle(schedule_id).trigger())


def test_each_firing_creates_one_instance_through_its_node(schedules, worker):
    sync()
    trigger(START)
    [first] = wait_until(firings)
    # Temporal names a firing's workflow after its time, to the second: a trigger in the same
    # second would be the same firing (Temporal starts it once).
    fired_at = describe(START).info.recent_actions[0].scheduled_at
    wait_until(
        lambda: (
            engine_client.run(now(), timeout=10)
            > fired_at.replace(microsecond=0) + timedelta(seconds=1)
        )
    )
    trigger(START)
    both = wait_until(lambda: len(firings()) == 2 and firings())

    assert len({firing.firing_id for firing in both}) == 2
    instances = [models.ScheduledWorkflow.objects.get(pk=f.workflow_id) for f in both]
    assert len({instance.pk for instance in instances}) == 2
    for instance in instances:
        result(instance)
        assert tasks(instance) == [("start", "succeeded"), ("count_up", "succeeded")]
        assert models.ScheduledWorkflow.objects.get(pk=instance.pk).count == 1
    assert describe(START).info.num_actions == 2


async def now():
    from datetime import datetime

    return datetime.now(UTC)


def run_activity(firing_id: str) -> int:
    """The activity as a worker thread runs it; a database that is busy (SQLite's one writer)
    is retried, as Temporal does."""
    request = StartScheduled(label=LABEL, node="start", firing_id=firing_id)
    try:
        while True:
            try:
                return start_scheduled(request)
            except OperationalError:
                continue
    finally:
        connections.close_all()


def test_the_activity_run_twice_for_one_firing_creates_one_instance(worker):
    firing_id = f"{START}-2026-01-01T00:00:00Z"
    first = run_activity(firing_id)
    assert run_activity(firing_id) == first

    concurrent_id = f"{START}-2027-01-01T00:00:00Z"
    barrier = threading.Barrier(2)
    answers = []

    def run():
        barrier.wait()
        answers.append(run_activity(concurrent_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 2 and answers[0] == answers[1]
    assert ScheduledFiring.objects.count() == 2
    assert models.ScheduledWorkflow.objects.count() == 2
    for pk in {first, answers[0]}:
        instance = models.ScheduledWorkflow.objects.get(pk=pk)
        assert instance.task_set.filter(name="start").count() == 1
        result(instance)


def test_a_firing_of_a_node_that_lost_its_schedule_fails_for_good(worker, monkeypatch):
    from temporalio.exceptions import ApplicationError

    monkeypatch.setattr(models.ScheduledWorkflow.__dict__["start"], "schedule", None)
    with pytest.raises(ApplicationError, match="no scheduled start 'start'") as raised:
        start_scheduled(StartScheduled(label=LABEL, node="start", firing_id="x"))
    assert raised.value.non_retryable
    assert not models.ScheduledWorkflow.objects.exists()
