"""What an override may do: never leave the instance where nothing moves it on, and end it only
when the user says so (the override page, the admin, the API and ``Workflow.override``).

Start views (``checkout``) and joins are never offered or accepted as next tasks, nor a task
leading to a join whose other parents none of the chosen tasks reaches. Saving the override
page or the admin with nothing chosen only saves the fields; "End the instance" ends it.
"""

import pytest
from django.urls import reverse

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task
from tests.helpers import (
    client_for,
    instance_url,
    make_user,
    post,
    result,
    scheduled,
    tasks,
    wait_until,
)
from tests.testapp import models


@pytest.fixture
def boss(django_user_model):
    return make_user(django_user_model, "boss", "override", "cancel")


@pytest.fixture
def page(client, boss):
    client.force_login(boss)
    return client


@pytest.fixture
def shipping(worker):
    """A shipping instance waiting at ``ship``."""
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    return workflow, scheduled(workflow, "ship")


def override_form(**changes):
    return {"email": "", "shipping_address": "Gotham", "tracking_code": "", **changes}


def untouched(workflow, ship):
    """Nothing was overridden: no override task, ``ship`` still open, the engine waits on it."""
    assert not workflow.task_set.filter(name="override").exists()
    ship.refresh_from_db()
    assert ship.status == Task.SCHEDULED
    assert {t["name"] for t in workflow.get_engine_state()["tasks"].values()} == {"ship"}


# Start views and joins are not next tasks


def test_the_override_page_offers_no_start_view(shipping, page):
    workflow, ship = shipping

    shown = page.get(workflow.get_override_url())
    posted = page.post(workflow.get_override_url(), override_form(next_tasks=["checkout"]))

    choices = [value for value, _ in shown.context["form"].fields["next_tasks"].choices]
    assert choices == ["ship", "has_email", "send_tracking_code", "end"]
    assert posted.status_code == 200 and "next_tasks" in posted.context["form"].errors
    untouched(workflow, ship)


def test_the_api_refuses_a_start_view_as_next_task(shipping, boss):
    """The issue's example: ``checkout`` was accepted and left a task no page completes."""
    workflow, ship = shipping

    response = post(
        client_for(boss), instance_url(workflow, "override"), {"next_tasks": ["checkout"]}
    )

    assert response.status_code == 400
    assert "starts new instances" in response.json()["next_tasks"]["0"][0]
    untouched(workflow, ship)


def test_workflow_override_refuses_start_nodes_and_joins(worker):
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "review")

    for next_tasks, reason in [
        (["start"], "starts new instances"),
        (["join"], "is a join"),
        (["approve"], "would wait forever for count_up, review"),
        (["nowhere"], "is not a task"),
    ]:
        with pytest.raises(ValueError, match=reason):
            workflow.override(next_tasks)
    assert not workflow.task_set.filter(name="override").exists()


def test_a_join_is_not_offered_and_its_parents_must_all_be_reached(worker, page, boss):
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "review")
    url = workflow.get_override_url()
    fields = {"count": "1", "target": "0", "choice": "", "flag": ""}

    shown = page.get(url)
    stuck = page.post(url, {**fields, "next_tasks": ["approve"]})
    api = post(client_for(boss), instance_url(workflow, "override"), {"next_tasks": ["review"]})
    ok = page.post(url, {**fields, "next_tasks": ["count_up", "review", "approve"]})

    choices = [value for value, _ in shown.context["form"].fields["next_tasks"].choices]
    assert "join" not in choices and "start" not in choices
    assert stuck.status_code == 200
    assert "would wait forever for count_up, review" in str(stuck.context["form"].errors)
    assert api.status_code == 400 and "approve, count_up" in api.json()["next_tasks"][0]
    assert ok.status_code == 302
    for name in ("review", "approve"):
        wait_until(lambda name=name: workflow.task_set.scheduled().filter(name=name).count() == 1)
        scheduled(workflow, name).complete()
    result(workflow)
    assert tasks(workflow)[-1] == ("end", Task.SUCCEEDED), "the join completed"


# Ending is explicit; fields alone never end the instance


def test_saving_the_override_page_with_nothing_chosen_only_saves_the_fields(shipping, page):
    """The issue's example: change the address, press the button: the instance goes on."""
    workflow, ship = shipping

    response = page.post(workflow.get_override_url(), override_form(shipping_address="Metropolis"))

    assert response.status_code == 302
    workflow.refresh_from_db()
    assert (workflow.shipping_address, workflow.completed) == ("Metropolis", None)
    untouched(workflow, ship)


def test_ending_the_instance_is_a_choice_of_its_own(shipping, page):
    workflow, ship = shipping
    url = workflow.get_override_url()

    both = page.post(url, override_form(next_tasks=["end"], end_instance="on"))
    assert both.status_code == 200 and "end_instance" in both.context["form"].errors
    untouched(workflow, ship)
    ended = page.post(url, override_form(end_instance="on"))

    assert ended.status_code == 302
    result(workflow)
    workflow.refresh_from_db()
    assert workflow.completed is not None
    ship.refresh_from_db()
    assert ship.status == Task.CANCELED
    override = workflow.task_set.get(name="override")
    assert list(override.child_task_set.all()) == []


def test_the_api_changes_fields_only_or_ends_on_request(shipping, boss):
    workflow, ship = shipping
    api = client_for(boss)
    url = instance_url(workflow, "override")

    fields_only = post(api, url, {"shipping_address": "Metropolis"})
    assert fields_only.status_code == 200, fields_only.json()
    assert fields_only.json()["fields"]["shipping_address"] == "Metropolis"
    untouched(workflow, ship)
    empty = post(api, url, {"next_tasks": []})
    nothing = post(api, url, {})
    both = post(api, url, {"next_tasks": ["end"], "end_instance": True})
    assert empty.status_code == nothing.status_code == both.status_code == 400
    assert "end_instance" in empty.json()["next_tasks"][0]
    assert "Nothing to do" in nothing.json()["non_field_errors"][0]
    assert set(both.json()) == {"end_instance"}
    untouched(workflow, ship)
    ended = post(api, url, {"end_instance": True})

    assert ended.status_code == 200, ended.json()
    result(workflow)
    workflow.refresh_from_db()
    assert workflow.completed is not None
    ship.refresh_from_db()
    assert ship.status == Task.CANCELED


# The admin


def admin_form(**changes):
    return {
        **override_form(**changes),
        "task_set-TOTAL_FORMS": "0",
        "task_set-INITIAL_FORMS": "0",
    }


def test_the_admin_says_what_saving_does_and_ends_only_on_request(shipping, superuser_client):
    workflow, ship = shipping
    url = reverse("admin:demo_shippingworkflow_change", args=[workflow.pk])

    shown = superuser_client.get(url)
    saved = superuser_client.post(url, admin_form(shipping_address="Metropolis"))

    form = shown.context["adminform"].form
    assert "keep the open tasks running" in form.fields["next_tasks"].help_text
    assert "end the instance" not in form.fields["next_tasks"].help_text.lower()
    assert [value for value, _ in form.fields["next_tasks"].choices][0] == "ship", "no checkout"
    assert 'name="end_instance"' in shown.content.decode()
    assert saved.status_code == 302
    untouched(workflow, ship)
    checkout = superuser_client.post(url, admin_form(next_tasks=["checkout"]))
    assert checkout.status_code == 200, "the form says no"
    untouched(workflow, ship)

    ended = superuser_client.post(url, admin_form(shipping_address="Metropolis", end_instance="on"))

    assert ended.status_code == 302
    result(workflow)
    workflow.refresh_from_db()
    assert (workflow.shipping_address, workflow.completed is not None) == ("Metropolis", True)
    shown = superuser_client.get(url)
    form = shown.context["adminform"].form
    assert form.fields["next_tasks"].disabled and form.fields["end_instance"].disabled
    assert "ended on" in form.fields["next_tasks"].help_text
    corrected = superuser_client.post(url, admin_form(tracking_code="late"))
    assert corrected.status_code == 302, "an ended instance's fields can still be corrected"
