"""Replay: a change to the walker that would break running instances fails here.

Histories recorded from the test workflows are stored in ``tests/histories``; every one must
replay against the current walker. Re-record after an intentional, ``workflow.patched`` change:
``JOEFLOW_RECORD_HISTORIES=1 pytest tests/engine/test_replay.py``, after moving the histories
recorded before the change into a folder named after the patch (they keep the old code path
tested).
"""

import asyncio
import json
import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from joeflow_temporal.runtime import client as engine_client
from joeflow_temporal.runtime.worker import engine_plugin
from tests.helpers import TESTS, result, scheduled, wait_until
from tests.testapp import models

HISTORIES = TESTS / "histories"


def replay(histories: list[WorkflowHistory]) -> None:
    replayer = Replayer(workflows=[], plugins=[engine_plugin()])
    for history in histories:
        asyncio.run(replayer.replay_workflow(history))


def load(path: Path) -> WorkflowHistory:
    stored = json.loads(path.read_text())
    return WorkflowHistory.from_json(stored["workflow_id"], stored["history"])


STORED = sorted(HISTORIES.rglob("*.json"))


@pytest.mark.parametrize(
    "path", STORED, ids=lambda path: str(path.relative_to(HISTORIES).with_suffix(""))
)
def test_stored_history_replays(path):
    replay([load(path)])


def test_histories_are_stored():
    assert len(list(HISTORIES.glob("*.json"))) >= 8, "histories of the current walker"
    assert len(list(HISTORIES.glob("*/*.json"))) >= 8, "histories from before its patches"


def linear():
    return models.LinearWorkflow.start()


def gateway():
    return models.GatewayWorkflow.start(choice="both")


def poll():
    workflow = models.PollWorkflow.start()
    wait_until(lambda: models.PollWorkflow.objects.get(pk=workflow.pk).count >= 2)
    models.PollWorkflow.objects.filter(pk=workflow.pk).update(flag=True)
    return workflow


def failure_and_rerun():
    workflow = models.FailingWorkflow.start(fail=True)
    task = wait_until(lambda: workflow.task_set.failed().first())
    models.FailingWorkflow.objects.filter(pk=workflow.pk).update(fail=False)
    task.rerun()
    return workflow


def human_task_failure_and_rerun():
    """A human task whose ``create_task`` hook raises fails; a rerun opens it (patch
    ``human-task-creation-may-fail``)."""
    workflow = models.ReviewWorkflow.start()
    review = wait_until(lambda: workflow.task_set.failed().first())
    Group.objects.create(name="reviewers")
    review.rerun()
    scheduled(workflow, "review").complete()
    return workflow


def split_join_humans():
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "review").complete()
    scheduled(workflow, "approve").complete()
    return workflow


def wait():
    return models.WaitWorkflow.start()


def cancel():
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "join")
    workflow.cancel()
    return workflow


def override():
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "join")
    workflow.override(["end"])
    return workflow


def loop_across_runs():
    workflow = models.LongLoopWorkflow.start(target=40)
    wait_until(lambda: workflow.get_engine_state()["run"] >= 2, timeout=60)
    scheduled(workflow, "approve").complete()
    return workflow


def human_work_timeout():
    """A due date that escalates (patch ``human-work-timers-and-hooks``)."""
    for name in ("reviewers", "managers"):
        Group.objects.get_or_create(name=name)
    workflow = models.ApprovalWorkflow.start()
    scheduled(workflow, "escalate").complete()
    return workflow


def human_work_hooks():
    """Created, reminder and assigned hooks, then a completion that stops the reminders."""
    workflow = models.HookedWorkflow.start()
    review = scheduled(workflow, "review")
    wait_until(lambda: "reminder" in models.HookedWorkflow.objects.get(pk=workflow.pk).hook_log)
    review.claim(get_user_model().objects.get_or_create(username="replay")[0])
    review.complete()
    return workflow


def subworkflows():
    """A subworkflow and a fan-out of child workflows (patch ``subworkflows-and-events``)."""
    workflow = models.SubworkflowOrderWorkflow.start(total=5, items=["cup", "plate"])
    result(workflow)
    return workflow


def subworkflow_child():
    """A child instance, which tells its parent ``child_ended``."""
    order = models.SubworkflowOrderWorkflow.start(total=5, items=[])
    result(order)
    return models.PaymentWorkflow.objects.get(parent_task__name="pay", parent_task___workflow=order)


def subworkflow_canceled():
    """The parent canceled while its children wait: it cancels them."""
    workflow = models.WaitingChildrenOrderWorkflow.start(items=[1, 2])
    wait_until(
        lambda: [
            t for t in workflow.get_engine_state()["tasks"].values() if len(t["children"]) == 2
        ]
    )
    workflow.cancel()
    return workflow


def events():
    """An event sent before its task is reached, one sent twice, one while it waits."""
    workflow = models.EventLoopOrderWorkflow.start()
    workflow.send_event("installment", {"paid_amount": 10}, event_id="a")
    workflow.send_event("installment", {"paid_amount": 10}, event_id="a")
    workflow.send_event("installment", {"paid_amount": 10}, event_id="b")
    wait_until(lambda: models.EventLoopOrderWorkflow.objects.get(pk=workflow.pk).total == 20)
    workflow.send_event("installment", {"paid_amount": 10}, event_id="c")
    return workflow


@override_settings(JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES=True)
def local_activities():
    workflow = models.LoopWorkflow.start(target=3)
    result(workflow)
    return workflow


SCENARIOS = [
    linear,
    gateway,
    poll,
    failure_and_rerun,
    human_task_failure_and_rerun,
    split_join_humans,
    wait,
    cancel,
    override,
    local_activities,
    human_work_timeout,
    human_work_hooks,
    subworkflows,
    subworkflow_child,
    subworkflow_canceled,
    events,
]


async def fetch_all_runs(workflow_id: str) -> list[WorkflowHistory]:
    client = await engine_client.get_client()
    runs = [run async for run in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    return [
        await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        for run in runs
    ]


def test_fresh_histories_replay(worker):
    """Every scenario's history, just recorded, replays; optionally stored for later walkers."""
    recorded = {}
    for scenario in [*SCENARIOS, loop_across_runs]:
        workflow = scenario()
        result(workflow, timeout=60)
        runs = engine_client.run(fetch_all_runs(workflow.temporal_workflow_id), timeout=60)
        for number, history in enumerate(reversed(runs), start=1):
            if number not in (1, 2, len(runs)):
                continue  # the first run, one continued from input state, and the last
            suffix = f"_run{number}" if len(runs) > 1 else ""
            recorded[f"{scenario.__name__}{suffix}"] = history

    replay(list(recorded.values()))

    assert any(name.startswith("loop_across_runs_run2") for name in recorded)
    if os.environ.get("JOEFLOW_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        for name, history in recorded.items():
            stored = {"workflow_id": history.workflow_id, "history": history.to_json_dict()}
            (HISTORIES / f"{name}.json").write_text(json.dumps(stored, indent=1))
