"""The worker syncs the Schedules at start-up; the firing workflow's history replays."""

import json
import os
import subprocess
import sys
import uuid

from temporalio.client import WorkflowHistory

from joeflow_temporal.models import ScheduledFiring
from joeflow_temporal.runtime.schedules import sync
from tests.engine.test_replay import HISTORIES, replay
from tests.helpers import ROOT, result, wait_until
from tests.processes import database_url
from tests.schedules.test_schedules import START, call, describe, schedules, trigger  # noqa: F401
from tests.testapp import models


def test_the_worker_syncs_the_schedules_to_its_queue_at_start_up(
    schedules,  # noqa: F811
    temporal_server,
    settings,
    transactional_db,
):
    task_queue = f"command-{uuid.uuid4().hex[:8]}"
    settings.JOEFLOW_TEMPORAL_TASK_QUEUE = task_queue
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "JOEFLOW_TEMPORAL_ADDRESS": temporal_server.address,
        "JOEFLOW_TEMPORAL_TASK_QUEUE": task_queue,
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "temporal_worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        assert "Worker polling task queue" in lines[0]
        assert f"Schedule {START} created (0 0 1 1 *)\n" in lines
        assert "Schedules: 3 created, 0 updated, 0 deleted, 0 unchanged\n" in lines
        assert describe(START).schedule.action.task_queue == task_queue

        trigger(START)  # the worker runs the firing and the instance
        firing = wait_until(lambda: ScheduledFiring.objects.first())
        instance = models.ScheduledWorkflow.objects.get(pk=firing.workflow_id)
        result(instance)
        assert models.ScheduledWorkflow.objects.get(pk=instance.pk).count == 1
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output[-3000:]


def firing_history(firing_id: str) -> WorkflowHistory:
    async def fetch(client):
        handle = client.get_workflow_handle(firing_id)
        await handle.result()
        return await handle.fetch_history()

    return call(fetch)


def test_a_firing_history_replays(schedules, worker):  # noqa: F811
    """Stored as tests/histories/scheduled_start.json (tests/engine/test_replay.py replays it)
    with ``JOEFLOW_RECORD_HISTORIES=1``."""
    sync()
    trigger(START)
    firing = wait_until(lambda: ScheduledFiring.objects.first())
    history = firing_history(firing.firing_id)
    assert history.events[0].workflow_execution_started_event_attributes.workflow_type.name == (
        "joeflow.scheduled_start"
    )
    replay([history])
    if os.environ.get("JOEFLOW_RECORD_HISTORIES"):
        stored = {"workflow_id": history.workflow_id, "history": history.to_json_dict()}
        (HISTORIES / "scheduled_start.json").write_text(json.dumps(stored, indent=1))


def test_a_firing_history_is_stored():
    assert (HISTORIES / "scheduled_start.json").exists()
