"""The temporal_worker command, run as a real subprocess against the test database."""

import os
import signal
import subprocess
import sys
import uuid

import pytest

from tests.helpers import ROOT, result, tasks
from tests.processes import database_url
from tests.testapp import models


@pytest.fixture
def worker_process(temporal_server, settings, transactional_db):
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
    banner = process.stdout.readline()
    yield process, banner
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_worker_serves_every_workflow_and_stops_gracefully(worker_process, signum):
    process, banner = worker_process
    assert "Worker polling task queue 'command-" in banner
    assert "testapp.linearworkflow" in banner and "demo.shippingworkflow" in banner

    workflow = models.LinearWorkflow.start()
    result(workflow)
    assert tasks(workflow)[-1] == ("end", "succeeded")

    process.send_signal(signum)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output[-3000:]
    assert "Worker stopped." in output


def test_worker_reports_an_unreachable_server(transactional_db):
    """Exit code 1 and one line, every time: the SDK's threads, left running after the failed
    connect, aborted the interpreter's finalization in about one run of three (code -6)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "JOEFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1",
    }
    for _ in range(5):
        finished = subprocess.run(
            [sys.executable, "manage.py", "temporal_worker"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert finished.returncode == 1, finished.stderr[-2000:]
        assert "Cannot connect to Temporal at 127.0.0.1:1" in finished.stderr
        assert "Traceback" not in finished.stderr
