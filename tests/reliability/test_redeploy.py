"""A deploy changes a workflow class while instances run, between two real worker processes.

``DeployWorkflow`` is redeployed (``deploy_v2``): its method ``legacy`` is removed, ``audit`` is
added and the edges are rewired. The first worker runs the old class; it stops (SIGTERM, as a
deploy does) and a worker with the new class takes over. This process changes its class the
same way, as the web process of the new deploy would.
"""

import pytest

from joeflow_temporal.models import Task
from joeflow_temporal.runtime.compile import compile_graph
from tests.helpers import result, scheduled, tasks, wait_until
from tests.processes import WorkerProcess, worker_env
from tests.testapp import models


@pytest.fixture
def redeploy(monkeypatch):
    """Deploy the new class in this process; undone after the test."""

    def deploy():
        for name, value in models.deploy_v2_changes().items():
            if value is None:
                monkeypatch.delattr(models.DeployWorkflow, name)
            else:
                monkeypatch.setattr(models.DeployWorkflow, name, value, raising=False)
        compile_graph.cache_clear()

    yield deploy
    monkeypatch.undo()
    compile_graph.cache_clear()


def test_running_instances_keep_their_graph_and_new_ones_take_the_new_one(
    temporal_server, task_queue, transactional_db, tmp_path, redeploy
):
    env = worker_env(temporal_server.address, task_queue)
    with WorkerProcess(env, tmp_path / "old.log"):
        old = models.DeployWorkflow.start()
        approve = scheduled(old, "approve")

    redeploy()
    with WorkerProcess({**env, "JOEFLOW_TEST_DEPLOY": "2"}, tmp_path / "new.log"):
        new = models.DeployWorkflow.start()
        approve.complete()

        legacy = wait_until(lambda: old.task_set.failed().first())
        assert legacy.name == "legacy"
        assert legacy.exception == (
            "LookupError: DeployWorkflow has no task 'legacy' any more; "
            "override the instance to move it on."
        )
        old.refresh_from_db()
        assert old.choice == "notify,", "the old instance followed its own edges, not audit"

        old.override(["audit"])  # onto the new graph: audit → notify → end
        result(old)
        scheduled(new, "approve").complete()
        result(new)

    old.refresh_from_db()
    assert old.choice == "notify,audit,notify,"
    assert tasks(old) == [
        ("start", Task.SUCCEEDED),
        ("approve", Task.SUCCEEDED),
        ("notify", Task.SUCCEEDED),
        ("legacy", Task.CANCELED),
        ("override", Task.SUCCEEDED),
        ("audit", Task.SUCCEEDED),
        ("notify", Task.SUCCEEDED),
        ("end", Task.SUCCEEDED),
    ]
    new.refresh_from_db()
    assert new.choice == "audit,notify,"
    assert tasks(new) == [
        ("start", Task.SUCCEEDED),
        ("approve", Task.SUCCEEDED),
        ("audit", Task.SUCCEEDED),
        ("notify", Task.SUCCEEDED),
        ("end", Task.SUCCEEDED),
    ]
