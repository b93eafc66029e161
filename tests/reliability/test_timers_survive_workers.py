"""A human task's reminder timer lives on the Temporal server: a worker killed while it is
pending loses nothing, and the reminder runs once when a worker is back."""

import time
import uuid

import pytest

from tests.helpers import scheduled, wait_until
from tests.processes import WorkerProcess, worker_env
from tests.testapp import models

REMIND_EVERY = 4.0
"""``RemindedWorkflow``'s reminder interval, in seconds."""


@pytest.fixture
def worker_queue(temporal_server, settings, transactional_db):
    settings.JOEFLOW_TEMPORAL_TASK_QUEUE = f"timers-{uuid.uuid4().hex[:8]}"
    return worker_env(temporal_server.address, settings.JOEFLOW_TEMPORAL_TASK_QUEUE)


def reminders(workflow) -> list[str]:
    workflow.refresh_from_db()
    return [line for line in workflow.hook_log.splitlines() if "reminder" in line]


def test_reminder_pending_while_the_worker_is_killed_fires_once(worker_queue, tmp_path):
    with WorkerProcess(worker_queue, tmp_path / "first.log") as first:
        workflow = models.RemindedWorkflow.start()
        review = scheduled(workflow, "review")
        wait_until(
            lambda: (
                "on_task_created" in models.RemindedWorkflow.objects.get(pk=workflow.pk).hook_log
            )
        )
        started = time.monotonic()
        first.kill()  # the reminder timer (4 s) is pending on the server

    # Back after two reminder times (4 s, 8 s) passed: they run as one reminder, now, and the
    # next is at 12 s, well after the task is completed below.
    time.sleep(max(0.0, 2 * REMIND_EVERY + 0.5 - (time.monotonic() - started)))
    assert reminders(workflow) == [], "nothing runs without a worker"

    with WorkerProcess(worker_queue, tmp_path / "second.log"):
        wait_until(lambda: reminders(workflow), timeout=30)
        review.complete()
        wait_until(lambda: models.RemindedWorkflow.objects.get(pk=workflow.pk).completed)
        assert reminders(workflow) == [f"on_task_reminder {review.pk} "], "once, not per slot"
