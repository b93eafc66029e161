"""Long-running instances stay far below Temporal's history limits, with flat worker memory.

Temporal fails an execution whose history reaches 51,200 events (and warns at 10,240). The
walker continues as new when the server suggests it, or when its own count says a run got long
(a chain of local activities runs inside one workflow task, where the server's suggestion only
arrives late), carrying open tasks and poll backoff into the next run.
"""

import time
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal.models import Task
from joeflow_temporal.runtime import client as engine_client
from joeflow_temporal.testing.environment import start_dev_server
from tests.helpers import history, result, runs_of
from tests.processes import WorkerProcess, worker_env
from tests.testapp import models

ITERATIONS = 10_000
RUN_HISTORY_BOUND = 5_000
"""Every run stays below this many events: a tenth of Temporal's limit."""
RSS_GROWTH_BOUND = 40 * 2**20
"""Worker memory after the first fifth of the loop may grow by this much at most."""

PRODUCTION_POLL_INTERVAL = timedelta(seconds=10)
PRODUCTION_POLL_MAX = timedelta(minutes=10)
POLL_SCALE = 10_000
POLLS = 30
"""Enough for three runs at the session server's continue-as-new threshold."""


@pytest.fixture
def production_limits_server(settings):
    """A dev server of its own with Temporal's default history limits (the session's server
    suggests continue-as-new after 150 events); settings point at it for this test."""
    env, settings.JOEFLOW_TEMPORAL_ADDRESS = start_dev_server([])
    yield settings.JOEFLOW_TEMPORAL_ADDRESS
    engine_client.run(env.shutdown(), timeout=60)


@pytest.mark.slow
@pytest.mark.once
def test_a_loop_of_ten_thousand_iterations(
    production_limits_server, task_queue, transactional_db, tmp_path, settings
):
    settings.JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES = True
    env = worker_env(production_limits_server, task_queue, JOEFLOW_TEST_REVERSION="0")
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        began = time.monotonic()
        workflow = models.SelfLoopWorkflow.start(target=ITERATIONS)
        rss = []  # (iterations done, worker RSS)
        while not workflow.task_set.filter(name="done").exists():
            time.sleep(0.5)
            rss.append((models.Counter.objects.get(pk=workflow.pk).count, worker.rss_bytes()))
        final = result(workflow, timeout=60)
        seconds = time.monotonic() - began

    workflow.refresh_from_db()
    assert workflow.count == ITERATIONS
    increments = workflow.task_set.filter(name="increment")
    assert increments.count() == increments.succeeded().count() == ITERATIONS
    assert not workflow.task_set.exclude(status=Task.SUCCEEDED).exists()

    runs = runs_of(workflow)
    lengths = [length for _, length in runs]
    assert final["run"] == len(runs) >= 3, "the loop continued as new"
    assert {execution.status for execution, _ in runs} == {
        WorkflowExecutionStatus.CONTINUED_AS_NEW,
        WorkflowExecutionStatus.COMPLETED,
    }
    assert max(lengths) < RUN_HISTORY_BOUND, lengths

    warmed_up = next(size for done, size in rss if done >= ITERATIONS // 5)
    peak = max(size for done, size in rss if done >= ITERATIONS // 5)
    assert peak - warmed_up < RSS_GROWTH_BOUND, rss
    print(
        f"\n{ITERATIONS} iterations in {seconds:.1f} s ({ITERATIONS / seconds:.0f} steps/s), "
        f"{len(runs)} runs, history per run max {max(lengths)} events, "
        f"worker RSS {warmed_up / 2**20:.0f} MiB after {ITERATIONS // 5} iterations, "
        f"peak {peak / 2**20:.0f} MiB after"
    )


def timer_durations(run) -> list[timedelta]:
    return [
        event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for event in run.events
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]


@pytest.mark.slow
@pytest.mark.once
def test_a_long_poll_keeps_its_backoff_across_runs(worker, settings):
    """The production backoff (10 s doubling to 10 min) scaled by ``POLL_SCALE``; the server's
    timers fire after a second at the earliest, so the poll counts, not the clock, make it long.
    """
    settings.JOEFLOW_TEMPORAL_POLL_INTERVAL = PRODUCTION_POLL_INTERVAL / POLL_SCALE
    settings.JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL = cap = PRODUCTION_POLL_MAX / POLL_SCALE
    workflow = models.LongPollWorkflow.start(target=POLLS)

    final = result(workflow, timeout=180)

    workflow.refresh_from_db()
    assert workflow.count == POLLS
    assert workflow.task_set.get(name="arrived").status == Task.SUCCEEDED, "one row for all polls"
    runs = runs_of(workflow)  # newest first
    assert final["run"] == len(runs) >= 3, "the poll continued as new"
    timers = [timer_durations(history(workflow, execution.run_id)) for execution, _ in runs]
    assert sum(map(len, timers)) == POLLS - 1
    assert all(
        abs(duration - cap) < timedelta(milliseconds=1)
        for durations in timers[:-1]  # every run after the first,
        for duration in durations[1:]  # after its first timer (the rest of one from before)
    ), f"the backoff restarted in a later run: {timers}"

    events = sum(length for _, length in runs)
    day = polls_in_a_day(PRODUCTION_POLL_INTERVAL, PRODUCTION_POLL_MAX)
    print(
        f"\n{POLLS} polls in {len(runs)} runs, {events / POLLS:.1f} history events per poll: "
        f"a day of polling at the production settings ({day} polls) costs about "
        f"{events / POLLS * day:.0f} events, one run at Temporal's default limits"
    )


def polls_in_a_day(first: timedelta, cap: timedelta) -> int:
    """How often a task that never becomes ready runs in a day, at the given backoff."""
    polls, elapsed, interval = 1, timedelta(), first
    while elapsed + interval < timedelta(days=1):
        elapsed += interval
        polls += 1
        interval = min(interval * 2, cap)
    return polls
