"""Subworkflows and events through the REST API, the instance page and the admin, on a real
dev server: sending events (every answer), parents and children in the instance JSON."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from joeflow_temporal.admin import WorkflowAdmin
from joeflow_temporal.models import Task, WorkflowEvent
from joeflow_temporal.testing import wait_for_engine
from tests.helpers import (
    client_for,
    instance_url,
    make_user,
    post,
    result,
    scheduled,
    url,
    wait_until,
)
from tests.testapp import models

EVENT = "payment_received"


@pytest.fixture
def sender(django_user_model):
    return make_user(django_user_model, "sender", "send_event")


@pytest.fixture
def waiting(worker):
    """An EventOrderWorkflow whose ``paid`` task waits for its event."""
    order = models.EventOrderWorkflow.start()
    scheduled(order, "paid")
    wait_for_engine(order)
    return order


def event_url(workflow, name: str = EVENT) -> str:
    return url("instance-event", workflow.label(), workflow.pk, name)


def ended(workflow) -> bool:
    workflow.refresh_from_db()
    return workflow.completed is not None


# Events


def test_an_event_moves_the_instance_on_and_its_duplicate_changes_nothing(waiting, sender):
    api = client_for(sender)

    response = post(api, event_url(waiting), {"paid_amount": 30, "event_id": "pay-1"})

    assert response.status_code == 201, response.json()
    event = response.json()
    assert set(event) == {"id", "name", "event_id", "data", "created", "task", "sent_by"}
    assert (event["name"], event["event_id"], event["data"]) == (
        EVENT,
        "pay-1",
        {"paid_amount": 30},
    )
    assert event["sent_by"] == sender.pk
    result(waiting)
    waiting.refresh_from_db()
    assert (waiting.paid_amount, waiting.log) == (30, "shipped after 30\n")
    paid = waiting.task_set.get(name="paid")
    assert paid.status == Task.SUCCEEDED and WorkflowEvent.objects.get().task == paid

    again = post(api, event_url(waiting), {"paid_amount": 99, "event_id": "pay-1"})

    assert again.status_code == 200, again.json()
    assert again.json()["id"] == event["id"] and again.json()["task"] == paid.pk
    assert again.json()["data"] == {"paid_amount": 30}
    waiting.refresh_from_db()
    assert waiting.paid_amount == 30 and WorkflowEvent.objects.count() == 1

    late = post(api, event_url(waiting), {"paid_amount": 5, "event_id": "pay-2"})

    assert late.status_code == 409
    assert "ended" in late.json()["detail"] and "not recorded" in late.json()["detail"]
    waiting.refresh_from_db()
    assert waiting.paid_amount == 30 and WorkflowEvent.objects.count() == 1


def test_an_event_without_event_id_or_fields_gets_a_random_id(worker, sender):
    order = models.EventOrderWorkflow.start()

    response = post(client_for(sender), event_url(order))

    assert response.status_code == 201, response.json()
    assert len(response.json()["event_id"]) == 32 and response.json()["data"] == {}
    result(order)
    order.refresh_from_db()
    assert order.log == "shipped after None\n"


def test_event_refusals_write_nothing(waiting, sender, django_user_model):
    api = client_for(sender)
    cases = [
        (client_for(), event_url(waiting), {"paid_amount": 1}, 401),
        (client_for(make_user(django_user_model, "eve")), event_url(waiting), {}, 403),
        (api, event_url(waiting, "nope"), {"paid_amount": 1}, 404),
        (api, url("instance-event", waiting.label(), 999999, EVENT), {}, 404),
        (api, url("instance-event", "testapp.nosuch", waiting.pk, EVENT), {}, 404),
        # the same pk, another class (proxies share a table): not this class's instance
        (api, url("instance-event", "testapp.eventlooporderworkflow", waiting.pk, EVENT), {}, 404),
    ]
    for client, path, body, status in cases:
        response = post(client, path, body)
        assert response.status_code == status, (path, response.json())
        assert response.json()["detail"], path
    nope = post(api, event_url(waiting, "nope"), {}).json()["detail"]
    assert "Its events: payment_received." in nope

    bodies = {
        "paid_amount": {"paid_amount": "lots"},
        "note": {"note": "not an event field"},
        "event_id": {"event_id": 7},
        "non_field_errors": ["paid_amount", 1],
    }
    for key, body in bodies.items():
        response = post(api, event_url(waiting), body)
        assert response.status_code == 400, body
        assert set(response.json()) == {key}, response.json()
    assert post(api, event_url(waiting), {"event_id": "x" * 256}).status_code == 400

    assert not WorkflowEvent.objects.exists()
    waiting.refresh_from_db()
    assert waiting.paid_amount is None
    assert waiting.task_set.get(name="paid").status == Task.SCHEDULED


def test_an_event_when_temporal_is_unreachable_is_503_and_writes_nothing(waiting, sender, settings):
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    response = post(client_for(sender), event_url(waiting), {"paid_amount": 3})

    assert response.status_code == 503
    assert "nothing was written" in response.json()["detail"]
    assert not WorkflowEvent.objects.exists()
    waiting.refresh_from_db()
    assert waiting.paid_amount is None


# Parents and children


@pytest.fixture
def broken_fan_out(worker):
    """A SubworkflowOrderWorkflow whose ``pack`` children are ``cup`` (done) and ``broken``
    (its ``pack`` task failed): the order's ``pack`` task waits."""
    order = models.SubworkflowOrderWorkflow.start(total=7, items=["cup", "broken"])
    wait_until(lambda: Task.objects.filter(name="pack", status=Task.FAILED).exists())
    cup = wait_until(lambda: models.PackItemWorkflow.objects.filter(item="cup").first())
    wait_until(lambda: ended(cup))
    wait_for_engine(order)
    return order


def test_instance_json_shows_children_with_their_failed_tasks_and_the_parent(
    broken_fan_out, admin_user
):
    order = broken_fan_out
    api = client_for(admin_user, "password")
    pay, pack = order.task_set.get(name="pay"), order.task_set.get(name="pack")
    payment = models.PaymentWorkflow.objects.get(parent_task=pay)
    cup = models.PackItemWorkflow.objects.get(item="cup")
    broken = models.PackItemWorkflow.objects.get(item="broken")
    failed = broken.task_set.get(status=Task.FAILED)

    body = api.get(instance_url(order)).json()

    assert body["parent_task"] is None
    children = {child["id"]: child for child in body["children"]}
    assert list(children) == [payment.pk, cup.pk, broken.pk]
    assert children[payment.pk]["workflow"] == "testapp.paymentworkflow"
    assert (children[payment.pk]["parent_task"], children[payment.pk]["status"]) == (
        pay.pk,
        "ended",
    )
    assert children[cup.pk] | {"created": None, "completed": None} == {
        "id": cup.pk,
        "workflow": "testapp.packitemworkflow",
        "status": "ended",
        "parent_task": pack.pk,
        "parent_item": 0,
        "created": None,
        "completed": None,
        "failed_tasks": [],
    }
    assert children[broken.pk]["status"] == "running"
    assert children[broken.pk]["parent_item"] == 1
    assert children[broken.pk]["failed_tasks"] == [
        {"id": failed.pk, "name": "pack", "exception": "ValueError: cannot pack broken"}
    ]

    child = api.get(instance_url(broken)).json()

    assert child["children"] == []
    assert child["parent_task"] == {
        "id": pack.pk,
        "name": "pack",
        "status": "scheduled",
        "workflow": "testapp.subworkfloworderworkflow",
        "workflow_id": order.pk,
    }


def test_the_instance_list_costs_the_same_queries_with_more_children(broken_fan_out, admin_user):
    api = client_for(admin_user, "password")
    path = url("instance-list", models.SubworkflowOrderWorkflow.label())
    with CaptureQueriesContext(connection) as one:
        assert len(api.get(path).json()["results"][0]["children"]) == 3

    more = models.SubworkflowOrderWorkflow.start(total=1, items=["a", "b", "c", "d"])
    children = models.PackItemWorkflow.objects.filter(parent_task___workflow=more)
    wait_until(lambda: children.count() == 4)
    with CaptureQueriesContext(connection) as two:
        page = api.get(path).json()

    assert [len(item["children"]) for item in page["results"]] == [5, 3]
    assert len(two.captured_queries) == len(one.captured_queries)
    child_list = url("instance-list", models.PackItemWorkflow.label())
    items = api.get(child_list, {"page_size": 500}).json()["results"]
    assert {item["parent_task"]["workflow_id"] for item in items} == {
        broken_fan_out.pk,
        more.pk,
    }


# Pages


def test_the_instance_page_links_parent_and_children(broken_fan_out, admin_client):
    order = broken_fan_out
    pack = order.task_set.get(name="pack")
    payment = models.PaymentWorkflow.objects.get()
    broken = models.PackItemWorkflow.objects.get(item="broken")
    failed = broken.task_set.get(status=Task.FAILED)

    page = admin_client.get(order.get_absolute_url())

    assert page.status_code == 200
    html = page.content.decode()
    assert [child.instance.pk for child in page.context["children"]] == [
        payment.pk,
        *models.PackItemWorkflow.objects.order_by("parent_item").values_list("pk", flat=True),
    ]
    assert f'<a href="{broken.get_absolute_url()}">{broken}</a>' in html
    assert f"{payment}</td>" in html, "PaymentWorkflow's URLs are not included: no link"
    assert f'#task-{failed.pk}">pack #{failed.pk}</a>: ValueError: cannot pack broken' in html
    assert f'<tr id="task-{pack.pk}">' in html

    child_page = admin_client.get(broken.get_absolute_url()).content.decode()

    assert f'<a href="{order.get_absolute_url()}#task-{pack.pk}">pack #{pack.pk}</a>' in child_page
    assert f'<a href="{order.get_absolute_url()}">{order}</a>, item 1.' in child_page
    assert "Started instances" not in child_page


def test_the_admin_shows_parent_and_children(broken_fan_out):
    order = broken_fan_out
    broken = models.PackItemWorkflow.objects.get(item="broken")
    failed = broken.task_set.get(status=Task.FAILED)
    pack = order.task_set.get(name="pack")
    order_admin = WorkflowAdmin(models.SubworkflowOrderWorkflow, admin.site)
    child_admin = WorkflowAdmin(models.PackItemWorkflow, admin.site)
    task_page = reverse("admin:joeflow_temporal_task_change", args=[failed.pk])

    children = order_admin.children(order)
    parent = child_admin.parent(broken)

    assert children.count("<li>") == 3
    assert f'<a href="{broken.get_absolute_url()}">{broken}</a> · running' in children
    assert f'failed: <a href="{task_page}">pack #{failed.pk}</a>' in children
    assert f'<a href="{order.get_absolute_url()}">{order}</a>' in parent
    assert f"pack #{pack.pk}</a>" in parent
    assert order_admin.parent(order) == "-" and child_admin.children(broken) == "-"
