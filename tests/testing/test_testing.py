"""joeflow_temporal.testing: the environment the plugin gives this very session, and
``wait_for_engine``. (The TestRunner and the plugin in a new project: test_tutorial_project.)"""

import subprocess
import sys

import pytest
from django.db.transaction import TransactionManagementError
from temporalio.client import WorkflowExecutionStatus

import joeflow_temporal.testing
from joeflow_temporal.models import Task
from joeflow_temporal.testing import EngineTimeout, wait_for_engine
from tests.helpers import describe, tasks
from tests.testapp import models


def test_exports():
    assert joeflow_temporal.testing.__all__ == [
        "EngineTimeout",
        "RunningWorker",
        "TestEnvironment",
        "TestRunner",
        "wait_for_engine",
    ]


def test_the_session_runs_on_a_dev_server_of_its_own(temporal_server, settings):
    host, port = temporal_server.address.split(":")
    assert host == "127.0.0.1" and port != "7233"
    assert settings.JOEFLOW_TEMPORAL_ADDRESS == temporal_server.address
    assert settings.JOEFLOW_TEMPORAL_TASK_QUEUE == temporal_server.task_queue


@pytest.mark.django_db
def test_a_rolled_back_tests_instances_go_unserved_and_are_ended_after(temporal_server):
    workflow = models.LinearWorkflow.start()

    description = describe(workflow)  # nothing commits: the engine has nothing to do
    assert description.task_queue == temporal_server.unserved_task_queue
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert tasks(workflow) == [("start", "succeeded")]
    temporal_server.end_open_executions()  # what the plugin does after the test
    assert describe(workflow).status == WorkflowExecutionStatus.TERMINATED


@pytest.mark.django_db(transaction=True)
def test_transaction_tests_get_the_sessions_worker_without_asking(temporal_server):
    workflow = models.LinearWorkflow.start()

    wait_for_engine(workflow)

    assert describe(workflow).task_queue == temporal_server.task_queue
    assert tasks(workflow) == [
        ("start", "succeeded"),
        ("first", "succeeded"),
        ("second", "succeeded"),
        ("end", "succeeded"),
    ]


def test_wait_for_engine_returns_when_a_human_task_waits(worker):
    workflow = models.SplitJoinWorkflow.start()

    wait_for_engine(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 1  # count_up ran: it needed no one
    human = workflow.task_set.filter(type=Task.HUMAN, status=Task.SCHEDULED)
    assert sorted(human.values_list("name", flat=True)) == ["approve", "review"]
    assert describe(workflow).status == WorkflowExecutionStatus.RUNNING


def test_wait_for_engine_without_an_instance_waits_for_every_one(worker):
    first, second = models.LinearWorkflow.start(), models.LinearWorkflow.start()

    wait_for_engine()

    for workflow in (first, second):
        workflow.refresh_from_db()
        assert workflow.completed and workflow.count == 1


def test_wait_for_engine_names_what_still_works_when_it_times_out(worker, settings):
    settings.JOEFLOW_TEMPORAL_SYNC_TIMEOUT = 0  # start() returns without waiting for crunch
    workflow = models.SlowWorkflow.start()  # crunch takes 2.5 s

    with pytest.raises(EngineTimeout, match=workflow.temporal_workflow_id):
        wait_for_engine(workflow, timeout=0.5)
    wait_for_engine(workflow)
    workflow.refresh_from_db()
    assert workflow.count == 1


@pytest.mark.django_db
def test_wait_for_engine_inside_a_transaction_says_why_it_cannot():
    workflow = models.LinearWorkflow.start()

    with pytest.raises(TransactionManagementError, match="inside a transaction.*TestCase"):
        wait_for_engine(workflow)


PLAIN_TESTS = """
def test_plain():
    assert True


def test_asks_for_the_server(temporal_server):
    pass
"""


def test_the_plugin_is_inert_without_pytest_django(tmp_path):
    (tmp_path / "test_plain.py").write_text(PLAIN_TESTS)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:django", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 passed, 1 error" in completed.stdout, completed.stdout
    assert "temporal_server needs pytest-django" in completed.stdout
