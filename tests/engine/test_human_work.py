"""Human work in the engine: due dates that escalate, reminders, hooks, candidate groups.

Durations are seconds (the dev server fires timers at about 1 s granularity).
"""

import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from temporalio.api.enums.v1 import EventType

from joeflow_temporal.exceptions import Refused, TaskNotScheduled
from joeflow_temporal.models import Task
from joeflow_temporal.testing import wait_for_engine
from tests.helpers import history, parents, result, scheduled, tasks, wait_until
from tests.testapp import models


@pytest.fixture
def reviewers(django_user_model):
    group = Group.objects.create(name="reviewers")
    Group.objects.create(name="managers")
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw")
    ada.groups.add(group)
    return ada


def hook_lines(workflow) -> list[str]:
    workflow.refresh_from_db()
    return workflow.hook_log.splitlines()


def event_types(workflow) -> list[str]:
    return [EventType.Name(event.event_type) for event in history(workflow).events]


def test_due_date_escalates_to_on_timeout(worker, reviewers):
    workflow = models.ApprovalWorkflow.start()
    review = scheduled(workflow, "review")
    assert review.due == review.created + timedelta(seconds=3)
    assert [g.name for g in review.candidate_groups.all()] == ["reviewers"]

    escalate = wait_until(lambda: workflow.task_set.filter(name="escalate").first(), timeout=20)
    review.refresh_from_db()
    assert review.status == Task.CANCELED
    assert review.comment.startswith("Not completed by its due date")
    assert review.comment.endswith("escalated to escalate.")
    assert parents(escalate) == ["review"] and escalate.status == Task.SCHEDULED
    assert [g.name for g in escalate.candidate_groups.all()] == ["managers"]

    with pytest.raises(TaskNotScheduled, match="was canceled"):
        review.complete(reviewers)
    escalate.complete()
    result(workflow)
    assert tasks(workflow)[-1] == ("end", "succeeded")


def test_completion_before_the_due_date_cancels_the_timer(worker, reviewers):
    workflow = models.ApprovalWorkflow.start()
    review = scheduled(workflow, "review")
    review.complete(reviewers)
    result(workflow)

    assert [name for name, _ in tasks(workflow)] == ["start", "review", "end"]
    events = event_types(workflow)
    assert events.count("EVENT_TYPE_TIMER_STARTED") == 1
    assert events.count("EVENT_TYPE_TIMER_CANCELED") == 1
    assert "EVENT_TYPE_TIMER_FIRED" not in events


def test_a_task_without_human_work_costs_no_timer(worker):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    scheduled(workflow, "edit").complete()
    result(workflow)
    assert "EVENT_TYPE_TIMER_STARTED" not in event_types(workflow)


def test_due_set_by_the_create_task_hook_drives_the_timer(worker):
    workflow = models.DueFromHookWorkflow.start()
    review = scheduled(workflow, "review")
    assert review.priority == 5
    assert review.due == review.created + timedelta(seconds=1)

    result(workflow, timeout=20)
    assert tasks(workflow)[1:] == [("review", "canceled"), ("escalate", "succeeded")]


def test_due_moved_before_it_fires_is_followed(worker, reviewers):
    workflow = models.ApprovalWorkflow.start()
    review = scheduled(workflow, "review")
    Task.objects.filter(pk=review.pk).update(due=timezone.now() + timedelta(seconds=6))

    wait_until(lambda: workflow.task_set.filter(name="escalate").exists(), timeout=30)
    review.refresh_from_db()
    assert review.completed >= review.created + timedelta(seconds=5.5), "waited for the new date"


def test_missing_candidate_group_fails_the_task_visibly_and_a_rerun_opens_it(worker):
    workflow = models.ApprovalWorkflow.start()
    review = wait_until(lambda: workflow.task_set.failed().filter(name="review").first())
    assert "no group 'reviewers'" in review.exception
    assert "rerun" in review.exception
    review.rerun(comment="try again")
    review.refresh_from_db()
    assert review.status == Task.FAILED and review.comment == "try again", "failed again"

    Group.objects.create(name="reviewers")
    review.rerun(comment="created the group")
    review.refresh_from_db()
    assert review.status == Task.SCHEDULED and review.comment == "created the group"
    assert [g.name for g in review.candidate_groups.all()] == ["reviewers"]
    assert review.due > timezone.now(), "the due date counts from the rerun"
    Group.objects.create(name="managers")
    escalate = wait_until(lambda: workflow.task_set.filter(name="escalate").first(), timeout=20)
    assert escalate.status == Task.SCHEDULED, "the rerun task got its due timer too"


def test_hooks_run_once_each_and_reminders_repeat_while_open(worker, django_user_model):
    models.HOOK_CALLS.clear()
    grace = django_user_model.objects.create_user("grace")
    workflow = models.HookedWorkflow.start()
    review = scheduled(workflow, "review")

    wait_until(lambda: len([c for c in hook_lines(workflow) if "reminder" in c]) >= 2, timeout=20)
    review.claim(grace)
    wait_until(lambda: any("on_task_assigned" in line for line in hook_lines(workflow)))
    review.complete(grace)
    result(workflow)
    wait_for_engine(workflow)

    lines = hook_lines(workflow)
    assert lines[0] == f"on_task_created {review.pk} "
    assert [line for line in lines if "created" in line] == [lines[0]], "exactly once"
    assert f"on_task_assigned {review.pk} grace" in lines
    reminders = [line for line in lines if "reminder" in line]
    assert len(reminders) >= 2
    time.sleep(2.5)  # reminders were due every second: none may come after the completion
    assert hook_lines(workflow) == lines


def test_default_hooks_email_candidates_then_assignees(worker, reviewers, settings):
    settings.JOEFLOW_TEMPORAL_NOTIFY_EMAIL = True
    settings.JOEFLOW_TEMPORAL_SITE_URL = "https://work.example.com/"
    workflow = models.InboxWorkflow.start()
    review = scheduled(workflow, "review")
    wait_for_engine(workflow)

    [created] = mail.outbox
    assert created.to == ["ada@example.com"]
    assert created.subject == f"New task: review of {workflow}"
    assert f"https://work.example.com{review.get_absolute_url()}" in created.body

    review.claim(reviewers)
    wait_until(lambda: len(mail.outbox) == 2)
    assert mail.outbox[1].subject == f"Assigned to you: review of {workflow}"
    assert mail.outbox[1].to == ["ada@example.com"]


def test_a_claim_that_rolls_back_runs_no_assigned_hook(worker, django_user_model):
    grace = django_user_model.objects.create_user("grace")
    workflow = models.HookedWorkflow.start()
    review = scheduled(workflow, "review")

    with pytest.raises(RuntimeError), transaction.atomic():
        review.claim(grace)  # signals task_assigned before the commit
        raise RuntimeError("rolled back")
    review.claim(django_user_model.objects.create_user("linus"))

    wait_until(lambda: any("assigned" in line for line in hook_lines(workflow)), timeout=30)
    assigned = [line for line in hook_lines(workflow) if "assigned" in line]
    assert assigned == [f"on_task_assigned {review.pk} linus"]
    assert list(review.assignees.values_list("username", flat=True)) == ["linus"]


def test_claim_refusals(worker, reviewers, django_user_model):
    outsider = django_user_model.objects.create_user("outsider")
    workflow = models.InboxWorkflow.start()
    review = scheduled(workflow, "review")

    with pytest.raises(Refused) as refused:
        review.claim(outsider)
    assert refused.value.status == 403 and "reviewers" in refused.value.message
    review.claim(reviewers)
    review.claim(reviewers)  # claiming one's own task again changes nothing
    other = django_user_model.objects.create_user("bob")
    other.groups.add(*reviewers.groups.all())
    with pytest.raises(Refused) as refused:
        review.claim(other)
    assert refused.value.status == 409 and "claimed by ada" in refused.value.message
    with pytest.raises(Refused) as refused:
        review.claim(outsider)
    assert refused.value.status == 409, "taken first: joining the group would not help"
    assert not review.can_be_completed_by(other)
    assert review.can_be_completed_by(reviewers)
    with pytest.raises(Refused) as refused:
        review.unclaim(other)
    assert refused.value.status == 403
    review.assign([other, reviewers], by=reviewers)  # the assignee shares it
    review.unclaim(reviewers)
    assert list(review.assignees.all()) == [other], "one of two gives back their share only"
    review.unclaim(other)
    assert Task.objects.claimable_by(other).filter(pk=review.pk).exists()
    assert not Task.objects.claimable_by(outsider).filter(pk=review.pk).exists()


def test_a_group_tasks_were_offered_to_cannot_be_deleted(worker, reviewers):
    """Deleting it would leave the tasks without candidate groups: open to anyone."""
    workflow = models.InboxWorkflow.start()
    review = scheduled(workflow, "review")
    group = Group.objects.get(name="reviewers")

    with pytest.raises(ProtectedError):
        group.delete()
    assert list(review.candidate_groups.all()) == [group]
