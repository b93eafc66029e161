"""Admin pages and actions, for a superuser and for staff without the workflow permissions."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.messages.storage.cookie import CookieStorage
from django.urls import reverse

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.admin import TaskInlineAdmin, WorkflowAdmin, cancel, rerun
from joeflow_temporal.models import Task
from joeflow_temporal.runtime import client as engine_client
from tests.helpers import result, wait_until
from tests.testapp import models

CHANGELIST = reverse("admin:joeflow_temporal_task_changelist")


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_task",
                "change_task",
                "view_shippingworkflow",
                "change_shippingworkflow",
            ]
        )
    )
    client.force_login(staff)
    return client


def failed_task(workflow):
    return wait_until(lambda: workflow.task_set.failed().first())


def test_task_changelist_and_filters(worker, superuser_client):
    workflow = models.FailingWorkflow.start(fail=True)
    failed_task(workflow)

    response = superuser_client.get(
        CHANGELIST, {"status": "failed", "workflow": "testapp.failingworkflow"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == list(workflow.task_set.failed())
    assert b"Rerun selected failed tasks" in response.content


def test_task_change_page_shows_the_traceback_and_relatives(worker, superuser_client):
    workflow = models.FailingWorkflow.start(fail=True)
    task = failed_task(workflow)

    response = superuser_client.get(reverse("admin:joeflow_temporal_task_change", args=[task.pk]))

    assert response.status_code == 200
    assert b"raise ValueError" in response.content and b"<pre>" in response.content
    assert f"start #{task.parent_task_set.get().pk}".encode() in response.content


def test_rerun_action_reruns_failed_tasks_and_says_what_it_skipped(worker, superuser_client):
    workflow = models.FailingWorkflow.start(fail=True)
    task = failed_task(workflow)
    start = workflow.task_set.get(name="start")
    models.FailingWorkflow.objects.filter(pk=workflow.pk).update(fail=False)

    selected = {"action": "rerun", "_selected_action": [task.pk, start.pk]}

    confirmation = superuser_client.post(CHANGELIST, selected)

    assert confirmation.status_code == 200, "first a page that asks why"
    assert [t for t, _ in confirmation.context["rows"]] == [start, task]
    html = confirmation.content.decode()
    assert '<textarea name="comment"' in html and 'name="post" value="yes"' in html
    assert f"explode #{task.pk}</a> (failed)" in html and f"start #{start.pk}</a>" in html
    task.refresh_from_db()
    assert task.status == Task.FAILED, "nothing done yet"

    response = superuser_client.post(
        CHANGELIST, {**selected, "post": "yes", "comment": "Input fixed."}, follow=True
    )

    messages = [str(m) for m in response.context["messages"]]
    assert "1 task(s) sent to run again." in messages
    assert any(m.startswith("Skipped 1: start #") for m in messages)
    result(workflow)
    task.refresh_from_db()
    assert (task.status, task.comment) == (Task.SUCCEEDED, "Input fixed.")
    assert start.comment == "", "the skipped task keeps its own"


def test_cancel_action(worker, superuser_client):
    workflow = models.FailingWorkflow.start(fail=True)
    task = failed_task(workflow)

    selected = {"action": "cancel", "_selected_action": [task.pk]}
    confirmation = superuser_client.post(CHANGELIST, selected)
    assert b"Cancel the selected tasks" in confirmation.content

    response = superuser_client.post(CHANGELIST, {**selected, "post": "yes", "comment": ""})

    assert response.status_code == 302 and response.url == CHANGELIST
    result(workflow)
    task.refresh_from_db()
    assert (task.status, task.comment) == (Task.CANCELED, ""), "the comment is optional"


def test_staff_without_permissions_gets_no_actions(worker, staff_client):
    workflow = models.FailingWorkflow.start(fail=True)
    task = failed_task(workflow)

    page = staff_client.get(CHANGELIST)
    assert page.status_code == 200
    assert b"Rerun selected" not in page.content and b"Cancel selected" not in page.content
    staff_client.post(CHANGELIST, {"action": "rerun", "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.status == Task.FAILED
    assert staff_client.get(reverse("admin:joeflow_temporal_task_add")).status_code == 403
    assert (
        staff_client.get(reverse("admin:joeflow_temporal_task_delete", args=[task.pk])).status_code
        == 403
    )


def test_workflow_admin_page(worker, superuser_client, settings):
    settings.JOEFLOW_TEMPORAL_UI_URL = "http://temporal-ui.example"
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    wait_until(lambda: workflow.task_set.scheduled().filter(name="ship").exists())
    url = reverse("admin:demo_shippingworkflow_change", args=[workflow.pk])

    response = superuser_client.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "<svg" in content, "the instance graph"
    assert (
        f"http://temporal-ui.example/namespaces/default/workflows/{workflow.temporal_workflow_id}"
        in content
    )
    assert 'name="next_tasks"' in content
    assert content.count("joeflow_temporal/task/") >= 2, "the task inline links every task"


def test_workflow_admin_override_on_save(worker, superuser_client):
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    ship = wait_until(lambda: workflow.task_set.scheduled().filter(name="ship").first())
    url = reverse("admin:demo_shippingworkflow_change", args=[workflow.pk])
    form = {
        "email": "",
        "shipping_address": "Metropolis",
        "tracking_code": "T-1",
        "next_tasks": ["end"],
        "override_comment": "Shipped by hand.",
        "task_set-TOTAL_FORMS": "0",
        "task_set-INITIAL_FORMS": "0",
    }

    response = superuser_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    result(workflow)
    workflow.refresh_from_db()
    assert workflow.shipping_address == "Metropolis"
    ship.refresh_from_db()
    assert (ship.status, ship.comment) == (Task.CANCELED, "Shipped by hand.")
    assert workflow.task_set.get(name="override").comment == "Shipped by hand."
    assert workflow.task_set.get(name="end").status == Task.SUCCEEDED


def test_workflow_admin_without_override_permission_has_no_override(worker, staff_client):
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})

    response = staff_client.get(reverse("admin:demo_shippingworkflow_change", args=[workflow.pk]))

    assert response.status_code == 200
    assert b'name="next_tasks"' not in response.content


def test_admin_save_overrides_through_the_forms_hook(worker, superuser_client):
    """The admin calls the form's ``start_next_tasks(user)``, as the override page does."""
    workflow = models.CustomPagesWorkflow.start()
    review = wait_until(lambda: workflow.task_set.scheduled().filter(name="review").first())
    url = reverse("admin:testapp_custompagesworkflow_change", args=[workflow.pk])
    form = {
        "count": "7",
        "target": "0",
        "choice": "",
        "task_set-TOTAL_FORMS": "0",
        "task_set-INITIAL_FORMS": "0",
    }

    saved = superuser_client.post(url, form)
    review.refresh_from_db()
    assert saved.status_code == 302 and review.status == Task.SCHEDULED, "no choice: fields only"
    overridden = superuser_client.post(url, {**form, "next_tasks": ["end"]})

    assert overridden.status_code == 302, overridden.content.decode()[:2000]
    result(workflow)
    workflow.refresh_from_db()
    assert (workflow.count, workflow.choice) == (7, "overridden by root"), "the admin's own form"
    review.refresh_from_db()
    assert review.status == Task.CANCELED
    override = workflow.task_set.get(name="override")
    assert override.completed_by_user.username == "root"


def test_joeflows_admin_names(worker, rf, django_user_model):
    """Module-level actions ``rerun`` and ``cancel``, and ``TaskInlineAdmin``, as in joeflow."""
    request = rf.post(CHANGELIST, {"post": "yes", "comment": "Not needed."})
    request.user = django_user_model.objects.create_superuser("root", "", "pw")
    request._messages = CookieStorage(request)
    task_admin = admin.site._registry[Task]
    workflow = models.FailingWorkflow.start(fail=True)
    failed = failed_task(workflow)

    cancel(task_admin, request, Task.objects.filter(pk=failed.pk))

    assert task_admin.actions == [rerun, cancel]
    assert {"rerun", "cancel"} <= set(task_admin.get_actions(request))
    result(workflow)
    failed.refresh_from_db()
    assert (failed.status, failed.comment) == (Task.CANCELED, "Not needed.")
    assert [str(m) for m in request._messages] == ["1 task(s) canceled."]

    class NoteInline(admin.TabularInline):
        model = Task
        fk_name = "_workflow"

    class ProjectAdmin(WorkflowAdmin):
        inlines = [NoteInline]

    inlines = ProjectAdmin(ShippingWorkflow, admin.site).get_inlines(request, None)
    assert inlines == [NoteInline, TaskInlineAdmin], "the project's inlines, then the tasks"


def test_view_on_site_only_where_there_is_a_page(worker, superuser_client):
    """A task that is not a scheduled human task has no page: no "View on site" link for it
    (Django's link answered 500), on its page nor in its instance's task list."""
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    ship = wait_until(lambda: workflow.task_set.scheduled().filter(name="ship").first())
    checkout = workflow.task_set.get(name="checkout")

    done = superuser_client.get(reverse("admin:joeflow_temporal_task_change", args=[checkout.pk]))
    open_ = superuser_client.get(reverse("admin:joeflow_temporal_task_change", args=[ship.pk]))
    instance = superuser_client.get(
        reverse("admin:demo_shippingworkflow_change", args=[workflow.pk])
    )

    assert b"View on site" not in done.content
    assert f'href="{ship.get_absolute_url()}" class="viewsitelink"'.encode() in open_.content
    links = re.findall(r'href="([^"]+)">View on site', instance.content.decode())
    assert links == [ship.get_absolute_url()], "the inline links the open task only"
    assert f'href="{workflow.get_absolute_url()}" class="viewsitelink"'.encode() in instance.content
    assert superuser_client.get(ship.get_absolute_url()).status_code == 200


def test_add_starts_an_instance_at_the_chosen_start_task(worker, superuser_client):
    """The add page starts the instance, as its start view would; the row was otherwise no
    instance of the class ("added" and "doesn't exist" at once, and missing from the list)."""
    add = reverse("admin:demo_shippingworkflow_add")
    form = {
        "start_at": "checkout",
        "shipping_address": "Gotham",
        "email": "",
        "tracking_code": "",
        "task_set-TOTAL_FORMS": "0",
        "task_set-INITIAL_FORMS": "0",
        "_continue": "1",
    }

    response = superuser_client.post(add, form, follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert response.status_code == 200 and len(messages) == 1 and "added" in messages[0]
    workflow = ShippingWorkflow.instances().get()
    assert response.redirect_chain[-1][0] == reverse(
        "admin:demo_shippingworkflow_change", args=[workflow.pk]
    )
    checkout = workflow.task_set.get(name="checkout")
    assert checkout.status == Task.SUCCEEDED and checkout.completed_by_user.username == "root"
    wait_until(lambda: workflow.task_set.scheduled().filter(name="ship").exists())
    listed = superuser_client.get(reverse("admin:demo_shippingworkflow_changelist"))
    assert list(listed.context["cl"].queryset) == [workflow]
    assert 'name="start_at"' in superuser_client.get(add).content.decode()


def test_add_refused_by_temporal_saves_nothing(worker, superuser_client, settings):
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"  # nothing listens there
    form = {
        "start_at": "checkout",
        "shipping_address": "Gotham",
        "task_set-TOTAL_FORMS": "0",
        "task_set-INITIAL_FORMS": "0",
    }

    response = superuser_client.post(reverse("admin:demo_shippingworkflow_add"), form, follow=True)

    assert any("Nothing was saved" in str(m) for m in response.context["messages"])
    assert not ShippingWorkflow.objects.exists()


def test_running_instances_are_not_deleted_and_ended_ones_are(worker, superuser_client):
    running = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    ended = ShippingWorkflow.start_with("checkout", {"shipping_address": "Metropolis"})
    wait_until(lambda: ended.task_set.scheduled().filter(name="ship").first()).complete()
    result(ended)
    changelist = reverse("admin:demo_shippingworkflow_changelist")

    page = superuser_client.get(reverse("admin:demo_shippingworkflow_change", args=[running.pk]))
    refused = superuser_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [running.pk, ended.pk], "post": "yes"},
        follow=True,
    )
    deleted = superuser_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [ended.pk], "post": "yes"},
        follow=True,
    )

    assert b"deletelink" not in page.content
    assert [str(m) for m in refused.context["messages"]] == [
        f"Nothing was deleted: {running} still running. End an instance first (cancel its "
        "open tasks), then delete it."
    ]
    assert "Successfully deleted 1" in str(list(deleted.context["messages"])[0])
    assert list(ShippingWorkflow.objects.all()) == [running]
    assert running.task_set.exists()


def test_no_recover_pages_for_instances(worker, superuser_client):
    """A deleted instance's tasks and execution are gone: nothing to recover."""
    changelist = superuser_client.get(reverse("admin:demo_shippingworkflow_changelist"))

    assert b"recover" not in changelist.content.lower()
    assert superuser_client.get(changelist.wsgi_request.path + "recover/").status_code == 404


def test_an_override_the_engine_refuses_says_why(worker, superuser_client):
    """The instance's execution was terminated in Temporal while the database shows it running:
    the admin's save rolls back and says what to do, as the override page does."""
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    wait_until(lambda: workflow.task_set.scheduled().filter(name="ship").exists())
    handle = engine_client.run(_handle(workflow.temporal_workflow_id), timeout=30)
    engine_client.run(handle.terminate("test: gone"), timeout=30)
    url = reverse("admin:demo_shippingworkflow_change", args=[workflow.pk])
    form = {
        "email": "",
        "shipping_address": "Metropolis",
        "tracking_code": "",
        "next_tasks": ["end"],
        "task_set-TOTAL_FORMS": "0",
        "task_set-INITIAL_FORMS": "0",
    }

    response = superuser_client.post(url, form, follow=True)

    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("Nothing was saved: The engine no longer runs"), message
    assert "Temporal web UI" in message
    workflow.refresh_from_db()
    assert workflow.shipping_address == "Gotham"
    assert not workflow.task_set.filter(name="override").exists()


async def _handle(workflow_id):
    return (await engine_client.get_client()).get_workflow_handle(workflow_id)


def test_task_pages_show_due_priority_comment_and_candidate_groups(worker, superuser_client):
    """The engine's fields read-only; the candidate groups editable, as the assignees."""
    reviewers = Group.objects.create(name="reviewers")
    workflow = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    review = wait_until(lambda: workflow.task_set.scheduled().filter(name="ship").first())
    Task.objects.filter(pk=review.pk).update(priority=4, comment="Urgent: the auditor asks.")
    review.candidate_groups.add(reviewers)
    change = reverse("admin:joeflow_temporal_task_change", args=[review.pk])

    page = superuser_client.get(change)

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="assignees"' in html and 'name="priority"' not in html
    assert 'name="candidate_groups"' not in html and "reviewers" in html, "shown, not edited"
    assert "Urgent: the auditor asks." in html
    form = page.context["adminform"].form
    assert set(form.fields) == {"assignees"}
    listing = superuser_client.get(CHANGELIST).content.decode()
    assert "column-priority" in listing and "column-due" in listing
    instance = superuser_client.get(
        reverse("admin:demo_shippingworkflow_change", args=[workflow.pk])
    ).content.decode()
    assert "Urgent: the auditor asks." in instance and "reviewers" in instance

    managers = Group.objects.create(name="managers")
    response = superuser_client.post(change, {"candidate_groups": [managers.pk]})

    assert response.status_code == 302
    assert list(review.candidate_groups.all()) == [reviewers], "the view's groups stay"
    review.refresh_from_db()
    assert (review.priority, review.comment) == (4, "Urgent: the auditor asks.")
