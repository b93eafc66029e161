"""Subworkflows (Temporal child workflows, fan-out) and events, against the real dev server."""

import pytest
from django.core.exceptions import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal.exceptions import InstanceNotRunning
from joeflow_temporal.models import Task, WorkflowEvent
from joeflow_temporal.testing import wait_for_engine
from tests.conftest import CONTINUE_AS_NEW_SUGGESTED_AT
from tests.helpers import describe, history, result, runs_of, scheduled, tasks, wait_until
from tests.testapp import models

pytestmark = pytest.mark.django_db(transaction=True)


def ended(workflow) -> bool:
    workflow.refresh_from_db()
    return workflow.completed is not None


def event_types(workflow) -> list[str]:
    return [EventType.Name(event.event_type) for event in history(workflow).events]


# Subworkflows


def test_subworkflow_and_fan_out_run_as_child_workflows(worker):
    order = models.SubworkflowOrderWorkflow.start(total=42, items=["cup", "plate", "bowl"])
    result(order)

    assert tasks(order) == [
        ("start", "succeeded"),
        ("pay", "succeeded"),
        ("pack", "succeeded"),
        ("ship", "succeeded"),
    ]
    pay = order.task_set.get(name="pay")
    [payment] = models.PaymentWorkflow.objects.filter(parent_task=pay)
    assert (payment.amount, payment.charged, payment.parent_item) == (42, 1, 0)
    assert payment.completed is not None

    pack = order.task_set.get(name="pack")
    children = models.PackItemWorkflow.objects.filter(parent_task=pack).order_by("parent_item")
    assert [(c.item, c.packed, c.parent_item) for c in children] == [
        ("cup", 1, 0),
        ("plate", 1, 1),
        ("bowl", 1, 2),
    ]
    assert list(order.get_child_workflows().values_list("pk", flat=True)) == [
        payment.pk,
        *(c.pk for c in children),
    ]
    # Temporal sees them as children of the order, with the class label searchable.
    child = describe(children[0])
    assert child.parent_id == order.temporal_workflow_id
    assert child.search_attributes["JoeflowWorkflow"] == ["testapp.packitemworkflow"]
    assert event_types(order).count("EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED") == 4


def test_for_each_of_nothing_goes_straight_on(worker):
    order = models.SubworkflowOrderWorkflow.start(total=1, items=[])
    result(order)
    assert tasks(order)[-1] == ("ship", "succeeded")
    assert not models.PackItemWorkflow.objects.exists()


def test_a_failed_child_task_leaves_the_parent_waiting_and_visible(worker):
    order = models.SubworkflowOrderWorkflow.start(total=1, items=["cup", "broken"])
    broken = wait_until(
        lambda: Task.objects.filter(name="pack", status="failed").exclude(_workflow=order).first()
    )
    assert broken.exception == "ValueError: cannot pack broken"
    wait_for_engine(order)
    pack = order.task_set.get(name="pack")
    assert pack.status == Task.SCHEDULED
    child = broken.workflow
    assert child.parent_task == pack

    # The child's failed task is canceled: the child ends, so does the parent's task.
    broken.cancel(comment="out of stock")
    result(order)
    assert tasks(order)[-1] == ("ship", "succeeded")


@pytest.mark.parametrize("items", ["not a list", "[1, 2]"], ids=["string", "list of ints"])
def test_for_each_giving_no_list_of_dicts_fails_the_task_saying_so(worker, items):
    order = models.BadFanOutOrderWorkflow.start(note=items)
    pack = wait_until(lambda: order.task_set.filter(name="pack", status=Task.FAILED).first())
    assert "not a list of dicts" in pack.exception
    assert not models.PackItemWorkflow.objects.exists()


def test_canceling_the_parent_mid_fan_out_cancels_the_children(worker):
    order = models.WaitingChildrenOrderWorkflow.start(items=[1, 2, 3])
    wait_until(lambda: Task.objects.filter(name="approve", status=Task.SCHEDULED).count() == 3)
    children = list(models.ApprovedPaymentWorkflow.objects.all())
    one = children[0].task_set.get(name="approve")
    one.complete()
    wait_until(lambda: ended(children[0]))

    order.cancel(comment="customer changed their mind")
    for child in children[1:]:
        wait_until(lambda child=child: ended(child))
        assert child.task_set.get(name="approve").status == Task.CANCELED
        wait_until(lambda child=child: describe(child).status == WorkflowExecutionStatus.CANCELED)
    assert order.task_set.get(name="approvals").status == Task.CANCELED


def test_canceling_the_subworkflow_task_cancels_its_children(worker):
    order = models.WaitingChildrenOrderWorkflow.start(items=[1, 2])
    approvals = wait_until(
        lambda: (
            order.task_set.filter(name="approvals").first()
            if Task.objects.filter(name="approve", status=Task.SCHEDULED).count() == 2
            else None
        )
    )
    approvals.cancel(comment="not needed")
    for child in models.ApprovedPaymentWorkflow.objects.all():
        wait_until(lambda child=child: ended(child))
    result(order)
    assert tasks(order) == [("start", "succeeded"), ("approvals", "canceled")]


def test_children_outlive_the_parents_continue_as_new(worker):
    """Children are abandoned by a closing run (they must outlive continue-as-new) and report
    their end with a signal, which the next run gets."""
    count = CONTINUE_AS_NEW_SUGGESTED_AT // 2 + 10  # two events per child started: over it
    order = models.WaitingChildrenOrderWorkflow.start(items=list(range(count)))
    wait_until(
        lambda: Task.objects.filter(name="approve", status=Task.SCHEDULED).count() == count,
        timeout=60,
    )
    wait_until(lambda: len(runs_of(order)) > 1)
    for task in Task.objects.filter(name="approve"):
        task.complete()
    result(order, timeout=60)
    assert tasks(order)[-1] == ("done", "succeeded")
    assert models.ApprovedPaymentWorkflow.objects.filter(completed__isnull=True).count() == 0


# Events


def test_event_sent_while_the_node_waits(worker):
    order = models.EventOrderWorkflow.start()
    paid = scheduled(order, "paid")
    assert paid.type == Task.MACHINE
    wait_for_engine(order)

    event = order.send_event("payment_received", {"paid_amount": "30"}, event_id="pay-1")
    assert event.name == "payment_received" and not event.duplicate
    assert order.paid_amount == 30
    result(order)
    paid.refresh_from_db()
    assert paid.status == Task.SUCCEEDED
    assert paid.event == event
    order.refresh_from_db()
    assert order.log == "shipped after 30\n"


def test_event_sent_before_the_node_is_reached_and_sent_twice(worker):
    order = models.EventLoopOrderWorkflow.start()
    scheduled(order, "paid")
    first = order.send_event("installment", {"paid_amount": 10}, event_id="a")
    again = order.send_event("installment", {"paid_amount": 99}, event_id="a")
    assert again.duplicate and again.pk == first.pk
    # Two more, sent at once: the loop reaches its event task twice more and takes one each.
    order.send_event("installment", {"paid_amount": 10}, event_id="b")
    order.send_event("installment", {"paid_amount": 10}, event_id="c")
    result(order)
    order.refresh_from_db()
    assert order.total == 30
    consumed = WorkflowEvent.objects.filter(_workflow=order).order_by("pk")
    assert [e.event_id for e in consumed] == ["a", "b", "c"]
    assert all(e.task is not None and e.task.status == Task.SUCCEEDED for e in consumed)
    assert len({e.task_id for e in consumed}) == 3


def test_event_bad_input(worker):
    order = models.EventOrderWorkflow.start()
    scheduled(order, "paid")
    with pytest.raises(LookupError, match="no event 'nope'"):
        order.send_event("nope")
    with pytest.raises(ValidationError) as error:
        order.send_event("payment_received", {"paid_amount": "lots"})
    assert error.value.message_dict["paid_amount"] == ["Enter a whole number."]
    assert not WorkflowEvent.objects.exists()

    order.send_event("payment_received", {"paid_amount": 5})
    result(order)
    with pytest.raises(InstanceNotRunning):
        order.send_event("payment_received", {"paid_amount": 6})
    order.refresh_from_db()
    assert order.paid_amount == 5


def test_an_override_that_drops_the_subworkflow_task_cancels_its_children(worker):
    order = models.WaitingChildrenOrderWorkflow.start(items=[1, 2])
    wait_until(lambda: Task.objects.filter(name="approve", status=Task.SCHEDULED).count() == 2)
    wait_for_engine(order)
    order.override(["done"], comment="approved by phone")
    result(order)
    for child in models.ApprovedPaymentWorkflow.objects.filter(parent_task___workflow=order):
        wait_until(lambda child=child: ended(child))
        assert child.task_set.get(name="approve").status == Task.CANCELED
    assert tasks(order)[-1] == ("done", "succeeded")


def test_a_failed_fan_out_reruns_once_fixed(worker):
    order = models.BadFanOutOrderWorkflow.start(note="oops")
    pack = wait_until(lambda: order.task_set.filter(name="pack", status=Task.FAILED).first())
    assert pack.exception == (
        "SubworkflowError: for_each of pack returned str, not a list of dicts."
    )
    models.BadFanOutOrderWorkflow.objects.filter(pk=order.pk).update(
        note='[{"item": "a"}, {"item": "b"}]'
    )
    pack.rerun(comment="fixed the list")
    result(order)
    children = models.PackItemWorkflow.objects.filter(parent_task=pack).order_by("parent_item")
    assert [(c.item, c.packed) for c in children] == [("a", 1), ("b", 1)]
    assert tasks(order) == [("start", "succeeded"), ("pack", "succeeded")]
