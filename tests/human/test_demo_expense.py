"""The reference project's expense demo, as a user meets it: started from the home page,
offered to the expense reviewers (reminded while it waits), escalated to the managers at its
due date (3 s in the tests: ``DEMO_EXPENSE_REVIEW_DUE`` in tests/settings.py)."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from django_integration.demo.models import MANAGERS, REVIEWERS, ExpenseWorkflow
from joeflow_temporal.models import Task
from tests.helpers import result, scheduled, tasks, wait_until


@pytest.fixture
def people(django_user_model):
    """A reviewer, a manager and someone in neither group (the groups come from the demo's
    data migration; a transactional test before this one may have flushed them)."""
    users = {}
    for name, group in [("rita", REVIEWERS), ("max", MANAGERS), ("otto", None)]:
        users[name] = django_user_model.objects.create_user(name, password="pw")
        if group:
            users[name].groups.add(Group.objects.get_or_create(name=group)[0])
    return users


def test_expense_is_offered_to_reviewers_reminds_and_escalates(worker, client, people, caplog):
    caplog.set_level(logging.INFO, logger="django_integration.demo.models")
    client.force_login(people["otto"])
    submit = reverse("expenseworkflow:submit")
    assert f'href="{submit}"' in client.get("/").content.decode(), "started from the home page"

    response = client.post(submit, {"description": "Train to Basel", "amount": "84.50"})

    assert response.status_code == 302
    expense = ExpenseWorkflow.objects.get()
    review = scheduled(expense, "review")
    assert [g.name for g in review.candidate_groups.all()] == [REVIEWERS]
    assert review.due == review.created + timedelta(seconds=3)
    assert list(Task.objects.claimable_by(people["rita"])) == [review]
    assert not Task.objects.claimable_by(people["otto"]).exists()
    assert client.get(review.get_absolute_url()).status_code == 403
    client.force_login(people["rita"])
    assert review.get_absolute_url() in client.get("/").content.decode(), "in her inbox"
    assert client.get(review.get_absolute_url()).status_code == 200

    escalate = wait_until(lambda: expense.task_set.filter(name="escalate").first(), timeout=20)
    reminders = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Reminder")]
    assert reminders and f"waits for review since {review.created}" in reminders[0]
    assert reminders[0].endswith(REVIEWERS)
    review.refresh_from_db()
    assert review.status == Task.CANCELED and "escalated to escalate" in review.comment
    assert [g.name for g in escalate.candidate_groups.all()] == [MANAGERS]
    assert not Task.objects.claimable_by(people["rita"]).exists()

    client.force_login(people["max"])
    response = client.post(escalate.get_absolute_url(), {"approved": "on"})

    assert response.status_code == 302
    result(expense)
    expense.refresh_from_db()
    assert expense.approved
    assert tasks(expense) == [
        ("submit", "succeeded"),
        ("review", "canceled"),
        ("escalate", "succeeded"),
        ("end", "succeeded"),
    ]
