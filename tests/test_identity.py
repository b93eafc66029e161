"""Instance identity across rollbacks: SQLite and ``TestCase`` hand out the ids of rolled-back
rows again, so an execution started in a transaction that rolled back must never drive, nor
block, a later instance that gets the same primary key (and the same start-task id)."""

import pytest
from django.db import connection, transaction

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
