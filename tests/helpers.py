"""What the tests share: where things are, small waits and looks at a real execution, the
REST API called as a real client would (HTTP basic authentication, JSON bodies)."""

import ast
import base64
import time
from contextlib import contextmanager
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from rest_framework.test import APIClient

from joeflow_temporal.runtime import client as engine_client

TESTS = Path(__file__).resolve().parent
"""This folder: tests/."""
ROOT = TESTS.parent
"""The repository's root."""
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


def scheduled(workflow, name):
    """Wait for the instance's scheduled task ``name``; return it."""
    return wait_until(lambda: workflow.task_set.scheduled().filter(name=name).first())


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


# The REST API

NS = "joeflow_temporal_api"


def client_for(user=None, password: str = "pw") -> APIClient:
    """A client that sends ``user``'s credentials with every request (anonymous without one)."""
    client = APIClient()
    if user is not None:
        token = base64.b64encode(f"{user.get_username()}:{password}".encode()).decode()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


def make_user(django_user_model, username, *codenames, superuser=False, password: str = "pw"):
    """A user (password ``pw``) holding this app's permissions named by ``codenames``."""
    manager = django_user_model.objects
    create = manager.create_superuser if superuser else manager.create_user
    user = create(username, password=password, email=f"{username}@example.com")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="joeflow_temporal", codename__in=codenames
        )
    )
    return user


def url(name: str, *args) -> str:
    return reverse(f"{NS}:{name}", args=args)


def start_url(workflow_class, task: str) -> str:
    return url("workflow-start", workflow_class.label(), task)


def instance_url(workflow, action: str | None = None) -> str:
    name = f"instance-{action}" if action else "instance-detail"
    return url(name, workflow.label(), workflow.pk)


def task_url(task, action: str | None = None) -> str:
    return url(f"task-{action}" if action else "task-detail", task.pk)


def post(client, path: str, body=None):
    return client.post(path, body if body is not None else {}, format="json")


# The reference settings


def settings_env_names() -> set[str]:
    """Every environment variable name django_integration/settings.py reads.

    Direct reads (``os.environ.get("X")``, ``os.environ["X"]``, ``os.getenv("X")``) and calls of
    module helpers that read the environment variable named by one of their parameters
    (``seconds("X", default)``).
    """
    tree = ast.parse((ROOT / "django_integration" / "settings.py").read_text())

    def is_environ(node) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "environ"
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )

    def read_key(node):
        if isinstance(node, ast.Subscript) and is_environ(node.value):
            return node.slice
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            func = node.func
            if func.attr == "get" and is_environ(func.value):
                return node.args[0]
            if func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os":
                return node.args[0]
        return None

    helpers = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            params = [arg.arg for arg in function.args.args]
            for node in ast.walk(function):
                key = read_key(node)
                if isinstance(key, ast.Name) and key.id in params:
                    helpers[function.name] = params.index(key.id)

    names = set()
    for node in ast.walk(tree):
        key = read_key(node)
        if (
            key is None
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in helpers
            and len(node.args) > helpers[node.func.id]
        ):
            key = node.args[helpers[node.func.id]]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names
