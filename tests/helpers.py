"""Small waits and looks at a real execution, shared by the tests."""

import time
from contextlib import contextmanager

from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from joeflow_temporal.runtime import client as engine_client

TIMEOUT = 30


def wait_until(predicate, timeout: float = TIMEOUT, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail with what it saw last."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)


def handle(workflow):
    async def get():
        client = await engine_client.get_client()
        return client.get_workflow_handle(workflow.temporal_workflow_id)

    return engine_client.run(get(), timeout=TIMEOUT)


def result(workflow, timeout: float = TIMEOUT):
    """Wait for the execution (over all its runs) to complete; return the walker's final state."""
    return engine_client.run(handle(workflow).result(), timeout=timeout)


def describe(workflow):
    return engine_client.run(handle(workflow).describe(), timeout=TIMEOUT)


def history(workflow, run_id: str | None = None):
    async def fetch():
        client = await engine_client.get_client()
        return await client.get_workflow_handle(
            workflow.temporal_workflow_id, run_id=run_id
        ).fetch_history()

    return engine_client.run(fetch(), timeout=TIMEOUT)


def tasks(workflow) -> list[tuple[str, str]]:
    """The mirror, in creation order: ``[(name, status), ...]``."""
    return list(workflow.task_set.order_by("pk").values_list("name", "status"))


def parents(task) -> list[str]:
    return sorted(task.parent_task_set.values_list("name", flat=True))


def runs_of(workflow) -> list[tuple[object, int]]:
    """Every run of the instance's execution, newest first, with its history length."""

    async def collect():
        client = await engine_client.get_client()
        query = f"WorkflowId = '{workflow.temporal_workflow_id}'"
        runs = []
        async for execution in client.list_workflows(query):
            history = await client.get_workflow_handle(
                execution.id, run_id=execution.run_id
            ).fetch_history()
            runs.append((execution, len(history.events)))
        return runs

    return engine_client.run(collect(), timeout=60)


@contextmanager
def temporary_models():
    """Models defined in the block are installed, as a project's would be (the registry, the
    API and the admin see them), until the block ends. Proxies of existing models, or models
    without rows: no table is made."""
    before = {label: set(models) for label, models in apps.all_models.items()}
    try:
        yield
    finally:
        for label, models in apps.all_models.items():
            for name in set(models) - before.get(label, set()):
                del models[name]
        apps.clear_cache()
        ContentType.objects.clear_cache()
