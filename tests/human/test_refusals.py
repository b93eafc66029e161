"""Refusals say what happened and what to do: task pages (409 for a stale form, 404 for a
closed task, 403 for someone else's) and the API's JSON ``detail``, for every action.

A task page opened before the task was completed, canceled or overridden elsewhere, posted
after: the form comes back with status 409 and a message saying who did what when, and nothing
is saved.
"""

import pytest
from django.urls import reverse

from joeflow_temporal.models import Task
from joeflow_temporal.runtime.compile import compile_graph
from joeflow_temporal.views import TaskViewMixin
from tests.helpers import (
    client_for,
    instance_url,
    make_user,
    post,
    result,
    scheduled,
    start_url,
    task_url,
)
from tests.testapp import models


@pytest.fixture
def ada(django_user_model):
    return make_user(django_user_model, "ada")


@pytest.fixture
def boss(django_user_model):
    return make_user(django_user_model, "boss", "override", "cancel", "rerun")


@pytest.fixture
def page(client, ada):
    client.force_login(ada)
    return client


@pytest.fixture
def opened(worker, page):
    """A HumanWorkflow whose ``edit`` page ada has open."""
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")
    assert page.get(edit.get_absolute_url()).status_code == 200
    return workflow, edit


def refused_form(response) -> str:
    """The form's error message of a 409 answer; the form still holds what the user typed."""
    assert response.status_code == 409, response.content.decode()[:2000]
    form = response.context["form"]
    assert form.data["count"] == "7", "the form comes back with the user's input"
    return " ".join(form.non_field_errors())


# The page: a form opened before the task was closed elsewhere


def test_a_form_posted_after_the_task_was_completed_through_the_api_is_409(opened, page, boss):
    workflow, edit = opened
    done = post(client_for(boss), task_url(edit, "complete"), {"count": 2})
    assert done.status_code == 200, done.json()

    message = refused_form(page.post(edit.get_absolute_url(), {"count": "7"}))

    assert "completed by boss" in message and "not saved" in message
    workflow.refresh_from_db()
    assert workflow.count == 2, "nothing of the late form is saved"


def test_a_form_posted_after_the_instance_was_canceled_is_409(opened, page, boss):
    workflow, edit = opened
    workflow.cancel(user=boss)

    message = refused_form(page.post(edit.get_absolute_url(), {"count": "7"}))

    assert "boss canceled the instance" in message
    workflow.refresh_from_db()
    assert workflow.count == 0


def test_a_form_posted_after_an_override_is_409(opened, page, boss):
    workflow, edit = opened
    workflow.override(["end"], user=boss)

    message = refused_form(page.post(edit.get_absolute_url(), {"count": "7"}))

    assert "override by boss" in message
    workflow.refresh_from_db()
    assert workflow.count == 0


def test_a_form_posted_after_the_task_failed_is_409_and_says_rerun(opened, page):
    workflow, edit = opened
    Task.objects.filter(pk=edit.pk).update(status=Task.FAILED, exception="LookupError: no group")

    message = refused_form(page.post(edit.get_absolute_url(), {"count": "7"}))

    assert "failed" in message and "LookupError: no group" in message and "rerun" in message


def test_a_closed_task_page_is_404_and_says_what_happened(opened, page, boss):
    workflow, edit = opened
    url = edit.get_absolute_url()
    edit.complete(user=boss)

    response = page.get(url)

    assert response.status_code == 404
    content = response.content.decode()
    assert "completed by boss" in content and workflow.get_absolute_url() in content
    assert "not saved" not in content, "the page was only opened: nothing to save"
    posted = page.post(url, {"count": "7"})
    assert posted.status_code == 409 and "not saved" in posted.content.decode()


def test_someone_elses_task_is_403_and_names_its_assignees(opened, page, ada, django_user_model):
    workflow, edit = opened
    edit.assignees.add(make_user(django_user_model, "grace"))

    shown = page.get(edit.get_absolute_url())
    posted = page.post(edit.get_absolute_url(), {"count": "7"})
    api = post(
        client_for(django_user_model.objects.get(username="ada")), task_url(edit, "complete")
    )

    assert shown.status_code == posted.status_code == api.status_code == 403
    assert "assigned to grace" in shown.content.decode()
    assert "assigned to grace" in posted.content.decode()
    assert "assigned to grace" in api.json()["detail"]


def test_an_own_view_posted_after_the_task_was_completed_is_409(worker, page, boss):
    """A project's view without a form (``next_task()`` in ``post``): a page, not a 500."""
    workflow = models.CustomViewsWorkflow.objects.create()
    workflow.start_engine("start")
    edit = scheduled(workflow, "edit")
    edit.complete(user=boss)
    approve = scheduled(workflow, "approve")
    approve.complete(user=boss)

    response = page.post(reverse("customviewsworkflow:approve", args=[approve.pk]))

    assert response.status_code == 409
    assert "completed by boss" in response.content.decode()
    workflow.refresh_from_db()
    assert not workflow.flag


def test_an_own_view_that_loses_the_race_inside_post_is_409(worker, page, boss, monkeypatch):
    """The task is completed between the page's checks and its ``next_task()``."""
    workflow = models.CustomViewsWorkflow.objects.create()
    workflow.start_engine("start")
    scheduled(workflow, "edit").complete(user=boss)
    approve = scheduled(workflow, "approve")
    approve.complete(user=boss)
    monkeypatch.setattr(TaskViewMixin, "refusal", lambda self: None)

    response = page.post(reverse("customviewsworkflow:approve", args=[approve.pk]))

    assert response.status_code == 409
    assert "completed by boss" in response.content.decode()


# A node a deploy removed


@pytest.fixture
def edit_removed(monkeypatch):
    """Deploy a HumanWorkflow without ``edit`` in this process (its URL stays: the URLconf
    was loaded before, as a page opened before the deploy would post to it)."""

    def deploy():
        monkeypatch.delattr(models.HumanWorkflow, "edit")
        monkeypatch.setattr(
            models.HumanWorkflow, "edges", [(models.HumanWorkflow.start, models.HumanWorkflow.end)]
        )
        compile_graph.cache_clear()

    yield deploy
    monkeypatch.undo()
    compile_graph.cache_clear()


def test_completing_a_task_whose_node_a_deploy_removed_says_so(opened, page, boss, edit_removed):
    workflow, edit = opened
    edit_removed()

    api = post(client_for(boss), task_url(edit, "complete"), {"count": 7})
    message = refused_form(page.post(edit.get_absolute_url(), {"count": "7"}))
    detail = page.get(workflow.get_absolute_url()).content.decode()

    assert api.status_code == 409
    for text in (api.json()["detail"], message, detail):
        assert "removed" in text and "override" in text, text
    assert "not an open human task" not in api.json()["detail"]
    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED


# The API's JSON detail, for every action


def test_api_complete_of_a_task_completed_elsewhere_says_by_whom(opened, boss, ada):
    workflow, edit = opened
    edit.complete(user=boss)

    response = post(client_for(ada), task_url(edit, "complete"), {"count": 7})

    assert response.status_code == 409
    assert "completed by boss" in response.json()["detail"]


def test_api_complete_of_a_machine_task_says_the_engine_runs_it(worker, ada):
    workflow = models.LinearWorkflow.start()
    result(workflow)
    first = workflow.task_set.get(name="first")

    response = post(client_for(ada), task_url(first, "complete"))

    assert response.status_code == 409
    assert "machine task" in response.json()["detail"]


def test_api_rerun_of_a_task_that_did_not_fail_says_what_it_is(opened, boss):
    workflow, edit = opened

    response = post(client_for(boss), task_url(edit, "rerun"))

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "still open" in detail and "Only a failed task" in detail


def test_api_cancel_of_a_completed_task_says_by_whom(opened, boss, ada):
    workflow, edit = opened
    edit.complete(user=ada)

    response = post(client_for(boss), task_url(edit, "cancel"))

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "completed by ada" in detail and "Only a scheduled or failed task" in detail


def test_api_actions_on_an_ended_instance_say_how_it_ended(opened, boss):
    workflow, edit = opened
    workflow.cancel(user=boss)

    override = post(client_for(boss), instance_url(workflow, "override"), {"next_tasks": ["end"]})
    cancel = post(client_for(boss), instance_url(workflow, "cancel"))

    assert override.status_code == cancel.status_code == 409
    for response in (override, cancel):
        assert "canceled by boss" in response.json()["detail"], response.json()


def test_the_override_page_of_an_ended_instance_is_409_and_says_so(opened, client, boss):
    workflow, edit = opened
    workflow.cancel(user=boss)
    client.force_login(boss)

    shown = client.get(workflow.get_override_url())
    posted = client.post(workflow.get_override_url(), {"next_tasks": ["end"]})

    assert shown.status_code == posted.status_code == 409
    assert "canceled by boss" in posted.content.decode()
    assert not workflow.task_set.filter(name="override").exists()


def test_api_start_through_a_node_that_is_no_start_view_names_the_start_views(worker, ada):
    api = client_for(ada)

    not_a_start = post(api, start_url(models.HumanWorkflow, "edit"))
    unknown = post(api, start_url(models.HumanWorkflow, "checkout"))
    code_only = post(api, start_url(models.LinearWorkflow, "start"))

    assert not_a_start.status_code == unknown.status_code == code_only.status_code == 404
    assert "'edit' is a task inside an instance" in not_a_start.json()["detail"]
    assert "start views: start" in unknown.json()["detail"]
    assert "has no start view to call" in code_only.json()["detail"]


def test_the_admins_actions_say_why_they_skipped_a_task(opened, client, django_user_model, boss):
    workflow, edit = opened
    edit.complete(user=boss)
    client.force_login(django_user_model.objects.create_superuser("root", "", "pw"))

    response = client.post(
        reverse("admin:joeflow_temporal_task_changelist"),
        {"action": "rerun", "_selected_action": [edit.pk], "post": "yes"},
        follow=True,
    )

    assert "completed by boss" in response.content.decode()
