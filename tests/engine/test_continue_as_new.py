"""Long loops continue as new (threshold lowered in conftest) without losing work."""

from datetime import timedelta

from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal.models import Task
from joeflow_temporal.runtime import client as engine_client
from tests.conftest import CONTINUE_AS_NEW_SUGGESTED_AT
from tests.helpers import handle, parents, result, runs_of, wait_until
from tests.testapp import models

ITERATIONS = 200


def test_long_loop_with_a_human_task_open_across_runs(worker):
    workflow = models.LongLoopWorkflow.start(target=ITERATIONS)
    approve = wait_until(lambda: workflow.task_set.filter(name="approve").first())

    wait_until(lambda: workflow.get_engine_state()["run"] >= 3, timeout=120)
    state = workflow.get_engine_state()
    assert approve.key in state["tasks"], "the open human task is carried into the new run"
    pause = workflow.task_set.get(name="pause")
    if pause.status == Task.SCHEDULED:
        assert state["tasks"][pause.key]["wake_at"], "so is the running timer"
    assert approve.status == Task.SCHEDULED
    approve.complete()

    final = result(workflow, timeout=180)

    workflow.refresh_from_db()
    assert workflow.count == ITERATIONS
    assert workflow.task_set.filter(name="increment").count() == ITERATIONS
    assert workflow.task_set.filter(name="increment").succeeded().count() == ITERATIONS
    approve.refresh_from_db()
    assert approve.status == Task.SUCCEEDED
    join = workflow.task_set.get(name="join")
    assert join.status == Task.SUCCEEDED and parents(join) == ["approve", "done", "pause"]
    pause = workflow.task_set.get(name="pause")
    assert pause.completed - pause.created >= timedelta(seconds=2.9), "timer kept across runs"
    assert not workflow.task_set.open().exists()

    runs, lengths = zip(*runs_of(workflow), strict=True)
    assert final["run"] == len(runs) > 3
    statuses = sorted({run.status for run in runs})
    assert statuses == sorted(
        {WorkflowExecutionStatus.CONTINUED_AS_NEW, WorkflowExecutionStatus.COMPLETED}
    )
    assert max(lengths) < CONTINUE_AS_NEW_SUGGESTED_AT + 60, lengths


def test_signal_sent_while_draining_is_carried_over(worker):
    """Completions land in whatever run is current; none is lost at a continue-as-new."""
    workflow = models.LongLoopWorkflow.start(target=60)
    approve = wait_until(lambda: workflow.task_set.filter(name="approve").first())
    wait_until(lambda: workflow.get_engine_state()["run"] >= 2, timeout=60)

    approve.complete()
    result(workflow, timeout=120)

    assert (
        engine_client.run(handle(workflow).describe()).status == WorkflowExecutionStatus.COMPLETED
    )
    assert workflow.task_set.get(name="join").status == Task.SUCCEEDED


def test_due_timer_and_reminders_are_carried_across_runs(worker):
    models.HOOK_CALLS.clear()
    workflow = models.DeadlineLoopWorkflow.start(target=100_000)
    approve = wait_until(lambda: workflow.task_set.filter(name="approve").first())

    wait_until(lambda: workflow.get_engine_state()["run"] >= 2, timeout=60)
    state = workflow.get_engine_state()
    carried = state["tasks"][approve.key]
    assert carried["due_at"] and carried["remind_at"], "both timers are in the new run's state"
    approve.refresh_from_db()
    assert approve.status == Task.SCHEDULED, "the loop must reach run 2 before the due date"

    late = wait_until(lambda: workflow.task_set.filter(name="late").first(), timeout=60)
    approve.refresh_from_db()
    assert approve.status == Task.CANCELED and parents(late) == ["approve"]
    assert workflow.get_engine_state()["run"] >= 2
    assert abs((approve.completed - approve.due).total_seconds()) < 3, "fired on time"
    reminders = [c for c in models.HOOK_CALLS if c[:2] == ("on_task_reminder", approve.pk)]
    assert len(reminders) == 2, "at 3 s and 6 s, whatever the runs in between"
    workflow.cancel()
