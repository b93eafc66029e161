"""The HTML pages of human tasks, with a real worker: start, complete, detail, override."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.db import OperationalError
from django.forms import modelform_factory
from django.test import Client
from django.urls import NoReverseMatch, reverse

from joeflow_temporal.forms import OverrideForm
from joeflow_temporal.models import Task
from joeflow_temporal.views import TaskViewMixin
from tests.helpers import parents, result, scheduled, tasks, wait_until
from tests.testapp import models


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="pw")


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def test_start_page_renders_with_the_shipped_templates(worker, client):
    response = client.get(reverse("humanworkflow:start"))

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "joeflow_temporal/workflow_form.html"
    assert b'name="choice"' in response.content and b"csrfmiddlewaretoken" in response.content


def test_template_lookup_order_is_joefows(worker):
    view = TaskViewMixin()
    view.model, view.name = models.HumanWorkflow, "edit"

    assert view.get_template_names() == [
        "testapp/humanworkflow_edit.html",
        "testapp/humanworkflow_form.html",
        "testapp/workflow_form.html",
        "joeflow_temporal/workflow_form.html",
    ]


def test_start_then_complete_through_the_pages(worker, user_client, user):
    response = user_client.post(reverse("humanworkflow:start"), {"choice": "web"})

    workflow = models.HumanWorkflow.objects.get()
    start = workflow.task_set.get(name="start")
    assert (start.status, start.completed_by_user) == (Task.SUCCEEDED, user)
    edit = workflow.task_set.get(name="edit", status=Task.SCHEDULED)
    assert edit.get_absolute_url() == reverse("humanworkflow:edit", args=[edit.pk])
    # On to the next task the user may complete, as soon as the engine mirrored it.
    assert response.status_code == 302 and response.url == edit.get_absolute_url()

    page = user_client.get(edit.get_absolute_url())
    assert page.status_code == 200 and b'name="count"' in page.content
    response = user_client.post(edit.get_absolute_url(), {"count": "5"})

    assert response.status_code == 302 and response.url == workflow.get_absolute_url()
    result(workflow)
    workflow.refresh_from_db()
    assert workflow.count == 5
    edit.refresh_from_db()
    assert (edit.status, edit.completed_by_user) == (Task.SUCCEEDED, user)
    assert tasks(workflow) == [("start", "succeeded"), ("edit", "succeeded"), ("end", "succeeded")]
    assert user_client.get(reverse("humanworkflow:edit", args=[edit.pk])).status_code == 404


def test_invalid_form_shows_errors_and_writes_nothing(worker, user_client):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")

    response = user_client.post(edit.get_absolute_url(), {"count": "many"})

    assert response.status_code == 200
    assert "count" in response.context["form"].errors
    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED


def test_temporal_unreachable_answers_503_and_writes_nothing(worker, user_client, settings):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    completing = user_client.post(edit.get_absolute_url(), {"count": "9"})
    starting = user_client.post(reverse("humanworkflow:start"), {"choice": "y"})

    assert completing.status_code == starting.status_code == 503
    assert b"not saved" in completing.content
    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED
    assert models.HumanWorkflow.objects.get().count == 0, "no second instance, no saved count"


def test_assigned_task_is_only_for_its_assignees(worker, client, user, django_user_model):
    other = django_user_model.objects.create_user(username="bob", password="pw")
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")
    edit.assignees.add(user)

    client.force_login(other)
    assert client.get(edit.get_absolute_url()).status_code == 403
    assert client.post(edit.get_absolute_url(), {"count": "1"}).status_code == 403
    client.force_login(user)
    assert client.get(edit.get_absolute_url()).status_code == 200
    assert list(Task.objects.for_user(other).filter(pk=edit.pk)) == []
    assert list(Task.objects.for_user(user).filter(pk=edit.pk)) == [edit]
    assert list(Task.objects.for_user(AnonymousUser()).filter(pk=edit.pk)) == []
    assert client.get("/").status_code == 200


def test_views_honour_the_projects_permission_mixins(worker, client, user):
    workflow = models.GuardedWorkflow.start()
    edit = scheduled(workflow, "edit")

    response = client.get(edit.get_absolute_url())
    assert response.status_code == 302 and "/login" in response.url

    client.force_login(user)
    assert client.get(edit.get_absolute_url()).status_code == 200


def test_create_task_hook_assigns_users(worker, client, user, django_user_model):
    other = django_user_model.objects.create_user(username="bob", password="pw")
    models.CREATE_TASK_CALLS.clear()
    workflow = models.GuardedWorkflow.start(choice="ada")

    edit = scheduled(workflow, "edit")

    assert list(edit.assignees.all()) == [user]
    assert models.CREATE_TASK_CALLS == [("edit", "start")]
    client.force_login(other)
    assert client.get(edit.get_absolute_url()).status_code == 403
    client.force_login(user)
    assert client.post(edit.get_absolute_url(), {"count": "2"}).status_code == 302
    result(workflow)


def test_forms_require_csrf(worker, user):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    assert strict.post(edit.get_absolute_url(), {"count": "1"}).status_code == 403
    assert strict.post(reverse("humanworkflow:start"), {"choice": "y"}).status_code == 403
    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED


def test_detail_page_lists_the_tasks(worker, client):
    workflow = models.SplitJoinWorkflow.start()
    review = scheduled(workflow, "review")

    response = client.get(reverse("splitjoinworkflow:detail", args=[workflow.pk]))

    assert response.status_code == 200
    assert review.get_absolute_url().encode() in response.content
    assert workflow.temporal_workflow_id.encode() in response.content
    assert workflow.get_override_url().encode() in response.content


def test_instance_pages_only_show_their_own_class(worker, client, user):
    """SplitJoinWorkflow and HumanWorkflow are proxies of one table: pks must not cross over."""
    other = models.HumanWorkflow.start_with("start", {"choice": "x"})

    assert client.get(reverse("splitjoinworkflow:detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("humanworkflow:detail", args=[other.pk])).status_code == 200


def test_override_needs_the_permission(worker, user_client, user):
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "review")
    url = reverse("splitjoinworkflow:override", args=[workflow.pk])

    assert user_client.get(url).status_code == 403
    assert user_client.post(url, {"next_tasks": ["end"]}).status_code == 403
    assert not workflow.task_set.filter(name="override").exists()


def test_override_page_cancels_open_tasks_and_starts_the_chosen(worker, user_client, user):
    user.user_permissions.add(Permission.objects.get(codename="override"))
    workflow = models.SplitJoinWorkflow.start()
    review = scheduled(workflow, "review")
    scheduled(workflow, "join")
    url = workflow.get_override_url()

    page = user_client.get(url)
    assert page.status_code == 200
    assert b'value="end"' in page.content and b'name="count"' in page.content
    response = user_client.post(
        url, {"next_tasks": ["end"], "count": "3", "target": "0", "choice": "", "flag": ""}
    )

    assert response.status_code == 302, response.content
    result(workflow)
    workflow.refresh_from_db()
    assert workflow.count == 3
    review.refresh_from_db()
    assert review.status == Task.CANCELED
    override = workflow.task_set.get(name="override")
    assert override.completed_by_user == user
    assert parents(workflow.task_set.get(name="end")) == ["override"]


def test_own_views_complete_their_tasks_with_next_task(worker, user_client, user):
    """joeflow's way for a project's own views: save, then ``next_task()`` (start and complete)."""
    response = user_client.post(reverse("customviewsworkflow:start", args=["web"]))

    workflow = models.CustomViewsWorkflow.objects.get()
    assert response.status_code == 302 and workflow.choice == "web"
    start = workflow.task_set.get(name="start")
    assert (start.status, start.completed_by_user) == (Task.SUCCEEDED, user)
    edit = scheduled(workflow, "edit")
    edit_url = reverse("customviewsworkflow:edit", args=[edit.pk, "intro"])
    assert user_client.post(edit_url, {"count": "2"}).status_code == 302
    approve = scheduled(workflow, "approve")

    response = user_client.post(reverse("customviewsworkflow:approve", args=[approve.pk]))

    assert response.status_code == 302
    result(workflow)
    workflow.refresh_from_db()
    assert (workflow.count, workflow.flag) == (2, True)
    approve.refresh_from_db()
    assert (approve.status, approve.completed_by_user) == (Task.SUCCEEDED, user)
    assert tasks(workflow)[-1] == ("end", "succeeded")


def test_task_views_take_joeflows_view_arguments(worker, user_client):
    """``path`` adds a URL postfix; ``form_class``, ``template_name``, ``success_url`` work as on
    Django's views."""
    assert reverse("customviewsworkflow:start", args=["web"]) == "/custom-views/start/web/"
    workflow = models.CustomViewsWorkflow.objects.create()
    workflow.start_engine("start")
    edit = scheduled(workflow, "edit")
    url = reverse("customviewsworkflow:edit", args=[edit.pk, "intro"])
    assert url == f"/custom-views/edit/{edit.pk}/intro/"

    page = user_client.get(url)
    assert page.status_code == 200
    assert [t.name for t in page.templates][0] == "testapp/count_form.html"
    assert b"Section intro" in page.content
    refused = user_client.post(url, {"count": "11"})
    assert refused.status_code == 200 and refused.context["form"].errors == {
        "count": ["At most 10."]
    }
    response = user_client.post(url, {"count": "10"})
    assert (response.status_code, response.url) == (302, f"/custom-views/{workflow.pk}/?edited")
    scheduled(workflow, "approve")
    workflow.refresh_from_db()
    assert workflow.count == 10


def test_override_and_detail_views_are_chosen_by_the_class(worker, client, django_user_model):
    """``override_view``: a view class or dotted path; ``detail_view = None``: no detail URL."""
    user = django_user_model.objects.create_user(username="ada", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="override"))
    client.force_login(user)
    pages = models.CustomPagesWorkflow.start()
    review = scheduled(pages, "review")
    views = models.CustomViewsWorkflow.objects.create()
    views.start_engine("start")
    scheduled(views, "edit")

    with pytest.raises(NoReverseMatch):
        reverse("custompagesworkflow:detail", args=[pages.pk])
    with pytest.raises(NoReverseMatch):
        views.get_override_url()
    detail = client.get(views.get_absolute_url())
    assert detail.status_code == 200 and b"Override" not in detail.content
    page = client.get(pages.get_override_url())
    assert page.status_code == 200
    assert list(page.context["form"].fields) == [
        "count",
        "next_tasks",
        "end_instance",
        "override_comment",
    ]
    response = client.post(
        pages.get_override_url(),
        {"count": "4", "next_tasks": ["end"], "override_comment": "Done by phone."},
    )

    assert response.status_code == 302
    result(pages)
    pages.refresh_from_db()
    assert (pages.count, pages.choice) == (4, "overridden by ada"), "the view's own form"
    review.refresh_from_db()
    assert (review.status, review.comment) == (Task.CANCELED, "Done by phone.")
    assert parents(pages.task_set.get(name="end")) == ["override"]


def test_override_form_names_its_next_tasks_and_starts_them(worker, user):
    """joeflow's ``OverrideForm`` API: ``get_next_task_nodes()``, ``start_next_tasks(user)``."""
    workflow = models.SplitJoinWorkflow.start()
    review = scheduled(workflow, "review")
    form_class = modelform_factory(models.SplitJoinWorkflow, form=OverrideForm, fields=["count"])
    form = form_class({"count": "1", "next_tasks": ["split", "end"]}, instance=workflow)
    assert form.is_valid(), form.errors

    assert list(form.get_next_task_nodes()) == [
        models.SplitJoinWorkflow.get_node("split"),
        models.SplitJoinWorkflow.get_node("end"),
    ]
    form.save()
    override = form.start_next_tasks(user)

    assert (override.name, override.completed_by_user) == ("override", user)
    wait_until(lambda: workflow.task_set.scheduled().filter(name="approve").count() == 1)
    wait_until(lambda: workflow.task_set.filter(name="end", status=Task.SUCCEEDED).exists())
    review.refresh_from_db()
    assert review.status == Task.CANCELED
    assert parents(workflow.task_set.get(name="end")) == ["override"]


def test_a_database_that_refuses_the_write_answers_503_and_saves_nothing(
    worker, user_client, monkeypatch
):
    """SQLite without immediate transactions refuses one of two simultaneous completions
    ("database is locked"): the page says so with a 503, as the API does, never a 500."""
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = workflow.task_set.get(name="edit", status=Task.SCHEDULED)

    def locked(self, *statuses):
        raise OperationalError("database is locked")

    monkeypatch.setattr(Task, "locked", locked)
    response = user_client.post(edit.get_absolute_url(), {"count": "7"})

    assert response.status_code == 503
    assert "not saved" in response.content.decode()
    workflow.refresh_from_db()
    edit.refresh_from_db()
    assert (workflow.count, edit.status) == (0, Task.SCHEDULED)
