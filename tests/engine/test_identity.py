"""Instance identity across rollbacks: SQLite and ``TestCase`` hand out the ids of rolled-back
rows again, so an execution started in a transaction that rolled back must never drive, nor
block, a later instance that gets the same primary key (and the same start-task id)."""

import pytest
from django.db import connection, transaction

from joeflow_temporal.engine import (
    OpenTask,
    Phase,
    WalkerInput,
    WalkerState,
    WorkflowRef,
    names,
)
from joeflow_temporal.runtime import client as engine_client
from tests.helpers import result, tasks, wait_until
from tests.testapp import models


class RolledBack(Exception):
    pass


def start_and_roll_back(workflow_class, **fields):
    with pytest.raises(RolledBack), transaction.atomic():
        rolled_back = workflow_class.start(**fields)
        raise RolledBack
    return rolled_back


def test_a_rolled_back_start_never_drives_a_row_that_reuses_its_ids(worker):
    ghost = start_and_roll_back(models.LinearWorkflow)

    other = models.GatewayWorkflow.start(choice="none")  # same table, another class

    if connection.vendor == "sqlite":
        assert other.pk == ghost.pk  # the rolled-back id, handed out again
    result(other)
    result(ghost)  # the ghost execution gave up: its start token was never committed
    other.refresh_from_db()
    assert other.count == 0  # LinearWorkflow.first never ran on it
    assert tasks(other) == [("start", "succeeded"), ("choose", "succeeded")]
    assert not models.LinearWorkflow.instances().filter(pk=other.pk).exists()


def test_starting_again_right_after_a_rollback(worker):
    ghost = start_and_roll_back(models.LinearWorkflow)

    again = models.LinearWorkflow.start()  # same class: same workflow id on SQLite

    if connection.vendor == "sqlite":
        assert again.temporal_workflow_id == ghost.temporal_workflow_id
    result(again)
    again.refresh_from_db()
    assert again.count == 1
    assert tasks(again) == [
        ("start", "succeeded"),
        ("first", "succeeded"),
        ("second", "succeeded"),
        ("end", "succeeded"),
    ]


def test_start_view_after_a_rolled_back_start_view(worker, client):
    """The seed's TestCase tests: each posts the start view in a transaction that rolls back."""
    for _ in range(3):
        with pytest.raises(RolledBack), transaction.atomic():
            response = client.post("/human/start/", {"choice": "x"})
            assert response.status_code == 302
            raise RolledBack

    response = client.post("/human/start/", {"choice": "x"})

    assert response.status_code == 302
    workflow = models.HumanWorkflow.objects.get()
    wait_until(lambda: workflow.task_set.filter(name="edit", status="scheduled").exists())


def test_a_rolled_back_override_is_not_taken_for_the_next_one(worker):
    """Both overrides record a Task row; the rolled-back one's id is handed out again."""
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    wait_until(lambda: workflow.task_set.filter(name="edit").exists())

    with pytest.raises(RolledBack), transaction.atomic():
        ghost = workflow.override(["end"])
        raise RolledBack
    override = workflow.override(["edit"])

    if connection.vendor == "sqlite":
        assert override.pk == ghost.pk
    # The ghost never started its `end`: the only task after the override is `edit`.
    assert [t.name for t in override.child_task_set.all()] == ["edit"]
    open_names = {t["name"] for t in workflow.get_engine_state()["tasks"].values()}
    assert open_names == {"edit"}
    assert not workflow.task_set.filter(name="end").exists()


def test_a_rolled_back_instance_cancel_changes_nothing(worker, django_user_model):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = workflow.task_set.get(name="edit", status="scheduled")

    with pytest.raises(RolledBack), transaction.atomic():
        workflow.cancel()
        raise RolledBack

    edit.refresh_from_db()
    assert edit.status == "scheduled"
    # The engine looked for the cancel's commit and gave up; the instance still runs.
    wait_until(lambda: workflow.get_engine_state()["tasks"] and not_cancelling(workflow))
    edit.complete()
    result(workflow)
    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("edit", "succeeded"),
        ("end", "succeeded"),
    ]


def not_cancelling(workflow) -> bool:
    """The engine is back to waiting for the human (it has dropped the unconfirmed cancel)."""
    return engine_client.run(idle(workflow), timeout=30)


async def idle(workflow) -> bool:
    client = await engine_client.get_client()
    return await client.get_workflow_handle(workflow.temporal_workflow_id).query(names.IDLE)


def test_cancel_records_who_canceled_what(worker, django_user_model):
    boss = django_user_model.objects.create_user("boss")
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = workflow.task_set.get(name="edit", status="scheduled")

    workflow.cancel(user=boss)

    workflow.refresh_from_db()
    assert workflow.completed is not None
    cancel = workflow.task_set.get(name="cancel")
    assert (cancel.status, cancel.completed_by_user) == ("succeeded", boss)
    assert list(cancel.parent_task_set.all()) == [edit]
    edit.refresh_from_db()
    assert edit.status == "canceled"

    workflow.cancel(user=boss)  # an ended instance: nothing to do
    assert workflow.task_set.filter(name="cancel").count() == 1


def test_an_execution_of_another_database_is_never_replaced(worker, task_queue, client):
    """Two databases on one namespace hand out the same ids: the start is refused (503), the
    other database's running instance is left alone, and nothing is written."""
    next_pk = models.Counter.objects.create().pk + 1
    label = models.HumanWorkflow.label()
    other = WalkerInput(  # an instance of another database, started and at work
        graph=models.HumanWorkflow.get_graph_spec(),
        workflow=WorkflowRef(label=label, pk=next_pk),
        start_task_id=1,
        start_node="start",
        start_task_key="start:of-another-database",
        state=WalkerState(tasks={"x": OpenTask(key="x", name="edit", phase=Phase.HUMAN, id=1)}),
    )
    workflow_id = names.workflow_id(label, next_pk)

    async def start_other():
        temporal = await engine_client.get_client()
        return await temporal.start_workflow(
            names.WORKFLOW_TYPE, other, id=workflow_id, task_queue=f"{task_queue}-other"
        )

    other_handle = engine_client.run(start_other(), timeout=30)

    response = client.post("/human/start/", {"choice": "x"})

    assert response.status_code == 503
    assert "another database" in response.content.decode()
    assert not models.HumanWorkflow.objects.filter(pk=next_pk).exists()
    description = engine_client.run(other_handle.describe(), timeout=30)
    assert (description.run_id, description.status.name) == (other_handle.result_run_id, "RUNNING")
    engine_client.run(other_handle.terminate("test finished"), timeout=30)
