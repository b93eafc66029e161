"""The REST API on a real Temporal dev server: types, starting, instances, inbox, completing."""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task, Workflow
from joeflow_temporal.testing.ports import free_port
from tests.helpers import (
    client_for,
    instance_url,
    parents,
    post,
    result,
    scheduled,
    start_url,
    task_url,
    tasks,
    url,
    wait_until,
)
from tests.testapp import models


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("ada", password="pw")


@pytest.fixture
def api(user):
    return client_for(user)


def start_human(choice="x"):
    return models.HumanWorkflow.start_with("start", {"choice": choice})


# Workflow types


def test_workflows_lists_the_registered_types_with_their_graphs(db, api):
    response = api.get(url("workflow-list"))

    assert response.status_code == 200
    types = {item["label"]: item for item in response.json()}
    assert {"demo.shippingworkflow", "testapp.humanworkflow", "testapp.splitjoinworkflow"} <= set(
        types
    )
    shipping = types["demo.shippingworkflow"]
    assert shipping["name"] == "ShippingWorkflow"
    nodes = {node["name"]: node for node in shipping["nodes"]}
    assert (nodes["checkout"]["type"], nodes["checkout"]["kind"]) == ("human", "start_view")
    assert nodes["checkout"]["fields"] == ["shipping_address", "email"]
    assert (nodes["ship"]["kind"], nodes["ship"]["fields"]) == ("view", ["tracking_code"])
    assert (nodes["has_email"]["type"], nodes["has_email"]["fields"]) == ("machine", None)
    assert ["checkout", "ship"] in shipping["edges"]
    assert len(shipping["edges"]) == len(ShippingWorkflow.edges)
    patrol_nodes = {node["name"]: node for node in types["demo.patrolworkflow"]["nodes"]}
    assert patrol_nodes["rest"]["wait"] == "00:00:03"
    assert patrol_nodes["join"]["join"] == ["batman", "robin"]

    detail = api.get(url("workflow-detail", "demo.shippingworkflow"))
    assert detail.status_code == 200 and detail.json() == shipping
    missing = api.get(url("workflow-detail", "demo.nosuchworkflow"))
    assert missing.status_code == 404 and "detail" in missing.json()


# Starting


def test_start_creates_the_instance_and_starts_its_execution(worker, user, api):
    response = post(
        api,
        start_url(ShippingWorkflow, "checkout"),
        {"shipping_address": "1 Main St", "email": "ada@example.com"},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    workflow = ShippingWorkflow.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver{instance_url(workflow)}"
    assert (workflow.shipping_address, workflow.email) == ("1 Main St", "ada@example.com")
    assert body["workflow"] == "demo.shippingworkflow"
    assert body["status"] == "running" and body["completed"] is None
    assert body["fields"] == {
        "email": "ada@example.com",
        "shipping_address": "1 Main St",
        "tracking_code": "",
    }
    start = workflow.task_set.get(name="checkout")
    assert (start.status, start.completed_by_user) == (Task.SUCCEEDED, user)
    # The start answered once the engine mirrored the next task (synchronous bookkeeping).
    assert [task["name"] for task in body["tasks"]] == ["checkout", "ship"]
    assert [task["name"] for task in body["next_tasks"]] == ["ship"]

    ship = workflow.task_set.get(name="ship", status=Task.SCHEDULED)
    assert parents(ship) == ["checkout"]
    detail = api.get(instance_url(workflow)).json()
    by_name = {task["name"]: task for task in detail["tasks"]}
    assert by_name["ship"]["status"] == "scheduled"
    assert by_name["ship"]["parents"] == [start.pk]
    assert by_name["ship"]["type"] == "human"
    assert "ship" in {t["name"] for t in workflow.get_engine_state()["tasks"].values()}


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"email": "ada@example.com"}, {"shipping_address"}),
        ({"shipping_address": "x", "email": "not an e-mail"}, {"email"}),
        ({"shipping_address": "x", "surprise": 1}, {"surprise"}),
        ({"shipping_address": "x", "tracking_code": "1Z"}, {"tracking_code"}),
        ({"shipping_address": "x", "id": 99}, {"id"}),
        ({"shipping_address": ["not", "text"]}, {"shipping_address"}),
        (["a", "list"], {"non_field_errors"}),
    ],
)
def test_start_rejects_invalid_bodies_and_writes_nothing(db, api, body, errors):
    response = post(api, start_url(ShippingWorkflow, "checkout"), body)

    assert response.status_code == 400
    assert set(response.json()) == errors
    assert not Workflow.objects.exists() and not Task.objects.exists()


def test_start_rejects_malformed_json_and_other_media_types(db, api):
    path = start_url(ShippingWorkflow, "checkout")

    malformed = api.post(path, '{"shipping_address": ', content_type="application/json")
    assert malformed.status_code == 400 and "JSON parse error" in malformed.json()["detail"]
    form = api.post(path, {"shipping_address": "x"})  # multipart: the API speaks JSON
    assert form.status_code == 415 and "detail" in form.json()
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    "label, task",
    [
        ("demo.nosuchworkflow", "checkout"),
        ("demo.shippingworkflow", "ship"),  # a view, but not a start view
        ("demo.shippingworkflow", "has_email"),  # a machine task
        ("demo.shippingworkflow", "nowhere"),
        ("demo.patrolworkflow", "start"),  # started from code only
        ("joeflow_temporal.task", "checkout"),  # a model, but no workflow
    ],
)
def test_start_of_anything_but_a_start_view_is_404(db, api, label, task):
    response = post(api, url("workflow-start", label, task), {"shipping_address": "x"})

    assert response.status_code == 404 and "detail" in response.json()
    assert not Workflow.objects.exists()


def test_start_when_temporal_is_unreachable_is_503_and_leaves_no_row(worker, settings, api):
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    response = post(api, start_url(models.HumanWorkflow, "start"), {"choice": "x"})

    assert response.status_code == 503
    assert "nothing was written" in response.json()["detail"]
    assert not Workflow.objects.exists() and not Task.objects.exists()


# Instances


def test_instances_lists_only_that_class_paginated_without_n_plus_1(worker, api):
    first = start_human("a")
    models.LinearWorkflow.start()  # same table, another class
    path = url("instance-list", "testapp.humanworkflow")

    with CaptureQueriesContext(connection) as one:
        response = api.get(path)
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 1 and [item["id"] for item in page["results"]] == [first.pk]
    assert page["results"][0]["fields"]["choice"] == "a"

    others = [start_human(str(i)) for i in range(3)]
    for workflow in [first, *others]:
        scheduled(workflow, "edit")
    with CaptureQueriesContext(connection) as four:
        page = api.get(path).json()
    assert page["count"] == 4
    assert [item["id"] for item in page["results"]] == [w.pk for w in reversed([first, *others])]
    assert all([t["name"] for t in item["tasks"]] == ["start", "edit"] for item in page["results"])
    assert len(four.captured_queries) == len(one.captured_queries)

    second_page = api.get(path, {"page_size": 3, "page": 2}).json()
    assert [item["id"] for item in second_page["results"]] == [first.pk]
    assert api.get(path, {"page": 9}).status_code == 404


def test_instance_detail_and_status_filter(worker, api):
    workflow = start_human()
    linear = models.LinearWorkflow.start()
    edit = scheduled(workflow, "edit")
    result(linear)

    assert api.get(instance_url(workflow)).json()["status"] == "running"
    assert api.get(instance_url(linear)).json()["status"] == "ended"
    wrong_class = api.get(url("instance-detail", "testapp.humanworkflow", linear.pk))
    assert wrong_class.status_code == 404
    assert api.get(url("instance-detail", "testapp.nosuch", workflow.pk)).status_code == 404

    edit.complete()
    result(workflow)
    path = url("instance-list", "testapp.humanworkflow")
    assert api.get(path, {"status": "running"}).json()["count"] == 0
    assert api.get(path, {"status": "ended"}).json()["count"] == 1
    invalid = api.get(path, {"status": "sleeping"})
    assert invalid.status_code == 400 and "status" in invalid.json()


# The inbox and tasks


def test_inbox_shows_own_and_unassigned_tasks_with_filters(
    worker, user, api, django_user_model, admin_user
):
    bob = django_user_model.objects.create_user("bob", password="pw")
    mine, bobs, free = start_human("mine"), start_human("bob's"), start_human("free")
    mine_edit, bobs_edit, free_edit = (scheduled(w, "edit") for w in (mine, bobs, free))
    mine_edit.assignees.add(user)
    bobs_edit.assignees.add(bob)
    human_scheduled = {"status": "scheduled", "type": "human"}

    def ids(client, **params):
        response = client.get(url("task-list"), params)
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["results"]}

    assert ids(api, **human_scheduled) == {mine_edit.pk, free_edit.pk}
    assert ids(api, assignee="me") == {mine_edit.pk}
    assert ids(client_for(bob), **human_scheduled) == {bobs_edit.pk, free_edit.pk}
    admin = client_for(admin_user, "password")
    assert ids(admin, **human_scheduled) == {mine_edit.pk, bobs_edit.pk, free_edit.pk}
    assert ids(api, status="succeeded", type="human") == set(
        Task.objects.filter(name="start").values_list("pk", flat=True)
    )
    assert ids(api, workflow="testapp.linearworkflow") == set()
    assert ids(api, workflow="testapp.humanworkflow", status=["scheduled", "failed"]) == {
        mine_edit.pk,
        free_edit.pk,
    }

    item = api.get(url("task-list"), {"assignee": "me"}).json()["results"][0]
    assert item["workflow"] == "testapp.humanworkflow" and item["workflow_id"] == mine.pk
    assert item["assignees"] == [user.pk] and item["parents"] == [
        mine.task_set.get(name="start").pk
    ]
    for params in ({"status": "done"}, {"type": "robot"}, {"workflow": "x.y"}, {"assignee": "x"}):
        response = api.get(url("task-list"), params)
        assert response.status_code == 400 and set(response.json()) == set(params)


def test_inbox_costs_the_same_queries_for_one_or_many_tasks(worker, admin_user):
    admin = client_for(admin_user, "password")
    scheduled(start_human(), "edit")
    with CaptureQueriesContext(connection) as few:
        assert admin.get(url("task-list")).json()["count"] == 2
    for workflow in [start_human(str(i)) for i in range(4)]:
        scheduled(workflow, "edit").assignees.add(admin_user)
    with CaptureQueriesContext(connection) as many:
        assert admin.get(url("task-list")).json()["count"] == 10
    assert len(many.captured_queries) == len(few.captured_queries)


def test_task_detail_has_the_fields_its_view_edits(worker, api):
    workflow = models.SplitJoinWorkflow.start(choice="maybe")
    review = scheduled(workflow, "review")

    response = api.get(task_url(review))

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["type"], body["status"]) == ("review", "human", "scheduled")
    assert (body["workflow"], body["workflow_id"]) == ("testapp.splitjoinworkflow", workflow.pk)
    assert body["fields"] == {"choice": "maybe"}
    assert body["form"]["choice"]["type"] == "string"
    assert body["form"]["choice"]["max_length"] == 50
    split = api.get(task_url(workflow.task_set.get(name="split"))).json()
    assert split["fields"] is None and split["form"] is None and split["type"] == "machine"
    assert api.get(url("task-detail", 999999)).status_code == 404


# Completing


def test_complete_saves_the_fields_and_the_workflow_goes_on(worker, user, api):
    workflow = start_human()
    edit = scheduled(workflow, "edit")

    response = post(api, task_url(edit, "complete"), {"count": 5})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["completed_by_user"]) == ("succeeded", user.pk)
    assert body["fields"] == {"count": 5}
    result(workflow)
    assert tasks(workflow) == [("start", "succeeded"), ("edit", "succeeded"), ("end", "succeeded")]
    workflow.refresh_from_db()
    assert workflow.count == 5 and workflow.choice == "x"
    edit.refresh_from_db()
    assert edit.completed_by_user == user


def test_completions_save_only_their_own_fields_beside_machine_tasks(worker, api):
    workflow = models.SplitJoinWorkflow.start()
    review = scheduled(workflow, "review")
    approve = scheduled(workflow, "approve")
    wait_until(lambda: workflow.task_set.succeeded().filter(name="count_up").exists())

    assert post(api, task_url(review, "complete"), {"choice": "yes"}).status_code == 200
    assert post(api, task_url(approve, "complete"), {"flag": True}).status_code == 200
    result(workflow)

    workflow.refresh_from_db()
    assert (workflow.choice, workflow.flag, workflow.count) == ("yes", True, 1)
    assert tasks(workflow)[-1] == ("end", "succeeded")


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"count": "many"}, {"count"}),
        ({"count": 1, "choice": "sneaky"}, {"choice"}),
        ({"count": 1, "completed": "2020-01-01T00:00:00Z"}, {"completed"}),
        ({"count": 2**70}, {"count"}),  # beyond every database's integer
        ("just a string", {"non_field_errors"}),
    ],
)
def test_complete_rejects_invalid_bodies_and_writes_nothing(worker, api, body, errors):
    workflow = start_human()
    edit = scheduled(workflow, "edit")

    response = post(api, task_url(edit, "complete"), body)

    assert response.status_code == 400
    assert set(response.json()) == errors
    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED
    workflow.refresh_from_db()
    assert (workflow.count, workflow.choice) == (0, "x")


def test_complete_of_a_task_that_is_not_open_is_409(worker, api):
    workflow = start_human()
    edit = scheduled(workflow, "edit")
    malformed = api.post(task_url(edit, "complete"), "{", content_type="application/json")
    assert malformed.status_code == 400
    assert post(api, task_url(edit, "complete"), {"count": 1}).status_code == 200
    result(workflow)

    again = post(api, task_url(edit, "complete"), {"count": 2})
    start = post(api, task_url(workflow.task_set.get(name="start"), "complete"))
    machine = post(api, task_url(workflow.task_set.get(name="end"), "complete"))

    assert again.status_code == start.status_code == machine.status_code == 409
    assert "detail" in again.json()
    workflow.refresh_from_db()
    assert workflow.count == 1
    assert post(api, url("task-complete", 999999)).status_code == 404


def test_complete_when_temporal_is_unreachable_is_503_and_writes_nothing(worker, settings, api):
    workflow = start_human()
    edit = scheduled(workflow, "edit")
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    response = post(api, task_url(edit, "complete"), {"count": 9})

    assert response.status_code == 503 and "detail" in response.json()
    edit.refresh_from_db()
    assert (edit.status, edit.completed, edit.completed_by_user) == (Task.SCHEDULED, None, None)
    workflow.refresh_from_db()
    assert workflow.count == 0


HOSTILE_BODIES = [
    "null",
    "5",
    '"text"',
    "[]",
    '{"shipping_address": "a\\u0000b"}',
    '{"count": {"nested": [1]}, "choice": null}',
    '{"next_tasks": [null, 1, {"a": 1}]}',
    '{"next_tasks": null}',
    '{"comment": "a\\u0000b"}',
    '{"comment": {"text": "why"}}',
    '{"assignees": [1e400, 99999999999999999999999999, -0.0]}',
    '{"assignees": {"0": 1}}',
    "{" * 50,
    "\udcff",
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_hostile_bodies_are_400_never_500(worker, admin_user, body):
    admin = client_for(admin_user, "password")
    workflow = start_human()
    edit = scheduled(workflow, "edit")
    paths = [
        start_url(ShippingWorkflow, "checkout"),
        start_url(models.HumanWorkflow, "start"),
        task_url(edit, "complete"),
        instance_url(workflow, "override"),
        *(task_url(edit, action) for action in ("rerun", "cancel", "claim", "unclaim", "assign")),
        instance_url(workflow, "cancel"),
    ]

    for path in paths:
        response = admin.post(
            path, body.encode("utf-8", "surrogatepass"), content_type="application/json"
        )
        assert response.status_code == 400, (path, response.content)
        assert response.json()

    assert tasks(workflow) == [("start", "succeeded"), ("edit", "scheduled")]
    assert Workflow.objects.count() == 1


def test_options_describes_every_endpoint(worker, admin_user):
    admin = client_for(admin_user, "password")
    workflow = start_human()
    edit = scheduled(workflow, "edit")
    paths = [
        url("workflow-list"),
        url("workflow-detail", workflow.label()),
        start_url(models.HumanWorkflow, "start"),
        url("instance-list", workflow.label()),
        instance_url(workflow),
        instance_url(workflow, "override"),
        instance_url(workflow, "cancel"),
        url("task-list"),
        task_url(edit),
        task_url(edit, "complete"),
        task_url(edit, "rerun"),
        task_url(edit, "cancel"),
        task_url(edit, "claim"),
        task_url(edit, "unclaim"),
        task_url(edit, "assign"),
    ]

    for path in paths:
        response = admin.options(path)
        assert response.status_code == 200, (path, response.content)
        assert response.json()["name"]
    assert tasks(workflow) == [("start", "succeeded"), ("edit", "scheduled")]


@contextmanager
def database_unreachable():
    """The web process's database connection pointed where nothing answers, then restored."""
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/joeflow-temporal.sqlite3"
    else:
        connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(original)


def test_an_unreachable_database_is_a_json_503_and_nothing_is_written(worker, admin_user, caplog):
    api = client_for(admin_user, password="password")  # pytest-django's admin_user

    with database_unreachable():
        calls = [
            api.get(url("task-list")),
            post(api, start_url(models.HumanWorkflow, "start"), {"choice": "x"}),
        ]

    assert [response.status_code for response in calls] == [503, 503]
    assert all(response["Content-Type"] == "application/json" for response in calls)
    assert calls[0].json() == {"detail": "The database cannot be reached; try again later."}
    assert "Database unavailable" in caplog.text
    assert api.get(url("task-list")).status_code == 200, "the connection is back"
    assert not models.Counter.objects.exists()
