"""Override and concurrent completion through the API, checked in the mirror and in the engine."""

import threading

import pytest
from django.db import connections

from joeflow_temporal.models import Task
from tests.helpers import (
    client_for,
    instance_url,
    make_user,
    parents,
    post,
    result,
    scheduled,
    task_url,
    tasks,
    wait_until,
)
from tests.testapp import models


@pytest.fixture
def boss(django_user_model):
    return make_user(django_user_model, "boss", "override", "cancel")


@pytest.fixture
def split(worker):
    """A split/join instance with both human branches and the join open."""
    workflow = models.SplitJoinWorkflow.start()
    open_tasks = {name: scheduled(workflow, name) for name in ("review", "approve", "join")}
    wait_until(lambda: workflow.task_set.succeeded().filter(name="count_up").exists())
    wait_until(lambda: len(workflow.get_engine_state()["tasks"]) == 3)
    return workflow, open_tasks


def engine_tasks(workflow) -> dict[str, tuple[str, int]]:
    return {t["name"]: (t["phase"], t["id"]) for t in workflow.get_engine_state()["tasks"].values()}


def test_override_mid_flight_cancels_open_tasks_and_starts_the_new_branch(split, boss):
    workflow, open_tasks = split

    response = post(
        client_for(boss),
        instance_url(workflow, "override"),
        {"next_tasks": ["review", "approve", "count_up"], "choice": "overridden"},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["fields"]["choice"] == "overridden"
    by_name = {}
    for task in body["tasks"]:
        by_name.setdefault(task["name"], []).append(task["status"])
    assert by_name["review"][0] == "canceled" and by_name["join"][0] == "canceled"
    assert by_name["override"] == ["succeeded"]

    new = {
        name: wait_until(
            lambda name=name: (
                workflow.task_set.scheduled()
                .filter(name=name)
                .exclude(pk=open_tasks[name].pk)
                .first()
            )
        )
        for name in ("review", "approve", "join")
    }
    assert parents(new["review"]) == parents(new["approve"]) == ["override"]
    assert parents(new["join"]) == ["count_up"], "the new count_up arrived at a fresh join"
    override = workflow.task_set.get(name="override")
    assert override.completed_by_user == boss
    assert parents(override) == ["approve", "join", "review"]
    for old in open_tasks.values():
        old.refresh_from_db()
        assert old.status == Task.CANCELED
    wait_until(lambda: set(engine_tasks(workflow)) == {"review", "approve", "join"})
    workflow.refresh_from_db()
    assert (workflow.choice, workflow.count) == ("overridden", 2)

    # The new branches are live: completing them through the API completes the join.
    for name, body in (("approve", {"flag": True}), ("review", {"choice": "done"})):
        assert post(client_for(boss), task_url(new[name], "complete"), body).status_code == 200
    result(workflow)
    assert sorted(parents(workflow.task_set.get(pk=new["join"].pk))) == [
        "approve",
        "count_up",
        "review",
    ]
    assert tasks(workflow)[-1] == ("end", Task.SUCCEEDED)


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"next_tasks": ["nowhere"]}, {"next_tasks"}),
        ({"next_tasks": ["override"]}, {"next_tasks"}),  # a Task name, but not a node
        ({"next_tasks": "review"}, {"next_tasks"}),
        ({"next_tasks": ["start"]}, {"next_tasks"}),  # starts instances
        ({"next_tasks": ["join"]}, {"next_tasks"}),  # would wait for parents that never come
        ({"next_tasks": ["approve"]}, {"next_tasks"}),  # leads to the join without its parents
        ({"next_tasks": [], "choice": "x"}, {"next_tasks"}),  # ending needs end_instance
        ({"next_tasks": ["end"], "end_instance": True}, {"end_instance"}),
        ({"end_instance": "maybe"}, {"end_instance"}),
        ({}, {"non_field_errors"}),
        ({"next_tasks": ["end"], "count": "lots"}, {"count"}),
        ({"next_tasks": ["end"], "unknown": 1}, {"unknown"}),
        ({"next_tasks": ["end"], "completed": None}, {"completed"}),
    ],
)
def test_override_rejects_invalid_bodies_and_changes_nothing(split, boss, body, errors):
    workflow, open_tasks = split
    engine_before = engine_tasks(workflow)

    response = post(client_for(boss), instance_url(workflow, "override"), body)

    assert response.status_code == 400
    assert set(response.json()) == errors
    assert not workflow.task_set.filter(name="override").exists()
    assert set(workflow.task_set.open().values_list("name", flat=True)) == set(open_tasks)
    workflow.refresh_from_db()
    assert (workflow.choice, workflow.count) == ("", 1)
    assert engine_tasks(workflow) == engine_before


def test_override_when_temporal_is_unreachable_is_503_and_changes_nothing(split, boss, settings):
    workflow, open_tasks = split
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    override = post(
        client_for(boss), instance_url(workflow, "override"), {"next_tasks": ["end"], "count": 9}
    )
    cancel = post(client_for(boss), instance_url(workflow, "cancel"))

    assert override.status_code == cancel.status_code == 503
    assert not workflow.task_set.filter(name="override").exists()
    assert set(workflow.task_set.open().values_list("name", flat=True)) == set(open_tasks)
    workflow.refresh_from_db()
    assert (workflow.count, workflow.completed) == (1, None)


def test_override_or_cancel_of_an_ended_instance_is_409(worker, boss):
    workflow = models.LinearWorkflow.start()
    result(workflow)

    override = post(client_for(boss), instance_url(workflow, "override"), {"next_tasks": ["end"]})
    cancel = post(client_for(boss), instance_url(workflow, "cancel"))

    assert override.status_code == cancel.status_code == 409
    assert "ended" in override.json()["detail"]
    assert not workflow.task_set.filter(name="override").exists()
    assert missing_instance(boss).status_code == 404


def missing_instance(user):
    return post(
        client_for(user),
        instance_url(models.LinearWorkflow(pk=999999), "override"),
        {"next_tasks": []},
    )


def test_two_concurrent_completions_one_wins_the_other_is_409(worker, django_user_model):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")
    users = [django_user_model.objects.create_user(name, password="pw") for name in "ab"]
    barrier = threading.Barrier(2)
    responses = {}

    def complete(user, count):
        try:
            client = client_for(user)
            barrier.wait(timeout=10)
            responses[count] = post(client, task_url(edit, "complete"), {"count": count})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=complete, args=(u, n)) for n, u in enumerate(users, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [200, 409], {n: r.json() for n, r in responses.items()}
    winner = next(n for n, r in responses.items() if r.status_code == 200)
    final = result(workflow)
    assert final["steps"] == 3, "start, edit and end: each once"
    assert tasks(workflow) == [("start", "succeeded"), ("edit", "succeeded"), ("end", "succeeded")]
    workflow.refresh_from_db()
    assert workflow.count == winner
    edit.refresh_from_db()
    assert edit.completed_by_user == users[winner - 1]


BAD_BODIES = [
    ("application/json", b"{", 400),
    ("application/json", b"[]", 400),
    ("application/json", b"null", 400),
    ("text/plain", b"x", 415),
]


@pytest.mark.parametrize(("content_type", "body", "status"), BAD_BODIES)
def test_actions_with_an_optional_body_still_refuse_a_bad_one_and_change_nothing(
    split, boss, django_user_model, content_type, body, status
):
    """Cancel and rerun take an optional comment, claim and unclaim no body, but a malformed
    or foreign one is no request to act on: the same 400/415 as complete and override, and
    nothing canceled or assigned."""
    workflow, open_tasks = split
    api = client_for(make_user(django_user_model, "root", superuser=True))
    paths = [
        instance_url(workflow, "cancel"),
        *(
            task_url(open_tasks["review"], action)
            for action in ("cancel", "rerun", "claim", "unclaim", "assign")
        ),
    ]
    for path in paths:
        response = api.post(path, body, content_type=content_type)

        assert response.status_code == status, (path, response.content)
        assert response["Content-Type"] == "application/json"
    assert workflow.task_set.scheduled().count() == 3
    assert not open_tasks["review"].assignees.exists()
    workflow.refresh_from_db()
    assert workflow.completed is None


def test_actions_without_a_body_take_none_or_an_object(split, boss):
    workflow, open_tasks = split

    response = client_for(boss).post(task_url(open_tasks["review"], "cancel"))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert post(client_for(boss), instance_url(workflow, "cancel"), {}).status_code == 200
