"""The inbox page (joeflow_temporal.urls): its sections, ordering and paging, the claim and
unclaim buttons with their refusals, and its cost in queries at 10,000 open tasks."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from joeflow_temporal.models import Task
from tests.helpers import scheduled
from tests.testapp import models

INBOX = reverse("joeflow_temporal:inbox")


def claim_url(task) -> str:
    return reverse("joeflow_temporal:claim", args=[task.pk])


def unclaim_url(task) -> str:
    return reverse("joeflow_temporal:unclaim", args=[task.pk])


@pytest.fixture
def reviewers():
    return Group.objects.create(name="reviewers")


@pytest.fixture
def people(django_user_model, reviewers):
    """``rita`` and ``bob`` review; ``otto`` is in no group."""
    users = {}
    for name in ("rita", "bob", "otto"):
        users[name] = django_user_model.objects.create_user(name, password="pw")
    reviewers.user_set.add(users["rita"], users["bob"])
    return users


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def row_ids(response) -> list[int]:
    return [row.task.pk for row in response.context["rows"]]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_inbox_wants_a_signed_in_user(client, db, settings):
    response = client.get(INBOX)

    assert response.status_code == 302
    assert response.url == f"{reverse(settings.LOGIN_URL)}?next={INBOX}"


def test_claim_work_and_unclaim_from_the_inbox(worker, people):
    rita, otto = signed_in(people["rita"]), signed_in(people["otto"])
    workflow = models.InboxWorkflow.start()
    review = scheduled(workflow, "review")

    mine = rita.get(INBOX)
    assert mine.status_code == 200 and row_ids(mine) == []
    assert b"Nothing is assigned to you" in mine.content
    claimable = rita.get(INBOX, {"section": "claimable"})
    assert row_ids(claimable) == [review.pk]
    html = claimable.content.decode()
    assert f'action="{claim_url(review)}"' in html
    assert f'href="{review.get_absolute_url()}"' in html, "she may complete it: a link"
    assert f'href="{workflow.get_absolute_url()}"' in html, "the instance's page"
    assert "reviewers" in html and review.due.strftime("%Y") in html
    assert row_ids(otto.get(INBOX, {"section": "claimable"})) == [], "not his group's"

    response = rita.post(claim_url(review), {"next": f"{INBOX}?section=claimable"}, follow=True)

    assert response.redirect_chain == [(f"{INBOX}?section=claimable", 302)]
    assert messages_of(response) == [f"Task review #{review.pk} is yours now."]
    assert list(review.assignees.all()) == [people["rita"]]
    assert row_ids(response) == [], "claimed: no longer claimable"
    mine = rita.get(INBOX)
    assert row_ids(mine) == [review.pk]
    assert f'action="{unclaim_url(review)}"' in mine.content.decode()
    assert [count for _, count in mine.context["sections"]] == [1, 0, 0]

    response = rita.post(unclaim_url(review), {"next": "https://evil.example/"}, follow=True)

    assert response.redirect_chain == [(INBOX, 302)], "only a next URL on this site"
    assert messages_of(response) == [f"Task review #{review.pk} is back with its candidates."]
    assert not review.assignees.exists()


def test_refused_claims_answer_a_page_with_the_reason(worker, people):
    rita, bob, otto = (signed_in(people[name]) for name in ("rita", "bob", "otto"))
    workflow = models.InboxWorkflow.start()
    review = scheduled(workflow, "review")

    not_candidate = otto.post(claim_url(review))
    assert not_candidate.status_code == 403
    assert b"offered to the group reviewers" in not_candidate.content
    assert not review.assignees.exists()

    not_claimed = rita.post(unclaim_url(review))
    assert not_claimed.status_code == 409
    assert f"Task review #{review.pk} is not claimed by anyone.".encode() in not_claimed.content

    assert rita.post(claim_url(review)).status_code == 302
    taken = bob.post(claim_url(review), {"next": f"{INBOX}?section=claimable"})
    assert taken.status_code == 409
    assert f"Task review #{review.pk} is claimed by rita.".encode() in taken.content
    assert f'href="{INBOX}?section=claimable"'.encode() in taken.content, "a way back"
    not_his = bob.post(unclaim_url(review))
    assert not_his.status_code == 403
    assert b"only they, or someone with the assign permission" in not_his.content
    assert list(review.assignees.all()) == [people["rita"]]

    review.cancel(people["rita"], comment="not needed")
    closed = rita.post(unclaim_url(review))
    assert closed.status_code == 409
    assert b"was canceled" in closed.content and b"not needed" in closed.content

    assert rita.get(claim_url(review)).status_code == 405
    assert rita.post(reverse("joeflow_temporal:claim", args=[10**12])).status_code == 404


def test_claim_needs_the_csrf_token_of_the_page(worker, people):
    rita = signed_in(people["rita"], enforce_csrf_checks=True)
    workflow = models.InboxWorkflow.start()
    review = scheduled(workflow, "review")

    assert rita.post(claim_url(review)).status_code == 403
    assert not review.assignees.exists()

    page = rita.get(INBOX, {"section": "claimable"}).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = rita.post(claim_url(review), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert list(review.assignees.all()) == [people["rita"]]


def test_anonymous_claim_goes_to_the_login_page(client, db, settings):
    response = client.post(reverse("joeflow_temporal:claim", args=[1]))

    assert response.status_code == 302
    assert response.url.startswith(f"{reverse(settings.LOGIN_URL)}?next=")


def test_claim_with_temporal_unreachable_answers_503(worker, people, settings):
    """``HookedWorkflow`` has ``on_task_assigned``: the claim signals the engine."""
    workflow = models.HookedWorkflow.start()
    review = scheduled(workflow, "review")
    settings.JOEFLOW_TEMPORAL_ADDRESS = "127.0.0.1:1"

    response = signed_in(people["otto"]).post(claim_url(review))

    assert response.status_code == 503
    assert b"not saved" in response.content
    assert not review.assignees.exists()


def test_overdue_lists_what_the_user_may_work_on_past_due(worker, people):
    rita, otto = signed_in(people["rita"]), signed_in(people["otto"])
    late, on_time = models.InboxWorkflow.start(), models.InboxWorkflow.start()
    late_review, on_time_review = scheduled(late, "review"), scheduled(on_time, "review")
    Task.objects.filter(pk=late_review.pk).update(due=timezone.now() - timedelta(hours=1))

    overdue = rita.get(INBOX, {"section": "overdue"})

    assert row_ids(overdue) == [late_review.pk]
    assert on_time_review.pk not in row_ids(overdue)
    assert re.search(r'class="overdue"[^>]*>[^<]*· overdue', overdue.content.decode())
    assert row_ids(otto.get(INBOX, {"section": "overdue"})) == [], "not offered to him"
    empty = otto.get(INBOX, {"section": "overdue"})
    assert b"Nothing you may work on is past its due date." in empty.content


def test_the_task_page_shows_due_priority_groups_and_comment(worker, people):
    workflow = models.InboxWorkflow.start()
    review = scheduled(workflow, "review")
    Task.objects.filter(pk=review.pk).update(priority=3, comment="Please hurry.")

    page = signed_in(people["rita"]).get(review.get_absolute_url()).content.decode()

    meta = re.search(r'<dl class="task-meta">(.*?)</dl>', page, re.S).group(1)
    assert "Priority" in meta and ">3<" in meta
    assert "reviewers" in meta and "Please hurry." in meta
    assert review.due.strftime("%Y") in meta and "overdue" not in meta


# Without the engine: rows written directly, as many as a busy project has.


def open_tasks(user, count: int, **fields):
    """``count`` scheduled ``review`` tasks of one InboxWorkflow instance, assigned to ``user``
    if given; ``fields`` may be callables of the task's index."""
    workflow = models.InboxWorkflow.objects.create()
    content_type = workflow.get_content_type()
    rows = Task.objects.bulk_create(
        Task(
            _workflow=workflow,
            content_type=content_type,
            name="review",
            type=Task.HUMAN,
            **{key: value(i) if callable(value) else value for key, value in fields.items()},
        )
        for i in range(count)
    )
    if user is not None:
        Task.assignees.through.objects.bulk_create(
            Task.assignees.through(task_id=task.pk, user_id=user.pk) for task in rows
        )
    return workflow, rows


@pytest.mark.django_db
def test_ordering_by_due_date_and_priority(people):
    now = timezone.now()
    _, rows = open_tasks(
        people["rita"],
        4,
        due=lambda i: [now + timedelta(days=2), None, now - timedelta(days=1), now][i],
        priority=lambda i: [0, 5, 1, 5][i],
    )
    a, b, c, d = (task.pk for task in rows)
    rita = signed_in(people["rita"])

    def order(value):
        return row_ids(rita.get(INBOX, {"ordering": value}))

    assert order("due") == [c, d, a, b], "no due date last"
    assert order("-due") == [a, d, c, b]
    assert order("priority") == [a, c, d, b]
    assert order("-priority") == [d, b, c, a]
    assert order("-priority") == row_ids(rita.get(INBOX)), "the default"
    invalid = rita.get(INBOX, {"ordering": "secret_field", "section": "nope", "page": "x"})
    assert invalid.status_code == 200 and row_ids(invalid) == [d, b, c, a], "ignored"


@pytest.mark.django_db
@pytest.mark.parametrize("section", ["mine", "claimable", "overdue"])
def test_ten_thousand_open_tasks_cost_a_few_queries_per_page(
    people, reviewers, section, django_assert_max_num_queries
):
    """The page's queries do not grow with the rows: the user's 5,000 tasks and 5,000 offered to
    the reviewers, half of them overdue; each page shows its 25 rows."""
    now = timezone.now()
    due = lambda i: now + timedelta(days=1 if i % 2 else -1)  # noqa: E731
    open_tasks(people["rita"], 5_000, due=due, priority=lambda i: i % 7)
    _, offered = open_tasks(None, 5_000, due=due)
    Task.candidate_groups.through.objects.bulk_create(
        Task.candidate_groups.through(task_id=task.pk, group_id=reviewers.pk) for task in offered
    )
    rita = signed_in(people["rita"])
    rita.get(INBOX)  # the session, once

    for page in (1, 2, 200):
        with django_assert_max_num_queries(12):
            response = rita.get(INBOX, {"section": section, "page": page, "ordering": "due"})
        assert response.status_code == 200
        assert len(response.context["rows"]) == 25
    counts = dict((tab.key, count) for tab, count in response.context["sections"])
    assert counts == {"mine": 5_000, "claimable": 5_000, "overdue": 5_000}
    last = response.context["page_obj"]
    assert last.number == 200 and not last.has_next()


def test_staff_find_the_overview_of_each_workflow_in_the_inbox(db, django_user_model, people):
    staff = django_user_model.objects.create_user("stella", password="pw", is_staff=True)
    overview = reverse("joeflow_temporal:overview", args=["testapp.inboxworkflow"])

    page = signed_in(staff).get(INBOX)
    assert f'href="{overview}"' in page.content.decode()
    assert signed_in(staff).get(overview).status_code == 200

    page = signed_in(people["rita"]).get(INBOX)
    assert page.context["overviews"] == [] and "/overview/" not in page.content.decode()
