"""joeflow's django-reversion integration: a revision per task, commented with the task's name."""

import os
import subprocess
import sys

import pytest
import reversion
from django.contrib.auth.models import Permission
from django.urls import reverse
from reversion.models import Revision, Version

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.admin import WorkflowAdmin
from joeflow_temporal.models import Task
from tests.helpers import ROOT, result, scheduled, wait_until
from tests.testapp import models


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_superuser("ada", "", "pw")


def revisions(workflow) -> list[tuple[str, dict]]:
    """``(comment, the instance's fields in it)`` of each revision of the instance, oldest first."""
    versions = Version.objects.get_for_object(workflow).select_related("revision")
    return [(v.revision.comment, v.field_dict) for v in reversed(versions)]


def test_workflows_are_registered_at_start_up():
    assert reversion.is_registered(models.HumanWorkflow)
    assert reversion.is_registered(models.Counter), "a proxy's versions are stored under it"
    assert reversion.is_registered(ShippingWorkflow)
    assert isinstance(WorkflowAdmin(ShippingWorkflow, None), reversion.admin.VersionAdmin)


def test_a_revision_per_human_task(worker, client, user):
    client.force_login(user)
    client.post(reverse("humanworkflow:start"), {"choice": "web"})
    workflow = models.HumanWorkflow.objects.get()
    edit = scheduled(workflow, "edit")

    assert client.post(edit.get_absolute_url(), {"count": "5"}).status_code == 302

    result(workflow)
    assert [(comment, f["choice"], f["count"]) for comment, f in revisions(workflow)] == [
        ("start", "web", 0),
        ("edit", "web", 5),
    ]
    assert set(Revision.objects.values_list("user__username", flat=True)) == {"ada"}


def test_a_revision_per_machine_task_that_changes_the_instance(worker):
    workflow = models.LinearWorkflow.start()

    result(workflow)

    assert [(comment, f["count"], f["choice"]) for comment, f in revisions(workflow)] == [
        ("first", 1, ""),
        ("second", 1, "second"),
    ], "start and end save nothing: no revision"
    assert Revision.objects.get(comment="first").user is None


def test_no_revision_for_what_was_rolled_back(worker, client, user, settings):
    client.force_login(user)
    failing = models.FailingWorkflow.start(fail=True)
    wait_until(lambda: failing.task_set.failed().exists())
    human = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(human, "edit")
    pages = models.CustomPagesWorkflow.start()
    scheduled(pages, "review")
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    assert client.post(edit.get_absolute_url(), {"count": "9"}).status_code == 503

    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED
    admin_url = reverse("admin:testapp_custompagesworkflow_change", args=[pages.pk])
    response = client.post(
        admin_url,
        {
            "count": "8",
            "target": "0",
            "choice": "",
            "next_tasks": ["end"],
            "task_set-TOTAL_FORMS": "0",
            "task_set-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert "Nothing was saved" in str(list(response.context["messages"])[0])
    pages.refresh_from_db()
    assert pages.count == 0
    assert revisions(human) == revisions(failing) == revisions(pages) == []


def test_override_page_and_admin_history(worker, client, user):
    client.force_login(user)
    user.user_permissions.add(Permission.objects.get(codename="override"))
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "review")

    response = client.post(
        workflow.get_override_url(),
        {"next_tasks": ["end"], "count": "3", "target": "0", "choice": "", "flag": ""},
    )

    assert response.status_code == 302
    result(workflow)
    [(comment, fields)] = [r for r in revisions(workflow) if r[0] == "override"]
    assert fields["count"] == 3
    shipping = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    scheduled(shipping, "ship")
    url = reverse("admin:demo_shippingworkflow_change", args=[shipping.pk])
    form = {
        "email": "",
        "shipping_address": "Metropolis",
        "tracking_code": "",
        "task_set-TOTAL_FORMS": "0",
        "task_set-INITIAL_FORMS": "0",
    }
    assert client.post(url, form).status_code == 302
    history = client.get(reverse("admin:demo_shippingworkflow_history", args=[shipping.pk]))
    assert history.status_code == 200 and b"Changed Shipping address" in history.content


WITHOUT_THE_APP = """
import django
django.setup()
import reversion
from django.contrib.admin import ModelAdmin
from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.admin import WorkflowAdmin
from joeflow_temporal.contrib.reversion import VersionAdmin, with_reversion
from joeflow_temporal.models import Task

assert VersionAdmin is ModelAdmin and WorkflowAdmin.__bases__ == (ModelAdmin,)
assert not reversion.is_registered(ShippingWorkflow)
with with_reversion(Task(name="ship")):
    assert not reversion.is_active()
print("inactive")
"""


def test_django_reversion_installed_but_not_in_installed_apps_does_nothing():
    """The package alone (a dependency of something else) must not need its tables."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "django_integration.settings"}
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_APP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "inactive"
