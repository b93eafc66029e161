"""A fan-out whose worker is killed while it starts children: each item still gets exactly
one child instance, each child's task runs once, and the parent goes on."""

import uuid

import pytest
from django.db.models import Count

from tests.helpers import result, wait_until
from tests.processes import WorkerProcess, worker_env
from tests.testapp import models

ITEMS = 250
"""Three batches of children (``CHILD_BATCH`` is 100)."""


@pytest.fixture
def worker_queue(temporal_server, settings, transactional_db):
    settings.JOEFLOW_TEMPORAL_TASK_QUEUE = f"fan-out-{uuid.uuid4().hex[:8]}"
    return worker_env(temporal_server.address, settings.JOEFLOW_TEMPORAL_TASK_QUEUE)


def packed(order) -> int:
    return models.PackItemWorkflow.objects.filter(
        parent_task___workflow=order, packed__gt=0
    ).count()


@pytest.mark.once
def test_worker_killed_while_children_start(worker_queue, tmp_path):
    items = [f"item {i}" for i in range(ITEMS)]
    with WorkerProcess(worker_queue, tmp_path / "first.log") as first:
        order = models.SubworkflowOrderWorkflow.start(total=1, items=items)
        wait_until(lambda: packed(order) > 0, timeout=60)
        first.kill()
    assert packed(order) < ITEMS, "killed before every child ran"

    with WorkerProcess(worker_queue, tmp_path / "second.log"):
        result(order, timeout=180)

    children = models.PackItemWorkflow.objects.filter(parent_task___workflow=order)
    assert children.count() == ITEMS
    assert sorted(children.values_list("parent_item", flat=True)) == list(range(ITEMS))
    assert set(children.values_list("packed", flat=True)) == {1}, "each child's task ran once"
    assert not children.filter(completed__isnull=True).exists()
    starts = children.annotate(starts=Count("task_set")).values_list("starts", flat=True)
    assert set(starts) == {2}, "a start task and a pack task per child, no more"
    order.refresh_from_db()
    assert order.log == "shipped\n"
