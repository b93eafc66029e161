"""Return values of machine tasks, end of execution, loops: against a real server and database."""

from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal.models import Task
from tests.helpers import describe, history, parents, result, tasks, wait_until
from tests.testapp import models


def test_none_and_true_follow_every_edge_and_the_execution_completes(worker):
    workflow = models.LinearWorkflow.start()

    state = result(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 1
    assert workflow.choice == "second", "a method taking `task` gets its Task"
    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("first", "succeeded"),
        ("second", "succeeded"),
        ("end", "succeeded"),
    ]
    end = workflow.task_set.get(name="end")
    assert parents(end) == ["second"]
    assert parents(workflow.task_set.get(name="first")) == ["start"]
    assert workflow.completed is not None
    assert state["tasks"] == {} and state["steps"] == 4
    assert describe(workflow).status == WorkflowExecutionStatus.COMPLETED


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("method", ["left"]),
        ("name", ["right"]),
        ("both", ["left", "right"]),
        ("all", ["left", "right"]),
        ("none", []),
    ],
)
def test_returned_list_starts_exactly_those_tasks(worker, choice, expected):
    workflow = models.GatewayWorkflow.start(choice=choice)

    result(workflow)

    done = sorted(
        workflow.task_set.exclude(name__in=["start", "choose"]).values_list("name", flat=True)
    )
    assert done == expected
    assert workflow.task_set.get(name="choose").status == Task.SUCCEEDED
    assert not workflow.task_set.not_succeeded().exists()
    assert describe(workflow).status == WorkflowExecutionStatus.COMPLETED


def test_unknown_returned_task_fails_the_task_with_a_clear_message(worker):
    workflow = models.GatewayWorkflow.start(choice="unknown")

    task = wait_until(lambda: workflow.task_set.failed().first())

    assert task.name == "choose"
    assert "'nowhere'" in task.exception and "not a task of this workflow" in task.exception
    assert not workflow.task_set.filter(name__in=["left", "right"]).exists()


def test_false_polls_with_a_durable_timer_until_true(worker):
    workflow = models.PollWorkflow.start()
    wait_until(lambda: models.PollWorkflow.objects.get(pk=workflow.pk).count >= 3)
    ready = workflow.task_set.get(name="ready")
    assert ready.status == Task.SCHEDULED, "a task that returned False stays scheduled"
    state = workflow.get_engine_state()
    [open_task] = state["tasks"].values()
    assert open_task["phase"] == "poll" and open_task["wake_at"]

    models.PollWorkflow.objects.filter(pk=workflow.pk).update(flag=True)
    result(workflow)

    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("ready", "succeeded"),
        ("done", "succeeded"),
    ]
    events = history(workflow).events
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in events
        if e.HasField("timer_started_event_attributes")
    ]
    assert len(timers) >= 2, "each re-run waits on a Temporal timer, not a sleeping thread"
    # 0.2s, doubling, capped at 1s (tests/settings.py); the first timer can be a little shorter
    assert timers[1] > timers[0] and max(timers) <= timedelta(seconds=1), timers


def test_loop_runs_the_same_task_again_and_again(worker):
    workflow = models.LoopWorkflow.start(target=5)

    result(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 5
    assert workflow.task_set.filter(name="increment").count() == 5
    assert workflow.task_set.filter(name="again").count() == 5
    assert tasks(workflow)[-1] == ("done", "succeeded")
    second = workflow.task_set.filter(name="increment").order_by("pk")[1]
    assert parents(second) == ["again"]


def test_a_task_marked_local_runs_as_a_local_activity(worker):
    workflow = models.LocalStepWorkflow.start()

    result(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 11
    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("quick", "succeeded"),
        ("thorough", "succeeded"),
    ]
    events = history(workflow).events
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled.count("joeflow.run_machine_task") == 1, "thorough only"
    local_runs = [
        e
        for e in events
        if e.HasField("marker_recorded_event_attributes")
        and b"joeflow.run_machine_task" in e.marker_recorded_event_attributes.SerializeToString()
    ]
    assert len(local_runs) == 1, "quick, as a local activity"


def test_a_method_longer_than_the_heartbeat_timeout_heartbeats_and_runs_once(worker, settings):
    settings.JOEFLOW_TEMPORAL_HEARTBEAT_TIMEOUT = timedelta(seconds=1)
    workflow = models.SlowWorkflow.start()

    result(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 1
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history(workflow).events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert attempts and set(attempts) == {1}, "no run timed out for want of heartbeats"
