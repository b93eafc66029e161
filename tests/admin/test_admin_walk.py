"""Every link and button of the admin works or is not shown (issue #11, "Admin paths").

A superuser walks the admin of ``Task`` and of the workflow models over instances in every
state: each list (with its filters and sortings), change, add, history, revert and delete page,
every link on them (the task and instance pages they point to, too), every form saved as a user
would save it, and every action on every row.
"""

from django.urls import reverse

from django_integration.demo.models import ShippingWorkflow
from tests.admin.admin_walker import AdminWalker
from tests.helpers import result, wait_until
from tests.testapp import models

PREFIXES = ("/admin/joeflow_temporal/", "/admin/demo/", "/admin/testapp/", "/admin/r/")


def instances_in_every_state(client):
    """A running instance waiting for a person, one ended (through its page, so it has a
    revision), a failed and a canceled task, and an instance without a detail page."""
    running = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    ended = ShippingWorkflow.start_with("checkout", {"shipping_address": "Metropolis"})
    ship = wait_until(lambda: ended.task_set.scheduled().filter(name="ship").first())
    assert client.post(ship.get_absolute_url(), {"tracking_code": "T-1"}).status_code == 302
    result(ended)
    failing = models.FailingWorkflow.start(fail=True)
    canceled = models.FailingWorkflow.start(fail=True)
    wait_until(lambda: failing.task_set.failed().exists())
    wait_until(lambda: canceled.task_set.failed().first()).cancel()
    result(canceled)
    custom = models.CustomPagesWorkflow.start()
    wait_until(lambda: custom.task_set.scheduled().filter(name="review").exists())
    waiting = wait_until(lambda: running.task_set.scheduled().filter(name="ship").first())
    return ended, [waiting.get_absolute_url(), custom.get_absolute_url()]


def test_every_admin_link_and_button_works_or_is_not_shown(worker, client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "", "pw"))
    ended, pages = instances_in_every_state(client)

    walker = AdminWalker(client, prefixes=PREFIXES).walk("/admin/")
    walker.submit_change_forms().run_actions()
    delete = reverse("admin:demo_shippingworkflow_delete", args=[ended.pk])
    deleted = client.post(delete, {"post": "yes"}, follow=True)

    assert walker.problems == []
    assert set(pages) <= walker.visited, "View on site: a task's page, an instance's page"
    assert any("/history/" in url and url[-2].isdigit() for url in walker.visited), "revert"
    assert len(walker.change_forms) > 20 and len(walker.changelists) == 7
    assert deleted.status_code == 200 and not ShippingWorkflow.objects.filter(pk=ended.pk)
