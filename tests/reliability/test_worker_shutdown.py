"""A worker stops when asked, also while a local activity keeps failing (a database outage).

Temporal lets a worker stop only once its workflow tasks are done, and a workflow task waits for
its local activities, whose retries (at most 30 s apart) wait in the worker's memory. Without a
hand-over, a worker asked to stop during an outage stopped when the outage ended.
"""

import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal import tasks as joeflow_tasks
from joeflow_temporal.runtime.worker import LOCAL_RETRY_THRESHOLD
from joeflow_temporal.testing.environment import RunningWorker
from tests.helpers import describe, history, result, tasks, wait_until
from tests.testapp import models

ATTEMPTS: list[float] = []


@joeflow_tasks.local_activity
def quick_without_database(self):
    ATTEMPTS.append(time.monotonic())
    raise OperationalError("server closed the connection unexpectedly")


def stop_during_an_outage(worker, monkeypatch):
    """Start an instance whose local step fails as if the database were away; stop the worker
    while it retries. Return the instance, and how long the stop took."""
    monkeypatch.setattr(models.LocalStepWorkflow, "quick", quick_without_database)
    ATTEMPTS.clear()
    workflow = models.LocalStepWorkflow.start()
    wait_until(lambda: len(ATTEMPTS) >= 2)
    began = time.monotonic()
    worker.stop()
    return workflow, time.monotonic() - began


def test_a_worker_stops_while_a_local_activity_keeps_failing_and_hands_its_retry_over(
    worker, monkeypatch
):
    workflow, stopping = stop_during_an_outage(worker, monkeypatch)

    assert stopping < 20, "the stop waited for the retries to end"
    assert describe(workflow).status == WorkflowExecutionStatus.RUNNING
    timers = [
        event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for event in history(workflow).events
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    # The next attempt waits on a durable timer of the instance, for whichever worker is up.
    assert timers == [LOCAL_RETRY_THRESHOLD + timedelta(seconds=1)]


@pytest.mark.slow
def test_the_next_worker_runs_the_handed_over_attempt(worker, monkeypatch, temporal_server):
    workflow, _ = stop_during_an_outage(worker, monkeypatch)
    monkeypatch.undo()  # the database is back

    successor = RunningWorker(temporal_server.client, worker.task_queue).start()
    try:
        result(workflow, timeout=LOCAL_RETRY_THRESHOLD.total_seconds() + 30)
    finally:
        successor.stop()

    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("quick", "succeeded"),
        ("thorough", "succeeded"),
    ]
    workflow.refresh_from_db()
    assert workflow.count == 11
