"""Who may call what: anonymous, plain users, assignees, permission holders, superusers."""

import pytest

from joeflow_temporal.models import Task
from tests.helpers import (
    client_for,
    instance_url,
    make_user,
    post,
    result,
    scheduled,
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
def scene(worker, django_user_model):
    """A human task assigned to one user, and a failed machine task, with every kind of user."""
    users = {
        "plain": make_user(django_user_model, "plain"),
        "assignee": make_user(django_user_model, "assignee"),
        "overrider": make_user(django_user_model, "overrider", "override"),
        "rerunner": make_user(django_user_model, "rerunner", "rerun"),
        "canceler": make_user(django_user_model, "canceler", "cancel"),
        "superuser": make_user(django_user_model, "root", superuser=True),
    }
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
    "overrider": ["complete", "cancel instance", "rerun", "cancel task"],
    "rerunner": ["complete", "override", "cancel instance", "cancel task"],
    "canceler": ["complete", "override", "rerun"],
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


@pytest.mark.parametrize("role", ["rerunner", "superuser"])
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


@pytest.mark.parametrize("role", ["canceler", "superuser"])
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


@pytest.mark.parametrize("role", ["canceler", "superuser"])
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


@pytest.mark.parametrize("role", ["overrider", "superuser"])
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
