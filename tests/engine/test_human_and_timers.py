"""Human tasks, joins, concurrent branches, waits and cancel, as the engine sees them."""

from datetime import timedelta

import pytest
from django.db import transaction
from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal.exceptions import TaskNotScheduled, TemporalUnavailable
from joeflow_temporal.models import Task
from joeflow_temporal.runtime import client as engine_client
from tests.helpers import describe, handle, history, parents, result, scheduled, tasks, wait_until
from tests.testapp import models


def test_human_task_waits_for_completion_then_the_walker_goes_on(worker, django_user_model):
    user = django_user_model.objects.create(username="ada")
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"}, user=user)
    start = workflow.task_set.get(name="start")
    assert (start.type, start.status, start.completed_by_user) == ("human", "succeeded", user)

    edit = scheduled(workflow, "edit")
    assert edit.type == Task.HUMAN and parents(edit) == ["start"]

    with edit.completing(user) as locked:
        locked.workflow.count = 42
        locked.workflow.save()
    result(workflow)

    edit.refresh_from_db()
    assert (edit.status, edit.completed_by_user) == (Task.SUCCEEDED, user)
    assert models.HumanWorkflow.objects.get(pk=workflow.pk).count == 42
    assert tasks(workflow)[-1] == ("end", "succeeded")
    with pytest.raises(TaskNotScheduled):
        edit.complete(user)


def test_completion_when_temporal_is_unreachable_writes_nothing(worker, settings):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")

    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"
    with pytest.raises(TemporalUnavailable):
        with edit.completing() as locked:
            locked.workflow.count = 7
            locked.workflow.save()

    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED
    assert models.HumanWorkflow.objects.get(pk=workflow.pk).count == 0


def test_start_when_temporal_is_unreachable_leaves_no_row(worker, settings):
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    with pytest.raises(TemporalUnavailable):
        models.LinearWorkflow.start()

    assert not models.LinearWorkflow.objects.exists()
    assert not Task.objects.exists()


def test_a_signal_whose_transaction_rolled_back_is_ignored(worker):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        edit.complete()  # signals before the (outer) commit...
        raise RolledBack  # ...which never happens

    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED
    wait_until(lambda: not workflow.get_engine_state()["completions"], timeout=15)
    assert edit.key in workflow.get_engine_state()["tasks"], "the walker went back to waiting"

    edit.complete()
    result(workflow)
    assert tasks(workflow) == [("start", "succeeded"), ("edit", "succeeded"), ("end", "succeeded")]


def test_split_runs_branches_concurrently_and_join_waits_for_all(worker):
    workflow = models.SplitJoinWorkflow.start()

    review = scheduled(workflow, "review")
    approve = scheduled(workflow, "approve")
    wait_until(lambda: workflow.task_set.succeeded().filter(name="count_up").exists())
    join = scheduled(workflow, "join")
    assert parents(join) == ["count_up"], "the join is open while two branches are still running"

    review.complete()
    wait_until(lambda: "review" in workflow.get_engine_state()["tasks"][join.key]["arrived"])
    assert workflow.task_set.get(pk=join.pk).status == Task.SCHEDULED
    approve.complete()
    result(workflow)

    join.refresh_from_db()
    assert join.status == Task.SUCCEEDED
    assert parents(join) == ["approve", "count_up", "review"]
    assert workflow.task_set.filter(name="join").count() == 1
    assert tasks(workflow)[-1] == ("end", "succeeded")


def test_wait_is_a_timer_measured_from_task_creation(worker):
    workflow = models.WaitWorkflow.start()

    wait = scheduled(workflow, "wait")
    result(workflow)

    wait.refresh_from_db()
    assert wait.status == Task.SUCCEEDED
    # The timer starts when the walker opens the task: after its parent's completion was
    # recorded, and before its own row is written (which may lag under load).
    start = workflow.task_set.get(name="start")
    assert wait.completed - start.completed >= timedelta(seconds=2)
    assert tasks(workflow) == [("start", "succeeded"), ("wait", "succeeded"), ("end", "succeeded")]


def test_cancel_instance_cancels_every_open_task_and_ends_the_execution(worker):
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "review")
    scheduled(workflow, "approve")
    scheduled(workflow, "join")

    workflow.cancel()
    result(workflow)

    statuses = dict(tasks(workflow))
    assert statuses["review"] == statuses["approve"] == statuses["join"] == "canceled"
    assert not workflow.task_set.open().exists()
    workflow.refresh_from_db()
    assert workflow.completed is not None
    assert describe(workflow).status == WorkflowExecutionStatus.COMPLETED


def test_temporal_cancellation_is_mirrored(worker):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")

    engine_client.run(handle(workflow).cancel())
    wait_until(lambda: describe(workflow).status == WorkflowExecutionStatus.CANCELED)

    edit.refresh_from_db()
    assert edit.status == Task.CANCELED


def test_cancel_a_human_task_ends_its_branch(worker):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")

    edit.cancel()
    result(workflow)

    assert tasks(workflow) == [("start", "succeeded"), ("edit", "canceled")]


def test_an_override_whose_transaction_rolled_back_changes_nothing(worker):
    workflow = models.SplitJoinWorkflow.start()
    review = scheduled(workflow, "review")
    approve = scheduled(workflow, "approve")
    scheduled(workflow, "join")

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        workflow.override(["end"])  # signals before the (outer) commit...
        raise RolledBack  # ...which never happens

    def confirm_gave_up():  # the confirm activity ends failed or timed out, whichever comes
        return any(
            e.HasField("activity_task_timed_out_event_attributes")
            or e.HasField("activity_task_failed_event_attributes")
            for e in history(workflow).events
        )

    wait_until(confirm_gave_up, timeout=15)
    assert dict(tasks(workflow)) == {
        "start": "succeeded",
        "split": "succeeded",
        "count_up": "succeeded",
        "review": "scheduled",
        "approve": "scheduled",
        "join": "scheduled",
    }, "no open task was dropped for an override that never happened"

    review.complete()
    approve.complete()
    result(workflow)
    assert tasks(workflow)[-1] == ("end", "succeeded")


def test_override_cancels_open_tasks_and_starts_the_chosen_ones(worker, django_user_model):
    user = django_user_model.objects.create(username="boss")
    workflow = models.SplitJoinWorkflow.start()
    review = scheduled(workflow, "review")
    scheduled(workflow, "approve")
    scheduled(workflow, "join")

    override = workflow.override(["end"], user=user)
    result(workflow)

    assert (override.name, override.status, override.completed_by_user) == (
        "override",
        "succeeded",
        user,
    )
    assert sorted(parents(override)) == ["approve", "join", "review"]
    review.refresh_from_db()
    assert review.status == Task.CANCELED
    end = workflow.task_set.get(name="end")
    assert end.status == Task.SUCCEEDED and parents(end) == ["override"]
    assert not workflow.task_set.open().exists()
