from joeflow_temporal.testing import wait_for_engine

from . import workflows


def test_welcome_without_user(joeflow_worker, client):
    client.post("/welcome/start/")
    workflow = workflows.WelcomeWorkflow.objects.get()

    wait_for_engine(workflow)

    assert workflow.task_set.succeeded().filter(name="end").exists()
