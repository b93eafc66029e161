"""Exceptions park a branch until rerun or cancel; database outages are retried."""

from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal.engine import RunMachineTask, WorkflowRef
from joeflow_temporal.models import Task
from joeflow_temporal.runtime import activities
from tests.helpers import describe, history, result, tasks, wait_until
from tests.testapp import models


def test_exception_fails_the_task_and_a_rerun_reuses_the_row(worker):
    workflow = models.FailingWorkflow.start(fail=True)

    task = wait_until(lambda: workflow.task_set.failed().first())

    assert task.name == "explode"
    assert task.exception == "ValueError: boom"
    assert "Traceback" in task.stacktrace and "raise ValueError" in task.stacktrace
    workflow.refresh_from_db()
    assert workflow.count == 0, "a failed task's database writes are rolled back"
    assert (
        workflow.get_engine_state()["tasks"][f"{task.parent_task_set.get().pk}:explode"]["phase"]
        == "failed"
    )

    models.FailingWorkflow.objects.filter(pk=workflow.pk).update(fail=False)
    task.rerun()
    result(workflow)

    task.refresh_from_db()
    assert task.status == Task.SUCCEEDED and task.exception == "" and task.stacktrace == ""
    workflow.refresh_from_db()
    assert workflow.count == 1
    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("explode", "succeeded"),
        ("end", "succeeded"),
    ]


def test_cancel_a_failed_task_ends_its_branch(worker):
    workflow = models.FailingWorkflow.start(fail=True)
    task = wait_until(lambda: workflow.task_set.failed().first())

    task.cancel()
    result(workflow)

    assert tasks(workflow) == [("start", "succeeded"), ("explode", "canceled")]
    assert describe(workflow).status == WorkflowExecutionStatus.COMPLETED


def test_operational_error_is_retried_not_recorded_as_failure(worker):
    workflow = models.FlakyDatabaseWorkflow.start(target=2)

    result(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 1
    assert models.FLAKY_CALLS[workflow.pk] == 3
    flaky = workflow.task_set.get(name="flaky")
    assert flaky.status == Task.SUCCEEDED and flaky.exception == ""
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history(workflow).events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert max(attempts) == 3


def test_retry_after_commit_does_not_run_the_method_again(worker):
    """The activity dies after its transaction committed; Temporal retries it."""
    workflow = models.ExactlyOnceWorkflow.start()

    result(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 1, "the method's database effect is applied exactly once"
    assert workflow.pk in models.CRASHED_AFTER_COMMIT
    assert workflow.task_set.filter(name="charge").count() == 1
    assert tasks(workflow)[-1] == ("end", "succeeded")
    retried = [
        e.activity_task_started_event_attributes.attempt
        for e in history(workflow).events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.attempt > 1
    ]
    assert retried, "the run activity really was retried"


def test_a_retry_after_a_recorded_failure_reports_the_failure(worker):
    """A worker that committed a task's failure and died before answering: the retry finds the
    failure recorded and reports it (the branch waits for a rerun), never a silent end."""
    workflow = models.FailingWorkflow.start(fail=True)
    explode = wait_until(lambda: workflow.task_set.failed().first())
    retry = RunMachineTask(
        workflow=WorkflowRef(label=workflow.label(), pk=workflow.pk),
        task_id=explode.pk,
        node_names=list(workflow.get_graph_spec().nodes),
    )

    outcome = activities.run_machine_task(retry)

    assert (outcome.status, outcome.task_id) == ("failed", explode.pk)
    assert Task.objects.get(pk=explode.pk).modified == explode.modified, "not run again"
