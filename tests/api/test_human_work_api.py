"""Human work through the REST API on a real dev server: candidate groups, claim, unclaim,
assign, who may complete, the inbox's candidate/overdue filters and orderings, and comments."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.utils import timezone

from joeflow_temporal.models import Task
from tests.helpers import (
    client_for,
    instance_url,
    make_user,
    post,
    scheduled,
    task_url,
    url,
    wait_until,
)
from tests.testapp import models

LABEL = models.InboxWorkflow.label()


@pytest.fixture
def reviewers(db):
    return Group.objects.create(name="reviewers")


@pytest.fixture
def ada(django_user_model, reviewers):
    user = make_user(django_user_model, "ada")
    reviewers.user_set.add(user)
    return user


@pytest.fixture
def bob(django_user_model, reviewers):
    user = make_user(django_user_model, "bob")
    reviewers.user_set.add(user)
    return user


@pytest.fixture
def eve(django_user_model):
    """Signed in, in no group."""
    return make_user(django_user_model, "eve")


@pytest.fixture
def boss(django_user_model):
    """Not a reviewer, but may assign, rerun, cancel and override."""
    return make_user(django_user_model, "boss", "assign", "rerun", "cancel", "override")


@pytest.fixture
def review(worker, reviewers):
    """An InboxWorkflow's open ``review`` task, offered to the group ``reviewers``."""
    return scheduled(models.InboxWorkflow.start(), "review")


def assignees(task) -> list[str]:
    return sorted(task.assignees.values_list("username", flat=True))


def test_a_missing_candidate_group_fails_the_task_and_a_rerun_after_creating_it_opens_it(
    worker, boss
):
    workflow = models.InboxWorkflow.start()
    review = wait_until(lambda: workflow.task_set.failed().filter(name="review").first())
    api = client_for(boss)

    failed = api.get(task_url(review)).json()

    assert failed["status"] == "failed" and "'reviewers'" in failed["exception"]
    assert "rerun this task" in failed["exception"]
    Group.objects.create(name="reviewers")

    response = post(api, task_url(review, "rerun"), {"comment": "Created the group."})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"], body["exception"]) == (review.pk, "scheduled", "")
    assert body["candidate_groups"] == ["reviewers"]
    assert body["comment"] == "Created the group."
    assert body["due"] is not None and body["overdue"] is False
    assert Task.objects.get(pk=review.pk).comment == "Created the group."


def test_claim_member_once_or_twice_others_are_refused(review, ada, bob, eve):
    response = post(client_for(ada), task_url(review, "claim"))

    assert response.status_code == 200, response.json()
    assert response.json()["assignees"] == [ada.pk]
    again = client_for(ada).post(task_url(review, "claim"))  # no body at all
    assert again.status_code == 200 and again.json()["assignees"] == [ada.pk]

    taken = post(client_for(bob), task_url(review, "claim"))
    assert taken.status_code == 409
    assert "claimed by ada" in taken.json()["detail"]
    stranger = post(client_for(eve), task_url(review, "claim"))
    assert stranger.status_code == 409, "taken: joining the group would not help"
    assert assignees(review) == ["ada"]


def test_claim_of_a_task_offered_to_others_is_403_and_of_a_closed_one_409(review, ada, eve):
    assert post(client_for(eve), task_url(review, "claim")).status_code == 403
    assert assignees(review) == []
    start = Task.objects.get(_workflow_id=review._workflow_id, name="start")

    closed = post(client_for(ada), task_url(start, "claim"))

    assert closed.status_code == 409
    assert "was completed" in closed.json()["detail"]
    assert post(client_for(ada), url("task-claim", 999999)).status_code == 404


def test_unclaim_by_the_assignee_not_by_others_and_not_twice(review, ada, bob, boss):
    post(client_for(ada), task_url(review, "claim"))

    other = post(client_for(bob), task_url(review, "unclaim"))
    assert other.status_code == 403 and "only they" in other.json()["detail"]
    assert assignees(review) == ["ada"]

    response = post(client_for(ada), task_url(review, "unclaim"))

    assert response.status_code == 200, response.json()
    assert response.json()["assignees"] == []
    twice = post(client_for(ada), task_url(review, "unclaim"))
    assert twice.status_code == 409 and "not claimed" in twice.json()["detail"]
    post(client_for(bob), task_url(review, "claim"))
    assert post(client_for(boss), task_url(review, "unclaim")).status_code == 200, "may assign"
    assert assignees(review) == []


def test_assign_with_the_permission_or_by_the_assignee_delegating(review, ada, bob, eve, boss):
    refused = post(client_for(eve), task_url(review, "assign"), {"assignees": [eve.pk]})
    assert refused.status_code == 403 and "assign permission" in refused.json()["detail"]
    assert assignees(review) == []

    response = post(client_for(boss), task_url(review, "assign"), {"assignees": [bob.pk, ada.pk]})

    assert response.status_code == 200, response.json()
    assert sorted(response.json()["assignees"]) == sorted([ada.pk, bob.pk])
    delegated = post(client_for(bob), task_url(review, "assign"), {"assignees": [eve.pk]})
    assert delegated.status_code == 200, delegated.json()
    assert delegated.json()["assignees"] == [eve.pk]
    back = post(client_for(bob), task_url(review, "assign"), {"assignees": [bob.pk]})
    assert back.status_code == 403, "bob handed it on"
    # An assignee may complete it, though not in the candidate groups.
    completed = post(client_for(eve), task_url(review, "complete"), {"approved": True})
    assert completed.status_code == 200, completed.json()


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"assignees": [999999]}, {"assignees"}),
        ({"assignees": ["inactive"]}, {"assignees"}),  # replaced by the inactive user's id
        ({"assignees": []}, {"assignees"}),
        ({"assignees": "ada"}, {"assignees"}),
        ({"assignees": 1}, {"assignees"}),
        ({"assignees": ["1"]}, {"assignees"}),
        ({"assignees": [True]}, {"assignees"}),
        ({"assignees": [1.5]}, {"assignees"}),
        ({"assignees": [None]}, {"assignees"}),
        ({"assignees": [2**70, -1, 0]}, {"assignees"}),
        ({"assignees": None}, {"assignees"}),
        ({}, {"assignees"}),
        ({"assignees": ["ada"], "comment": "x"}, {"comment"}),
    ],
)
def test_assign_refuses_bad_bodies_with_400_and_changes_nothing(
    review, ada, boss, django_user_model, body, errors
):
    inactive = django_user_model.objects.create_user("gone", is_active=False)
    ids = {"ada": ada.pk, "inactive": inactive.pk}
    if isinstance(body.get("assignees"), list):
        body = {**body, "assignees": [ids.get(item, item) for item in body["assignees"]]}

    response = post(client_for(boss), task_url(review, "assign"), body)

    assert response.status_code == 400, response.content
    assert set(response.json()) == errors
    assert assignees(review) == []


def test_the_messages_of_a_bad_assign_say_what_to_do(review, boss, django_user_model):
    inactive = django_user_model.objects.create_user("gone", is_active=False)
    api = client_for(boss)

    unknown = post(api, task_url(review, "assign"), {"assignees": [boss.pk, inactive.pk]}).json()
    empty = post(api, task_url(review, "assign"), {"assignees": []}).json()

    assert unknown == {"assignees": {"1": [f"No active user with id {inactive.pk}."]}}
    assert "unclaim" in empty["assignees"][0]


def test_complete_is_for_candidates_and_assignees(review, ada, eve):
    refused = post(client_for(eve), task_url(review, "complete"), {"approved": True})

    assert refused.status_code == 403
    assert refused.json()["detail"].startswith(f"Task review #{review.pk} is offered to the group")
    review.refresh_from_db()
    assert review.status == Task.SCHEDULED

    response = post(client_for(ada), task_url(review, "complete"), {"approved": True})

    assert response.status_code == 200, response.json()
    assert response.json()["completed_by_user"] == ada.pk
    assert [t["name"] for t in response.json()["next_tasks"]] == ["sign"]


def inbox(client, **params) -> list[int]:
    query = {"workflow": LABEL, "status": "scheduled", **params}
    response = client.get(url("task-list"), query)
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def three(worker, reviewers):
    """Three open reviews (oldest first): due in 3 days, never, in 1 day; priorities 1, 5, 1."""
    reviews = [scheduled(models.InboxWorkflow.start(), "review") for _ in range(3)]
    now = timezone.now()
    for task, due, priority in zip(reviews, [3, None, 1], [1, 5, 1], strict=True):
        Task.objects.filter(pk=task.pk).update(
            due=now + timedelta(days=due) if due else None, priority=priority
        )
    return reviews


def test_inbox_orders_by_due_date_priority_and_creation(three, ada):
    a, b, c = (task.pk for task in three)
    api = client_for(ada)

    assert inbox(api) == [c, b, a], "newest first by default"
    assert inbox(api, ordering="due") == [c, a, b], "no due date last"
    assert inbox(api, ordering="-due") == [a, c, b]
    assert inbox(api, ordering="priority") == [c, a, b], "the newest first among equals"
    assert inbox(api, ordering="-priority") == [b, c, a]
    assert inbox(api, ordering="created") == [a, b, c]
    assert inbox(api, ordering="-created") == [c, b, a]
    assert inbox(api, ordering="-priority", page_size=1) == [b]


def test_inbox_candidate_and_overdue_filters(three, ada, bob, eve):
    a, b, c = (task.pk for task in three)
    post(client_for(ada), task_url(three[1], "claim"))
    Task.objects.filter(pk=a).update(due=timezone.now() - timedelta(hours=1))

    assert inbox(client_for(ada), candidate="me") == [c, a]
    assert inbox(client_for(bob), candidate="me") == [c, a]
    assert inbox(client_for(eve), candidate="me") == []
    assert inbox(client_for(eve)) == [], "offered to reviewers only"
    assert inbox(client_for(ada), assignee="me") == [b]
    assert inbox(client_for(bob)) == [c, a], "claimed by ada"
    assert inbox(client_for(ada), overdue="true") == [a]
    assert inbox(client_for(ada), overdue="true", candidate="me", ordering="due") == [a]

    items = {
        item["id"]: item
        for item in client_for(ada).get(url("task-list"), {"workflow": LABEL}).json()["results"]
    }
    assert items[a]["overdue"] is True and items[c]["overdue"] is False
    assert items[b]["priority"] == 5 and items[b]["assignees"] == [ada.pk]
    assert items[b]["due"] is None and items[c]["due"] is not None
    assert items[c]["candidate_groups"] == ["reviewers"] and items[c]["comment"] == ""
    start = next(item for item in items.values() if item["name"] == "start")
    assert (start["candidate_groups"], start["overdue"]) == ([], False)


@pytest.mark.parametrize(
    "params",
    [
        {"candidate": "you"},
        {"candidate": ""},
        {"overdue": "false"},
        {"overdue": "yes"},
        {"ordering": "name"},
        {"ordering": "pk"},
        {"ordering": ""},
        {"ordering": "due,priority"},
    ],
)
def test_inbox_refuses_unknown_filter_values_with_400(db, eve, params):
    response = client_for(eve).get(url("task-list"), params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_comments_on_task_cancel_instance_cancel_and_override_are_kept(worker, reviewers, boss):
    api = client_for(boss)
    first, second, third = (models.InboxWorkflow.start() for _ in range(3))
    review = scheduled(first, "review")

    canceled = post(api, task_url(review, "cancel"), {"comment": "Duplicate request."})

    assert canceled.status_code == 200, canceled.json()
    assert (canceled.json()["status"], canceled.json()["comment"]) == (
        "canceled",
        "Duplicate request.",
    )
    scheduled(second, "review")
    response = post(api, instance_url(second, "cancel"), {"comment": "Customer withdrew."})
    assert response.status_code == 200, response.json()
    assert {(t["name"], t["status"], t["comment"]) for t in response.json()["tasks"]} >= {
        ("review", "canceled", "Customer withdrew."),
        ("cancel", "succeeded", "Customer withdrew."),
    }
    scheduled(third, "review")
    response = post(
        api,
        instance_url(third, "override"),
        {"next_tasks": ["sign"], "comment": "Approved by phone."},
    )
    assert response.status_code == 200, response.json()
    override = third.task_set.get(name="override")
    assert override.comment == "Approved by phone."
    assert third.task_set.get(name="review").comment == "Approved by phone."
    assert scheduled(third, "sign").parent_task_set.get() == override


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"comment": "x" * 2001}, {"comment"}),
        ({"comment": 12}, {"comment"}),
        ({"comment": None}, {"comment"}),
        ({"comment": ["why"]}, {"comment"}),
        ({"reason": "typo"}, {"reason"}),
    ],
)
def test_bad_comments_are_400_and_change_nothing(review, boss, body, errors):
    api = client_for(boss)
    workflow = review.workflow
    paths = [
        task_url(review, "cancel"),
        task_url(review, "rerun"),
        instance_url(workflow, "cancel"),
        instance_url(workflow, "override"),
    ]

    for path in paths:
        override = path.endswith("override/")
        response = post(api, path, {"end_instance": True, **body} if override else body)
        assert response.status_code == 400, (path, response.content)
        assert set(response.json()) == errors, path

    review.refresh_from_db()
    assert (review.status, review.comment) == (Task.SCHEDULED, "")
    assert not workflow.task_set.filter(name__in=["override", "cancel"]).exists()


def test_an_override_comment_needs_something_to_record_it_on(review, boss):
    response = post(
        client_for(boss), instance_url(review.workflow, "override"), {"note": "x", "comment": "y"}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"comment"}
    review.workflow.refresh_from_db()
    assert review.workflow.note == ""


@pytest.mark.parametrize("action", ["claim", "unclaim"])
def test_claim_and_unclaim_take_no_body_keys(review, ada, action):
    response = post(client_for(ada), task_url(review, action), {"user": ada.pk})

    assert response.status_code == 400
    assert response.json() == {"user": ["Unknown field."]}
    assert assignees(review) == []


def test_two_concurrent_claims_one_wins_the_other_is_409(review, ada, bob):
    barrier = threading.Barrier(2)
    responses = {}

    def claim(user):
        try:
            api = client_for(user)
            barrier.wait(timeout=10)
            responses[user.username] = post(api, task_url(review, "claim"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(user,)) for user in (ada, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = sorted(response.status_code for response in responses.values())
    assert statuses == [200, 409], {name: r.json() for name, r in responses.items()}
    winner = next(name for name, r in responses.items() if r.status_code == 200)
    assert assignees(review) == [winner]


def test_claim_and_assign_with_an_assigned_hook_are_503_without_temporal(
    worker, ada, boss, settings
):
    """The class has ``on_task_assigned``: the engine must hear of new assignees, or nothing
    changes."""
    review = scheduled(models.HookedWorkflow.start(), "review")
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    claim = post(client_for(ada), task_url(review, "claim"))
    assign = post(client_for(boss), task_url(review, "assign"), {"assignees": [ada.pk]})

    assert claim.status_code == assign.status_code == 503, (claim.json(), assign.json())
    assert "nothing was written" in claim.json()["detail"]
    assert assignees(review) == []


def test_json_nested_too_deeply_is_a_400(review, ada):
    # Deeper than any Python's decoder goes (3.12 stops near 1,000, 3.13 near 10,000).
    body = "[" * 100_000 + "]" * 100_000
    response = client_for(ada).post(
        task_url(review, "claim"), body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "nested too deeply" in response.json()["detail"]
