"""Who may call what: anonymous, plain users, assignees, permission holders, superusers.

The permission matrix is the policy at a glance: every HTML page and REST endpoint against every
role, compared with the real answers in one assertion. The calls that act are made so that a
permitted caller is stopped just after the permission check (an invalid body: 400; a task or
instance not in a state for the action: 409), so the whole table runs on one set of instances
and nothing changes. The tests after it make the calls where they act: refused ones change
nothing, permitted ones do what the permission is for.
"""

import pytest
from django.test import Client
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
    start_url,
    task_url,
    tasks,
    url,
    wait_until,
)
from tests.testapp import models

ANONYMOUS_CALLS = [
    ("get", "workflow-list", ()),
    ("get", "workflow-detail", ("testapp.humanworkflow",)),
    ("post", "workflow-start", ("testapp.humanworkflow", "start")),
    ("get", "instance-list", ("testapp.humanworkflow",)),
    ("get", "instance-detail", ("testapp.humanworkflow", 1)),
    ("post", "instance-override", ("testapp.humanworkflow", 1)),
    ("post", "instance-cancel", ("testapp.humanworkflow", 1)),
    ("get", "task-list", ()),
    ("get", "task-detail", (1,)),
    ("post", "task-complete", (1,)),
    ("post", "task-rerun", (1,)),
    ("post", "task-cancel", (1,)),
    ("get", "schema", ()),
    ("get", "swagger-ui", ()),
]


@pytest.mark.parametrize("method, name, args", ANONYMOUS_CALLS)
def test_anonymous_calls_are_401_with_a_basic_challenge(db, method, name, args):
    """Before any lookup (the ids need not exist) and before the body is read; the matrix
    below has the same calls on real instances."""
    response = getattr(client_for(), method)(url(name, *args), {"choice": "x"}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not models.Counter.objects.exists()


def test_wrong_password_is_401_and_a_session_login_works(db, django_user_model):
    user = make_user(django_user_model, "ada")

    assert client_for(user, password="wrong").get(url("task-list")).status_code == 401
    session = client_for()
    assert session.login(username="ada", password="pw")
    assert session.get(url("task-list")).status_code == 200


@pytest.fixture
def users(db, django_user_model):
    """Every role of the policy: its user (``None`` for anonymous)."""
    return {
        "anonymous": None,
        "plain": make_user(django_user_model, "plain"),
        "assignee": make_user(django_user_model, "assignee"),
        "override": make_user(django_user_model, "overrider", "override"),
        "rerun": make_user(django_user_model, "rerunner", "rerun"),
        "cancel": make_user(django_user_model, "canceler", "cancel"),
        "superuser": make_user(django_user_model, "root", superuser=True),
    }


# Who may call what


ROLES = ["anonymous", "plain", "assignee", "override", "rerun", "cancel", "superuser"]

# What each role gets, in ROLES order. A permitted call that acts is stopped just after the
# permission check: 400 (the invalid body sent) or 409 (a target not in a state for it). A page
# answering 200 to a POST re-rendered the form with its errors. 302 on a page: to the login page
# (anonymous, or not staff for the admin). 401: the API's basic-auth challenge.
POLICY = {
    "page   GET  start view": (200, 200, 200, 200, 200, 200, 200),
    "page   POST start view (invalid form)": (200, 200, 200, 200, 200, 200, 200),
    "page   GET  assigned task": (403, 403, 200, 403, 403, 403, 200),
    "page   POST assigned task (invalid form)": (403, 403, 200, 403, 403, 403, 200),
    "page   GET  unassigned task": (200, 200, 200, 200, 200, 200, 200),
    "page   GET  instance detail": (200, 200, 200, 200, 200, 200, 200),
    "page   GET  override": (302, 403, 403, 200, 403, 403, 200),
    "page   POST override (invalid form)": (302, 403, 403, 200, 403, 403, 200),
    "admin  GET  task list": (302, 302, 302, 302, 302, 302, 200),
    "admin  GET  workflow change page": (302, 302, 302, 302, 302, 302, 200),
    "api    GET  workflows/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  workflows/{label}/": (401, 200, 200, 200, 200, 200, 200),
    "api    POST start (invalid body)": (401, 400, 400, 400, 400, 400, 400),
    "api    GET  instances/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  instances/{id}/": (401, 200, 200, 200, 200, 200, 200),
    "api    POST override (invalid body)": (401, 403, 403, 400, 403, 403, 400),
    "api    POST cancel instance (ended)": (401, 403, 403, 403, 403, 409, 409),
    "api    GET  tasks/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  tasks/{id}/ (assigned)": (401, 200, 200, 200, 200, 200, 200),
    "api    POST complete assigned task (invalid body)": (401, 403, 400, 403, 403, 403, 400),
    "api    POST rerun (scheduled task)": (401, 403, 403, 403, 409, 403, 409),
    "api    POST cancel task (succeeded)": (401, 403, 403, 403, 403, 409, 409),
    "api    GET  schema/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  schema/swagger-ui/": (401, 200, 200, 200, 200, 200, 200),
}


def policy_calls(human, assigned, unassigned, ended, shipping):
    """Each row of the policy as a call: ``(page_client, api_client) -> response``."""
    start_page = reverse("humanworkflow:start")
    too_long = {"choice": "x" * 51}
    override_page = human.get_override_url()
    admin_change = reverse("admin:demo_shippingworkflow_change", args=[shipping.pk])
    succeeded = human.task_set.get(name="start")
    return {
        "page   GET  start view": lambda page, api: page.get(start_page),
        "page   POST start view (invalid form)": lambda page, api: page.post(start_page, too_long),
        "page   GET  assigned task": lambda page, api: page.get(assigned.get_absolute_url()),
        "page   POST assigned task (invalid form)": lambda page, api: page.post(
            assigned.get_absolute_url(), {"count": "many"}
        ),
        "page   GET  unassigned task": lambda page, api: page.get(unassigned.get_absolute_url()),
        "page   GET  instance detail": lambda page, api: page.get(human.get_absolute_url()),
        "page   GET  override": lambda page, api: page.get(override_page),
        "page   POST override (invalid form)": lambda page, api: page.post(
            override_page, {"next_tasks": ["nowhere"]}
        ),
        "admin  GET  task list": lambda page, api: page.get(
            reverse("admin:joeflow_temporal_task_changelist")
        ),
        "admin  GET  workflow change page": lambda page, api: page.get(admin_change),
        "api    GET  workflows/": lambda page, api: api.get(url("workflow-list")),
        "api    GET  workflows/{label}/": lambda page, api: api.get(
            url("workflow-detail", human.label())
        ),
        "api    POST start (invalid body)": lambda page, api: post(
            api, start_url(models.HumanWorkflow, "start"), too_long
        ),
        "api    GET  instances/": lambda page, api: api.get(url("instance-list", human.label())),
        "api    GET  instances/{id}/": lambda page, api: api.get(instance_url(human)),
        "api    POST override (invalid body)": lambda page, api: post(
            api, instance_url(human, "override"), {"next_tasks": ["nowhere"]}
        ),
        "api    POST cancel instance (ended)": lambda page, api: post(
            api, instance_url(ended, "cancel")
        ),
        "api    GET  tasks/": lambda page, api: api.get(url("task-list")),
        "api    GET  tasks/{id}/ (assigned)": lambda page, api: api.get(task_url(assigned)),
        "api    POST complete assigned task (invalid body)": lambda page, api: post(
            api, task_url(assigned, "complete"), {"count": "many"}
        ),
        "api    POST rerun (scheduled task)": lambda page, api: post(
            api, task_url(assigned, "rerun")
        ),
        "api    POST cancel task (succeeded)": lambda page, api: post(
            api, task_url(succeeded, "cancel")
        ),
        "api    GET  schema/": lambda page, api: api.get(url("schema")),
        "api    GET  schema/swagger-ui/": lambda page, api: api.get(url("swagger-ui")),
    }


def test_permission_matrix_of_every_page_and_endpoint(worker, users):
    human = models.HumanWorkflow.start_with("start", {"choice": "x"})
    assigned = scheduled(human, "edit")
    assigned.assignees.add(users["assignee"])
    other = models.HumanWorkflow.start_with("start", {"choice": "y"})
    unassigned = scheduled(other, "edit")
    ended = models.LinearWorkflow.start()
    result(ended)
    shipping = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    scheduled(shipping, "ship")
    before = {w.pk: tasks(w) for w in (human, other, ended, shipping)}
    rows = policy_calls(human, assigned, unassigned, ended, shipping)

    actual = {}
    for row, call in rows.items():
        codes = []
        for role in ROLES:
            page = Client()
            if users[role] is not None:
                page.force_login(users[role])
            codes.append(call(page, client_for(users[role])).status_code)
        actual[row] = tuple(codes)

    assert actual == POLICY
    assert {w.pk: tasks(w) for w in (human, other, ended, shipping)} == before
    human.refresh_from_db()
    assert (human.choice, human.count) == ("x", 0)


@pytest.fixture
def scene(worker, users):
    """A human task assigned to one user, and a failed machine task, with every kind of user."""
    human = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(human, "edit")
    edit.assignees.add(users["assignee"])
    failing = models.FailingWorkflow.start(fail=True)
    explode = wait_until(lambda: failing.task_set.failed().filter(name="explode").first())
    return users, human, edit, failing, explode


def calls(human, edit, failing, explode):
    return {
        "complete": (task_url(edit, "complete"), {"count": 3}),
        "override": (instance_url(human, "override"), {"next_tasks": ["end"]}),
        "cancel instance": (instance_url(failing, "cancel"), None),
        "rerun": (task_url(explode, "rerun"), None),
        "cancel task": (task_url(explode, "cancel"), None),
    }


DENIED = {
    "plain": ["complete", "override", "cancel instance", "rerun", "cancel task"],
    "assignee": ["override", "cancel instance", "rerun", "cancel task"],
    "override": ["complete", "cancel instance", "rerun", "cancel task"],
    "rerun": ["complete", "override", "cancel instance", "cancel task"],
    "cancel": ["complete", "override", "rerun"],
}


def test_denied_calls_are_403_and_change_nothing(scene):
    users, human, edit, failing, explode = scene
    endpoints = calls(human, edit, failing, explode)
    engine_before = human.get_engine_state()["tasks"]

    for role, denied in DENIED.items():
        client = client_for(users[role])
        for action in denied:
            path, body = endpoints[action]
            response = post(client, path, body)
            assert response.status_code == 403, (role, action, response.json())
            assert "detail" in response.json()

    assert tasks(human) == [("start", "succeeded"), ("edit", "scheduled")]
    assert tasks(failing) == [("start", "succeeded"), ("explode", "failed")]
    human.refresh_from_db()
    assert human.count == 0
    assert human.get_engine_state()["tasks"] == engine_before
    assert failing.get_engine_state()["tasks"][explode.key]["phase"] == "failed"


def test_an_assigned_task_is_hidden_from_others_inboxes_but_not_from_the_assignee(scene):
    users, human, edit, *_ = scene

    def inbox(role):
        response = client_for(users[role]).get(url("task-list"), {"status": "scheduled"})
        return {item["id"] for item in response.json()["results"]}

    assert edit.pk in inbox("assignee") and edit.pk in inbox("superuser")
    assert edit.pk not in inbox("plain")


@pytest.mark.parametrize("role", ["assignee", "superuser"])
def test_the_assignee_or_a_superuser_completes_an_assigned_task(scene, role):
    users, human, edit, *_ = scene

    response = post(client_for(users[role]), task_url(edit, "complete"), {"count": 3})

    assert response.status_code == 200, response.json()
    assert response.json()["completed_by_user"] == users[role].pk
    result(human)
    human.refresh_from_db()
    assert human.count == 3
    assert tasks(human)[-1] == ("end", "succeeded")


@pytest.mark.parametrize("role", ["rerun", "superuser"])
def test_rerun_permission_reruns_a_failed_task_on_the_same_row(scene, role):
    users, _, _, failing, explode = scene
    models.FailingWorkflow.objects.filter(pk=failing.pk).update(fail=False)

    response = post(client_for(users[role]), task_url(explode, "rerun"))

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == explode.pk
    assert response.json()["exception"] == ""
    result(failing)
    assert tasks(failing) == [
        ("start", "succeeded"),
        ("explode", "succeeded"),
        ("end", "succeeded"),
    ]
    failing.refresh_from_db()
    assert failing.count == 1, "the failed run's writes were rolled back"
    again = post(client_for(users[role]), task_url(explode, "rerun"))
    assert again.status_code == 409


@pytest.mark.parametrize("role", ["cancel", "superuser"])
def test_cancel_permission_cancels_a_task_and_its_branch_ends(scene, role):
    users, _, _, failing, explode = scene

    response = post(client_for(users[role]), task_url(explode, "cancel"))

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "canceled"
    assert response.json()["completed_by_user"] == users[role].pk
    result(failing)
    assert tasks(failing) == [("start", "succeeded"), ("explode", "canceled")]
    assert post(client_for(users[role]), task_url(explode, "cancel")).status_code == 409
    assert post(client_for(users["superuser"]), task_url(explode, "rerun")).status_code == 409


@pytest.mark.parametrize("role", ["cancel", "superuser"])
def test_cancel_permission_cancels_an_instance(scene, role):
    users, human, edit, *_ = scene

    response = post(client_for(users[role]), instance_url(human, "cancel"))

    assert response.status_code == 200, response.json()
    assert {t["name"]: t["status"] for t in response.json()["tasks"]}["edit"] == "canceled"
    result(human)
    human.refresh_from_db()
    assert human.completed is not None
    assert client_for(users[role]).get(instance_url(human)).json()["status"] == "ended"
    edit.refresh_from_db()
    assert edit.status == Task.CANCELED
    assert post(client_for(users[role]), instance_url(human, "cancel")).status_code == 409


@pytest.mark.parametrize("role", ["override", "superuser"])
def test_override_permission_overrides(scene, role):
    users, human, edit, *_ = scene

    response = post(
        client_for(users[role]),
        instance_url(human, "override"),
        {"next_tasks": ["end"], "count": 4},
    )

    assert response.status_code == 200, response.json()
    result(human)
    assert tasks(human) == [
        ("start", "succeeded"),
        ("edit", "canceled"),
        ("override", "succeeded"),
        ("end", "succeeded"),
    ]
    override = human.task_set.get(name="override")
    assert override.completed_by_user == users[role]
    human.refresh_from_db()
    assert human.count == 4
