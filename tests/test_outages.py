"""Outages of what the engine depends on: nothing is lost, nothing is doubled, nothing half-written.

- Temporal restarted (stopped with SIGTERM or SIGKILL, started again on the same persisted
  file and port) while instances are mid-run: every instance completes and the mirror agrees;
  while it is down, the pages and REST endpoints that need Temporal answer 503 and write
  nothing, and the same submissions work once it is back; the Django-side client and the
  worker reconnect on their own.
- The database away for a while (PostgreSQL: connections refused and dropped by a proxy in
  front of the worker; SQLite: the file held under an exclusive lock): machine tasks, mirror
  writes and the confirmations of a completion, a start and an override made meanwhile are
  retried until the database is back; no task is failed and no signal is lost.
"""

import signal
import socket
import subprocess
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from temporalio.client import Client

from joeflow_temporal import client as engine_client
from joeflow_temporal.models import Task
from tests.api_helpers import client_for, instance_url, post, start_url, task_url
from tests.conftest import RunningWorker, dev_server_args, free_port, temporal_binary
from tests.helpers import result, tasks, wait_until
from tests.testapp import models

LOOP_LENGTH = 25
"""Machine steps of the chain that runs through the outage (two tasks each)."""


class DevServer:
    """A Temporal dev server of the test's own, persisted in a file, so it can be restarted."""

    def __init__(self, directory):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.database = directory / "temporal.db"
        self.log = directory / "temporal.log"
        self.process = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [
                    temporal_binary(),
                    "server",
                    "start-dev",
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--headless",
                    "--db-filename",
                    str(self.database),
                    *dev_server_args(),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.answers, timeout=120, interval=0.2)

    def answers(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            engine_client.run(Client.connect(self.address), timeout=10)
        except Exception:
            return False
        return True

    def stop(self, signum: int) -> None:
        self.process.send_signal(signum)
        self.process.wait(timeout=60)
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", self.port)) != 0, "the server is really down"


@pytest.fixture
def own_server(tmp_path, settings):
    server = DevServer(tmp_path)
    server.start()
    settings.JOEFLOW_TEMPORAL_ADDRESS = server.address
    yield server
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=60)


@pytest.fixture
def own_worker(own_server, settings, transactional_db):
    """An in-process worker with a connection of its own (the web side has the cached client)."""
    settings.JOEFLOW_TEMPORAL_TASK_QUEUE = "outage"
    client = engine_client.run(engine_client.connect(own_server.address, "default"), timeout=60)
    running = RunningWorker(client, "outage").start()
    yield running
    running.stop()


@pytest.fixture
def boss(django_user_model):
    boss = django_user_model.objects.create_user(username="boss", password="pw")
    boss.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="joeflow_temporal", codename__in=["override", "cancel"]
        )
    )
    return boss


def scheduled(workflow, name):
    return wait_until(lambda: workflow.task_set.scheduled().filter(name=name).first())


def open_task_names(workflow) -> list[str]:
    return sorted(task["name"] for task in workflow.get_engine_state()["tasks"].values())


def snapshot(*workflows) -> tuple:
    """Everything a submission could have written: the instances, their fields and tasks."""
    instances = models.HumanWorkflow.instances().order_by("pk")
    return list(instances.values_list("pk", "choice", "count")), [tasks(w) for w in workflows]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_temporal_restart_loses_nothing(own_server, own_worker, client, boss, settings, signum):
    settings.JOEFLOW_TEMPORAL_RPC_TIMEOUT = timedelta(seconds=2)
    client.force_login(boss)
    api = client_for(boss)
    poll = models.PollWorkflow.start()
    pause = models.WaitWorkflow.start()
    by_page, by_api, overridden, canceled = (
        models.HumanWorkflow.start_with("start", {"choice": name})
        for name in ["page", "api", "override", "cancel"]
    )
    edit_by_page, edit_by_api = scheduled(by_page, "edit"), scheduled(by_api, "edit")
    scheduled(overridden, "edit"), scheduled(canceled, "edit")
    wait_until(lambda: models.PollWorkflow.objects.get(pk=poll.pk).count >= 2)
    assert open_task_names(pause) == ["wait"]
    chain = models.LoopWorkflow.start(target=LOOP_LENGTH)
    wait_until(lambda: models.LoopWorkflow.objects.get(pk=chain.pk).count >= 2)

    web_client = engine_client.run(engine_client.get_client())
    own_server.stop(signum)
    assert models.LoopWorkflow.objects.get(pk=chain.pk).count < LOOP_LENGTH, "stopped mid-run"
    before = snapshot(by_page, by_api, overridden, canceled)
    submissions = {
        "page start": lambda: client.post(reverse("humanworkflow:start"), {"choice": "new-page"}),
        "page complete": lambda: client.post(edit_by_page.get_absolute_url(), {"count": "5"}),
        "page override": lambda: client.post(
            overridden.get_override_url(),
            {"next_tasks": ["end"], "count": "3", "target": "0", "choice": "override"},
        ),
        "api start": lambda: post(
            api, start_url(models.HumanWorkflow, "start"), {"choice": "new-api"}
        ),
        "api complete": lambda: post(api, task_url(edit_by_api, "complete"), {"count": 6}),
        "api override": lambda: post(
            api, instance_url(overridden, "override"), {"next_tasks": ["end"]}
        ),
        "api cancel": lambda: post(api, instance_url(canceled, "cancel")),
    }
    while_down = {name: submit().status_code for name, submit in submissions.items()}
    assert set(while_down.values()) == {503}, while_down
    assert snapshot(by_page, by_api, overridden, canceled) == before, "nothing half-written"

    own_server.start()
    assert engine_client.run(engine_client.get_client()) is web_client, "reconnected, not new"
    del submissions["api override"]  # the page overrides that instance: one is enough
    after = {name: submit().status_code for name, submit in submissions.items()}
    assert after == {
        "page start": 302,
        "page complete": 302,
        "api start": 201,
        "api complete": 200,
        "api cancel": 200,
        "page override": 302,
    }
    models.PollWorkflow.objects.filter(pk=poll.pk).update(flag=True)

    started_after = list(models.HumanWorkflow.objects.filter(choice__in=["new-page", "new-api"]))
    for workflow in [chain, poll, pause, by_page, by_api, overridden, canceled]:
        result(workflow, timeout=60)
    chain.refresh_from_db()
    assert chain.count == LOOP_LENGTH, "every step applied exactly once"
    assert [name for name, _ in tasks(chain)].count("increment") == LOOP_LENGTH
    assert tasks(poll)[-1] == ("done", "succeeded")
    assert tasks(pause) == [("start", "succeeded"), ("wait", "succeeded"), ("end", "succeeded")]
    for workflow, count in [(by_page, 5), (by_api, 6)]:
        workflow.refresh_from_db()
        assert workflow.count == count
        assert tasks(workflow) == [
            ("start", "succeeded"),
            ("edit", "succeeded"),
            ("end", "succeeded"),
        ]
    assert tasks(overridden) == [
        ("start", "succeeded"),
        ("edit", "canceled"),
        ("override", "succeeded"),
        ("end", "succeeded"),
    ]
    assert tasks(canceled) == [("start", "succeeded"), ("edit", "canceled")]
    assert len(started_after) == 2
    for workflow in started_after:
        scheduled(workflow, "edit")
    ended = [chain, poll, pause, by_page, by_api, overridden, canceled]
    everything = Task.objects.filter(_workflow_id__in=[w.pk for w in ended])
    assert not everything.filter(status__in=[Task.SCHEDULED, Task.FAILED]).exists()
    assert not Task.objects.exclude(exception="").exists()
