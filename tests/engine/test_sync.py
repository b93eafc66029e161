"""Synchronous bookkeeping: when a call that moves an instance returns (outside a transaction),
the tasks that directly follow are mirrored, as joeflow has them at the end of the request.

None of these tests waits for the mirror: each reads it right after the call returned.
"""

import subprocess
import sys
import textwrap

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from joeflow_temporal.models import Task
from tests.helpers import ROOT, client_for, make_user, post, start_url, task_url, wait_until
from tests.processes import worker_env
from tests.testapp import models


def names(tasks) -> set[str]:
    return {task.name for task in tasks}


def test_start_returns_with_the_next_tasks_mirrored(worker):
    human = models.GuardedWorkflow.start()
    machine = models.SplitJoinWorkflow.start()

    [edit] = human.task_set.get(name="start").child_task_set.all()
    assert (edit.name, edit.type, edit.status) == ("edit", Task.HUMAN, Task.SCHEDULED)
    [split] = machine.task_set.get(name="start").child_task_set.all()
    assert (split.name, split.type, split.status) == ("split", Task.MACHINE, Task.SUCCEEDED)


def test_completion_returns_with_the_next_human_task_scheduled(worker):
    workflow = models.GuardedWorkflow.start()
    edit = workflow.task_set.get(name="edit", status=Task.SCHEDULED)

    edit.complete()

    end = edit.child_task_set.get()
    assert (end.name, end.status) == ("end", Task.SUCCEEDED)


def test_start_and_complete_answer_next_tasks(worker, django_user_model):
    api = client_for(make_user(django_user_model, "ada"))

    started = post(api, start_url(models.HumanWorkflow, "start"), {"choice": "x"})

    assert started.status_code == 201, started.json()
    [edit] = started.json()["next_tasks"]
    task = Task.objects.get(pk=edit["id"])
    assert edit == {
        "id": task.pk,
        "name": "edit",
        "type": "human",
        "status": "scheduled",
        "url": reverse("humanworkflow:edit", args=[task.pk]),
    }

    completed = post(api, task_url(task, "complete"), {"count": 3})

    assert completed.status_code == 200, completed.json()
    assert completed.json()["status"] == "succeeded"
    assert completed.json()["next_tasks"] == [
        {
            "id": task.child_task_set.get().pk,
            "name": "end",
            "type": "machine",
            "status": "succeeded",
            "url": None,
        }
    ]


def test_start_page_redirects_to_the_next_task_the_user_may_complete(worker, client):
    response = client.post(reverse("humanworkflow:start"), {"choice": "web"})

    edit = Task.objects.get(name="edit", status=Task.SCHEDULED)
    assert response.status_code == 302
    assert response["Location"] == reverse("humanworkflow:edit", args=[edit.pk])

    response = client.post(response["Location"], {"count": 1})

    assert response.status_code == 302
    assert response["Location"] == edit.workflow.get_absolute_url()  # no human task follows


def test_not_the_next_task_of_someone_else(worker, client, django_user_model):
    grace = django_user_model.objects.create_user("grace", password="pw")
    client.force_login(django_user_model.objects.create_user("ada", password="pw"))
    # GuardedWorkflow assigns its `edit` task to the user named in `choice`.
    workflow = models.GuardedWorkflow.start(choice=grace.username)
    edit = workflow.task_set.get(name="edit")
    assert list(edit.assignees.all()) == [grace]

    response = client.get(reverse("guardedworkflow:edit", args=[edit.pk]))

    assert response.status_code == 403


def test_override_cancel_and_rerun_return_with_the_engine_done(worker):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})

    override = workflow.override(["edit"])

    [edit] = override.child_task_set.all()
    assert (edit.name, edit.status) == ("edit", Task.SCHEDULED)

    workflow.cancel()

    workflow.refresh_from_db()
    assert workflow.completed is not None  # the engine finished it before cancel() returned

    failing = models.FailingWorkflow.start(fail=True)
    explode = failing.task_set.get(name="explode")
    assert explode.status == Task.FAILED
    models.FailingWorkflow.objects.filter(pk=failing.pk).update(fail=False)

    explode.rerun()

    explode.refresh_from_db()
    assert explode.status == Task.SUCCEEDED
    assert names(explode.child_task_set.all()) == {"end"}


def test_inside_a_transaction_nothing_waits(worker):
    with transaction.atomic():
        workflow = models.SplitJoinWorkflow.start()
        # The engine cannot see uncommitted rows: start() returned without waiting.
        assert names(workflow.task_set.all()) == {"start"}

    wait_until(lambda: workflow.task_set.filter(name="review").exists())


def test_sync_timeout_zero_does_not_wait(worker, settings):
    settings.JOEFLOW_TEMPORAL_SYNC_TIMEOUT = 0
    slow = models.SlowWorkflow.start()  # its machine task takes seconds

    assert names(slow.task_set.all()) == {"start"}
    wait_until(lambda: slow.task_set.filter(name="crunch").exists(), timeout=60)


def test_a_process_killed_between_commit_and_wake_up_loses_nothing(worker, task_queue):
    """The commit is the truth: the completion goes on though its process died right after
    the commit, before it could wait for the engine."""
    workflow = models.GuardedWorkflow.start()
    edit = workflow.task_set.get(name="edit", status=Task.SCHEDULED)
    script = textwrap.dedent(
        f"""
        import os, django
        django.setup()
        from joeflow_temporal.runtime import client
        from joeflow_temporal.models import Task
        client.wait_followed = lambda *args: os._exit(9)  # die right after the commit
        Task.objects.get(pk={edit.pk}).complete()
        """
    )
    env = worker_env(settings.JOEFLOW_TEMPORAL_ADDRESS, task_queue)

    died = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, timeout=120)

    assert died.returncode == 9
    edit.refresh_from_db()
    assert edit.status == Task.SUCCEEDED
    end = wait_until(lambda: edit.child_task_set.filter(name="end").first())
    assert end.status == Task.SUCCEEDED
