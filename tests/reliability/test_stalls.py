"""No silent stalls: every step the engine cannot take becomes a visible failed Task that a rerun
resumes, logged once at ERROR; no retry loop hides an error from users (issue #11, section 3)."""

import logging

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from joeflow_temporal.engine import CreateTask, TaskRef, WorkflowRef
from joeflow_temporal.engine.payloads import ConfirmTask
from joeflow_temporal.models import Task
from joeflow_temporal.runtime import activities, rows
from joeflow_temporal.runtime.compile import compile_graph
from joeflow_temporal.tasks import UpdateView
from tests.helpers import (
    client_for,
    describe,
    make_user,
    post,
    result,
    task_url,
    tasks,
    url,
    wait_until,
)
from tests.processes import WorkerProcess, worker_env
from tests.testapp import models

CHANGELIST = reverse("admin:joeflow_temporal_task_changelist")
MISSING_GROUP = "DoesNotExist: Group matching query does not exist."


def failures(caplog, name: str) -> list[logging.LogRecord]:
    """The ERROR records of the app's loggers about the task ``name``."""
    return [
        record
        for record in caplog.records
        if record.name.startswith("joeflow_temporal")
        and record.levelno == logging.ERROR
        and f"({name})" in record.getMessage()
    ]


def failed(workflow, name: str) -> Task:
    return wait_until(lambda: workflow.task_set.failed().filter(name=name).first())


def engine_phase(workflow, task: Task) -> str:
    return workflow.get_engine_state()["tasks"][task.key]["phase"]


@pytest.fixture
def reviewer(django_user_model):
    return make_user(django_user_model, "ada")


def test_a_raising_create_task_hook_fails_the_task_and_a_rerun_opens_it(
    worker, reviewer, django_user_model, client, caplog
):
    """The issue's example: the hook looks up a group that does not exist yet."""
    caplog.set_level(logging.ERROR, logger="joeflow_temporal")
    workflow = models.ReviewWorkflow.start()

    review = failed(workflow, "review")
    assert review.type == Task.HUMAN
    assert review.exception == MISSING_GROUP
    assert 'Group.objects.get(name="reviewers")' in review.stacktrace
    assert [p.name for p in review.parent_task_set.all()] == ["start"]
    assert tasks(workflow) == [("start", "succeeded"), ("review", "failed")]
    workflow.refresh_from_db()
    assert workflow.count == 0, "the hook's writes were rolled back with its row"
    assert engine_phase(workflow, review) == "failed"
    assert review.get_absolute_url() is None

    [record] = failures(caplog, "review")
    assert f"testapp.reviewworkflow {workflow.pk}: task {review.pk} (review) failed" in (
        record.getMessage()
    )
    assert record.exc_info and MISSING_GROUP in record.getMessage()

    # Visible where failed machine tasks are: the API (inbox and detail) and the admin filter.
    root = make_user(django_user_model, "root", superuser=True)
    api = client_for(root)
    listed = api.get(url("task-list"), {"status": "failed", "workflow": workflow.label()}).json()
    assert [(t["id"], t["exception"]) for t in listed["results"]] == [(review.pk, MISSING_GROUP)]
    detail = api.get(task_url(review)).json()
    assert detail["status"] == "failed" and "Traceback" in detail["stacktrace"]
    client.force_login(root)
    page = client.get(CHANGELIST, {"status": "failed", "workflow": workflow.label()})
    assert list(page.context["cl"].queryset) == [review]

    Group.objects.create(name="reviewers").user_set.add(reviewer)
    response = post(client_for(root), task_url(review, "rerun"))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["exception"]) == (review.pk, "scheduled", "")
    assert body["assignees"] == [reviewer.pk]
    reopened = Task.objects.get(pk=review.pk)
    assert reopened.key == review.key and reopened.stacktrace == ""
    assert list(reopened.assignees.all()) == [reviewer]
    assert [p.name for p in reopened.parent_task_set.all()] == ["start"]
    assert tasks(workflow) == [("start", "succeeded"), ("review", "scheduled")]
    workflow.refresh_from_db()
    assert workflow.count == 1
    assert engine_phase(workflow, reopened) == "human"

    bob = client_for(make_user(django_user_model, "bob"))
    assert post(bob, task_url(review, "complete"), {"choice": "no"}).status_code == 403
    completed = post(client_for(reviewer), task_url(review, "complete"), {"choice": "ok"})
    assert completed.status_code == 200, completed.json()
    result(workflow)
    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("review", "succeeded"),
        ("end", "succeeded"),
    ]
    assert len(failures(caplog, "review")) == 1, "logged once, not per retry"


def test_a_hook_that_fails_again_on_rerun_records_the_new_failure(
    worker, reviewer, django_user_model, client, caplog
):
    """Rerun through the model and the admin action: each failure is recorded and logged."""
    caplog.set_level(logging.ERROR, logger="joeflow_temporal")
    workflow = models.ReviewWorkflow.start(flag=True)
    review = failed(workflow, "review")
    Group.objects.create(name="reviewers").user_set.add(reviewer)

    review.rerun()  # the group exists now, but the hook returns no Task

    assert review.status == Task.FAILED
    assert review.exception == (
        "TypeError: review.create_task() returned None; it must return a Task, e.g. "
        "workflow.task_set.create(name=self.name, type=self.type, workflow=workflow)."
    )
    assert tasks(workflow) == [("start", "succeeded"), ("review", "failed")]
    workflow.refresh_from_db()
    assert workflow.count == 0
    assert engine_phase(workflow, review) == "failed"
    assert [r.getMessage().rsplit(": ", 1)[0] for r in failures(caplog, "review")] == [
        f"testapp.reviewworkflow {workflow.pk}: task {review.pk} (review) failed: DoesNotExist",
        f"testapp.reviewworkflow {workflow.pk}: task {review.pk} (review) failed: TypeError",
    ]

    client.force_login(make_user(django_user_model, "root", superuser=True))
    again = client.post(
        CHANGELIST, {"action": "rerun", "_selected_action": [review.pk], "post": "yes"}
    )
    assert [str(m) for m in get_messages(again.wsgi_request)] == [
        f"Failed again 1: review #{review.pk} ({review.exception})"
    ]

    models.ReviewWorkflow.objects.filter(pk=workflow.pk).update(flag=False)
    client.post(CHANGELIST, {"action": "rerun", "_selected_action": [review.pk], "post": "yes"})

    review.refresh_from_db()
    assert (review.status, list(review.assignees.all())) == (Task.SCHEDULED, [reviewer])
    assert engine_phase(workflow, review) == "human"
    review.complete(reviewer)
    result(workflow)
    assert tasks(workflow)[-1] == ("end", "succeeded")
    assert len(failures(caplog, "review")) == 3


def test_cancel_of_a_task_whose_hook_failed_ends_its_branch(worker):
    workflow = models.ReviewWorkflow.start()
    review = failed(workflow, "review")

    review.cancel()
    result(workflow)

    assert tasks(workflow) == [("start", "succeeded"), ("review", "canceled")]
    assert describe(workflow).status == WorkflowExecutionStatus.COMPLETED


def test_a_human_task_whose_node_a_deploy_removed_fails_and_reruns_once_it_is_back(
    worker, monkeypatch
):
    """The engine walks the graph the instance started with; this class no longer has the
    node (as after a deploy), so its row cannot be made: a failed task, not a row no page opens."""
    compile_graph(models.HumanWorkflow)  # the graph as it was
    nodes = vars(models.HumanWorkflow)
    monkeypatch.delattr(models.HumanWorkflow, "edit")
    monkeypatch.setattr(models.HumanWorkflow, "edges", [(nodes["start"], nodes["end"])])

    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})

    edit = failed(workflow, "edit")
    assert edit.exception == (
        "LookupError: HumanWorkflow has no task 'edit' any more; "
        "override the instance to move it on."
    )
    monkeypatch.undo()
    edit.rerun()
    assert edit.status == Task.SCHEDULED
    edit.complete()
    result(workflow)
    assert tasks(workflow)[-1] == ("end", "succeeded")


def test_a_machine_task_failure_is_logged_once_at_error(worker, caplog):
    caplog.set_level(logging.WARNING, logger="joeflow_temporal")
    workflow = models.FailingWorkflow.start(fail=True)
    explode = failed(workflow, "explode")
    wait_until(lambda: failures(caplog, "explode"))

    explode.rerun()  # fails again
    wait_until(lambda: Task.objects.get(pk=explode.pk).status == Task.FAILED)
    wait_until(lambda: len(failures(caplog, "explode")) == 2)

    first, second = failures(caplog, "explode")
    assert first.getMessage() == (
        f"testapp.failingworkflow {workflow.pk}: task {explode.pk} (explode) failed: "
        "ValueError: boom"
    )
    assert first.exc_info[0] is ValueError and 'raise ValueError("boom")' in caplog.text
    assert second.getMessage() == first.getMessage()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [first, second], "nothing else is logged at ERROR (no activity retries)"


def test_a_write_that_breaks_a_constraint_at_commit_fails_the_task(worker):
    """The database checks a foreign key at the commit, after the method returned: the task's
    failure all the same (it was retried forever, unseen)."""
    workflow = models.DanglingWorkflow.start(fail=True)

    dangle = failed(workflow, "dangle")

    assert dangle.exception.startswith("IntegrityError: ")
    assert not models.Effect.objects.exists()
    models.DanglingWorkflow.objects.filter(pk=workflow.pk).update(fail=False)
    dangle.rerun()
    result(workflow)
    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("dangle", "succeeded"),
        ("end", "succeeded"),
    ]


def test_the_worker_process_prints_the_failure_with_its_traceback(
    temporal_server, task_queue, transactional_db, tmp_path
):
    """``manage.py temporal_worker`` (which ``temporal_dev`` runs) shows it with the project's
    logging settings: the reference project's console handler."""
    env = worker_env(temporal_server.address, task_queue)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        workflow = models.ReviewWorkflow.start()
        review = failed(workflow, "review")
        line = f"testapp.reviewworkflow {workflow.pk}: task {review.pk} (review) failed"
        log = wait_until(lambda: line in worker.log() and worker.log())
    assert log.count(line) == 1
    assert "Traceback" in log and 'Group.objects.get(name="reviewers")' in log


def test_an_activity_fault_that_is_no_tasks_failure_is_logged_at_error(transactional_db, caplog):
    """A worker without the instance's class (a deploy under way, or the class deleted) cannot
    record a task; Temporal retries the activity, and its first attempt says why at ERROR.
    A commit not visible yet is an answer to the walker, not a fault."""
    caplog.set_level(logging.WARNING, logger="joeflow_temporal")
    gone = WorkflowRef(label="testapp.deletedworkflow", pk=1)

    with pytest.raises(ApplicationError):
        activities.create_task(
            CreateTask(workflow=gone, key="1:review", name="review", type="human", parent_ids=[1])
        )
    with pytest.raises(ApplicationError):
        activities.confirm_task(
            ConfirmTask(task=TaskRef(workflow=gone, task_id=1), statuses=["succeeded"])
        )

    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR and record.exc_info
    assert record.getMessage() == (
        "Activity joeflow.create_task failed: UnknownWorkflow: "
        "No workflow class 'testapp.deletedworkflow' is installed in this worker."
    )


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no message")


def test_an_exception_that_cannot_be_printed_is_recorded_all_the_same(db):
    """Its failure was a second exception in ``Task.fail``: the activity retried it forever."""
    workflow = models.FailingWorkflow.objects.create()
    task = workflow.task_set.create(name="explode", type=Task.MACHINE)

    try:
        raise Unprintable
    except Unprintable:
        task.fail()

    task.refresh_from_db()
    assert task.status == Task.FAILED
    assert task.exception == "Unprintable: <str() failed>"
    assert "raise Unprintable" in task.stacktrace


def test_a_rerun_moves_what_the_hook_made_onto_the_failed_row(db, reviewer):
    """Fields and relations the engine does not own come with the hook's row: its assignees,
    and rows of the project that point at it (which deleting it would have deleted)."""
    workflow = models.ChaosHumanWorkflow.objects.create()
    failed_row = workflow.task_set.create(name="review", type=Task.HUMAN, status=Task.FAILED)
    made = workflow.task_set.create(name="review", type=Task.HUMAN)
    made.assignees.add(reviewer)
    effect = models.Effect.objects.create(workflow=workflow, task=made, task_name="review")

    rows.move_onto(made, failed_row)

    assert not Task.objects.filter(pk=made.pk).exists()
    assert list(failed_row.assignees.all()) == [reviewer]
    effect.refresh_from_db()
    assert effect.task_id == failed_row.pk


class StealingView(UpdateView):
    """A hook that returns a row the engine already has, which adopting would take over."""

    name = "review"

    def create_task(self, workflow, prev_task):
        return prev_task


def test_a_hook_that_returns_another_tasks_row_is_refused(db):
    workflow = models.ReviewWorkflow.objects.create()
    start = workflow.task_set.create(name="start", key="start:x", status=Task.SUCCEEDED)

    with pytest.raises(ValueError, match="which the engine already has"):
        rows.hook_row(StealingView(fields=["choice"]), workflow, [start.pk])

    assert Task.objects.get(pk=start.pk).key == "start:x"
