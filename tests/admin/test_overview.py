"""The overview page of a workflow class: counts, medians, instances by status, oldest open
tasks, from rows written straight to the mirror (the page reads only the database)."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task
from joeflow_temporal.overview import SLOWEST, duration
from tests.testapp.models import ApprovalWorkflow, InboxWorkflow

URL = reverse("joeflow_temporal:overview", args=["testapp.approvalworkflow"])


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))
    return client


def add_task(workflow, name, status, age=timedelta(hours=1), took=None, due=None, **fields):
    """A task row created ``age`` ago that, if ``took`` is given, completed that much later."""
    fields.setdefault("type", Task.HUMAN)
    task = workflow.task_set.create(name=name, key=f"t:{name}:{Task.objects.count()}", **fields)
    created = timezone.now() - age
    completed = created + took if took is not None else None
    Task.objects.filter(pk=task.pk).update(
        status=status, created=created, completed=completed, due=due
    )
    return Task.objects.get(pk=task.pk)


@pytest.fixture
def approvals(db):
    """Five instances: two waiting at the review (one overdue), one failed, one completed
    (reviews that took 10 s, 20 s and 90 s), one canceled; and an InboxWorkflow instance,
    whose tasks are not counted."""
    now = timezone.now()

    def instance(**fields):
        workflow = ApprovalWorkflow.objects.create(**fields)
        add_task(workflow, "start", Task.SUCCEEDED, took=timedelta(0), type=Task.MACHINE)
        return workflow

    waiting = instance()
    overdue_review = add_task(
        waiting, "review", Task.SCHEDULED, age=timedelta(days=3), due=now - timedelta(days=1)
    )
    later = instance()
    add_task(later, "review", Task.SCHEDULED, age=timedelta(hours=2), due=now + timedelta(days=1))
    add_task(later, "review", Task.SUCCEEDED, took=timedelta(seconds=90))
    failed = instance()
    add_task(failed, "escalate", Task.FAILED, age=timedelta(days=1), exception="ValueError: x")
    add_task(failed, "review", Task.SUCCEEDED, took=timedelta(seconds=10))
    done = instance(completed=now)
    add_task(done, "review", Task.SUCCEEDED, took=timedelta(seconds=20))
    canceled = instance(completed=now)
    add_task(canceled, "review", Task.CANCELED)
    add_task(canceled, "cancel", Task.SUCCEEDED, took=timedelta(0))
    other = InboxWorkflow.objects.create()
    add_task(other, "review", Task.SCHEDULED, age=timedelta(days=30))
    return {"waiting": waiting, "overdue_review": overdue_review, "failed": failed}


def test_overview_counts_each_node_and_the_instances(staff_client, approvals):
    response = staff_client.get(URL)

    assert response.status_code == 200
    rows = {name: stats for name, stats, _ in response.context["rows"]}
    review = rows["review"]
    assert (review.open, review.overdue, review.failed, review.succeeded) == (2, 1, 0, 3)
    assert review.median == timedelta(seconds=20)
    assert (rows["escalate"].failed, rows["escalate"].median) == (1, None)
    assert rows["end"].open == rows["end"].succeeded == 0, "every node of the class is listed"
    assert [name for name, _, in_graph in response.context["rows"] if not in_graph] == ["cancel"]
    instances = response.context["instances"]
    assert (instances.running, instances.completed, instances.canceled) == (3, 1, 1)
    assert instances.total == 5


def test_overview_draws_the_class_graph_with_the_figures(staff_client, approvals):
    page = staff_client.get(URL).content.decode()

    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    ET.fromstring(svg)
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "2 open" in texts and "1 overdue" in texts
    assert "median 20 s" in texts
    assert "1 failed" in texts
    assert "timeout" in texts, "the escalation edge"
    assert "<script" not in page, "no JavaScript, no CDN"


def test_overview_lists_the_oldest_open_tasks_with_their_pages(staff_client, approvals):
    slowest = staff_client.get(URL).context["slowest"]

    assert [(row["task"].name, row["task"].status) for row in slowest] == [
        ("review", Task.SCHEDULED),
        ("escalate", Task.FAILED),
        ("review", Task.SCHEDULED),
    ]
    first = slowest[0]
    assert first["overdue"] and not slowest[2]["overdue"]
    assert first["url"] == approvals["overdue_review"].get_absolute_url()
    assert first["instance_url"] == approvals["waiting"].get_absolute_url()
    assert slowest[1]["url"] == reverse(
        "admin:joeflow_temporal_task_change", args=[slowest[1]["task"].pk]
    ), "a failed task has no form: its admin page"


def test_overview_lists_at_most_the_oldest_twenty(staff_client, db):
    workflow = ApprovalWorkflow.objects.create()
    for hours in range(SLOWEST + 5):
        add_task(workflow, "review", Task.SCHEDULED, age=timedelta(hours=hours))

    slowest = staff_client.get(URL).context["slowest"]

    ages = [row["age"] for row in slowest]
    assert len(slowest) == SLOWEST and ages == sorted(ages, reverse=True)
    assert ages[-1] > timedelta(hours=4)


def test_overview_queries_do_not_grow_with_rows(
    staff_client, approvals, django_assert_max_num_queries
):
    # session, user, content type, counts, a median per node with succeeded tasks (start,
    # review, cancel), instances, oldest open tasks
    with django_assert_max_num_queries(10):
        assert staff_client.get(URL).status_code == 200


def test_overview_is_for_staff_only(client, django_user_model, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))

    client.force_login(django_user_model.objects.create_user("ada"))
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize(
    "label",
    ["testapp.nothing", "auth.user", "testapp.approval", "nolabel", "demo.shipment"],
)
def test_overview_of_no_workflow_class_is_404(staff_client, label):
    url = reverse("joeflow_temporal:overview", args=[label])
    assert staff_client.get(url).status_code == 404


def test_admin_changelist_links_the_overview(admin_client):
    page = admin_client.get(reverse("admin:demo_shippingworkflow_changelist")).content.decode()

    overview = reverse("joeflow_temporal:overview", args=["demo.shippingworkflow"])
    assert f'href="{overview}"' in page
    back = reverse("admin:demo_shippingworkflow_changelist")
    assert f'href="{back}"' in admin_client.get(overview).content.decode(), "and back"
    assert ShippingWorkflow.get_graph_spec().nodes.keys() <= {
        name for name, _, _ in admin_client.get(overview).context["rows"]
    }


@pytest.mark.parametrize(
    "seconds, text",
    [(0.84, "0.8 s"), (252, "4 min 12 s"), (3600, "1 h 0 min"), (2 * 86400 + 3 * 3600, "2 d 3 h")],
)
def test_durations_read_in_two_units(seconds, text):
    assert duration(timedelta(seconds=seconds)) == text
