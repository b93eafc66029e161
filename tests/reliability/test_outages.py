"""Outages of what the engine depends on: nothing is lost, nothing is doubled, nothing half-written.

- Temporal restarted (stopped with SIGTERM or SIGKILL, started again on the same persisted
  file and port) while instances are mid-run: every instance completes and the mirror agrees;
  while it is down, the pages and REST endpoints that need Temporal answer 503 and write
  nothing, and the same submissions work once it is back; the Django-side client and the
  worker reconnect on their own.
- The database away for a while (PostgreSQL: connections refused and dropped by a proxy in
  front of the worker; SQLite: the file cannot be opened): machine tasks, mirror
  writes and the confirmations of a completion, a start and an override made meanwhile are
  retried until the database is back; no task is failed and no signal is lost.
"""

import asyncio
import signal
import socket
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from temporalio.client import Client

from joeflow_temporal.devserver import dev_server_command
from joeflow_temporal.models import Task
from joeflow_temporal.runtime import client as engine_client
from joeflow_temporal.testing import RunningWorker
from joeflow_temporal.testing.ports import free_port
from tests.helpers import (
    client_for,
    describe,
    instance_url,
    make_user,
    post,
    result,
    scheduled,
    start_url,
    task_url,
    tasks,
    wait_until,
)
from tests.processes import WorkerProcess, worker_env
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
                dev_server_command(self.port, free_port(), self.database, headless=True),
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
    return make_user(django_user_model, "boss", "override", "cancel")


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
    by_page, by_api, overridden, canceled = (
        models.HumanWorkflow.start_with("start", {"choice": name})
        for name in ["page", "api", "override", "cancel"]
    )
    edit_by_page, edit_by_api = scheduled(by_page, "edit"), scheduled(by_api, "edit")
    scheduled(overridden, "edit"), scheduled(canceled, "edit")
    wait_until(lambda: models.PollWorkflow.objects.get(pk=poll.pk).count >= 2)
    pause = models.WaitWorkflow.start()  # late: its 2 s timer must still run at the stop
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
    assert tasks(canceled) == [
        ("start", "succeeded"),
        ("edit", "canceled"),
        ("cancel", "succeeded"),
    ]
    assert len(started_after) == 2
    for workflow in started_after:
        scheduled(workflow, "edit")
    ended = [chain, poll, pause, by_page, by_api, overridden, canceled]
    everything = Task.objects.filter(_workflow_id__in=[w.pk for w in ended])
    assert not everything.filter(status__in=[Task.SCHEDULED, Task.FAILED]).exists()
    assert not Task.objects.exclude(exception="").exists()


class DatabaseProxy:
    """A TCP proxy in front of PostgreSQL that can refuse new connections and drop open ones."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.pipes: set[asyncio.StreamWriter] = set()
        self.server = None
        threading.Thread(target=self.loop.run_forever, name="db-proxy", daemon=True).start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def accept(self) -> None:
        self.run(self._listen())

    def refuse(self) -> None:
        self.run(self._close())

    async def _listen(self):
        self.server = await asyncio.start_server(
            self._connect, "127.0.0.1", self.port, reuse_address=True
        )

    async def _close(self):
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.pipes):
            writer.transport.abort()

    async def _connect(self, client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        self.pipes |= {client_writer, server_writer}
        await asyncio.gather(
            self._copy(client_reader, server_writer), self._copy(server_reader, client_writer)
        )

    async def _copy(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self.pipes.discard(writer)
            writer.transport.abort()


class ProxyOutage:
    """PostgreSQL unreachable for the worker: its connections refused and dropped.

    The test's own connection goes to the database directly, as a web server's would.
    """

    def __init__(self):
        db = connection.settings_dict
        self.proxy = DatabaseProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
        self.proxy.accept()
        self.worker_env = {
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@127.0.0.1:"
            f"{self.proxy.port}/{db['NAME']}",
            "DATABASE_CONN_MAX_AGE": "60",  # persistent connections must recover too
        }

    def begin(self) -> None:
        self.proxy.refuse()

    def end(self) -> None:
        self.proxy.accept()

    def close(self) -> None:
        self.proxy.refuse()
        self.proxy.loop.call_soon_threadsafe(self.proxy.loop.stop)


class UnopenableFileOutage:
    """SQLite: the worker opens the database file through a directory symlink, which the outage
    replaces with a plain file, so every connection the worker opens fails ("unable to open
    database file") until the link is back. The test's own connection uses the real path."""

    def __init__(self, tmp_path):
        database = Path(connection.settings_dict["NAME"])
        self.link = tmp_path / "database"
        self.target = database.parent
        self.link.symlink_to(self.target)
        self.worker_env = {"DATABASE_URL": f"sqlite:///{self.link / database.name}"}

    def begin(self) -> None:
        self.link.unlink()
        self.link.write_text("where the database's directory was")

    def end(self) -> None:
        self.link.unlink()
        self.link.symlink_to(self.target)

    def close(self) -> None:
        if not self.link.is_symlink():
            self.end()


OUTAGE_CONFIRM_TIMEOUTS = 2.5
"""The outage outlasts the confirmation bound (JOEFLOW_TEMPORAL_CONFIRM_TIMEOUT) this often."""


@pytest.fixture
def outage(transactional_db, tmp_path):
    outage = UnopenableFileOutage(tmp_path) if connection.vendor == "sqlite" else ProxyOutage()
    yield outage
    outage.close()


@pytest.fixture
def worker_process(temporal_server, settings, outage, tmp_path):
    """``manage.py temporal_worker`` whose database connections the outage cuts."""
    task_queue = f"outage-{uuid.uuid4().hex[:8]}"
    settings.JOEFLOW_TEMPORAL_TASK_QUEUE = task_queue
    env = worker_env(temporal_server.address, task_queue, **outage.worker_env)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        yield worker


def confirm_attempts(workflow) -> int:
    """Attempts of the confirmation the instance now waits on (0: none pending)."""
    pending = describe(workflow).raw_description.pending_activities
    return max(
        (a.attempt for a in pending if a.activity_type.name == "joeflow.confirm_task"), default=0
    )


@pytest.mark.slow
def test_database_outage_is_waited_out(worker_process, outage, settings):
    """Whatever the worker could not read or write meanwhile is retried until the database is
    back, however long that takes: a completion, a start or an override committed during the
    outage is never dropped as "not committed" (it was committed, just not readable)."""
    completed = models.HumanWorkflow.start_with("start", {"choice": "completed"})
    overridden = models.HumanWorkflow.start_with("start", {"choice": "overridden"})
    edit = scheduled(completed, "edit")
    scheduled(overridden, "edit")
    poll = models.PollWorkflow.start()
    wait_until(lambda: models.PollWorkflow.objects.get(pk=poll.pk).count >= 1)
    chain = models.LoopWorkflow.start(target=LOOP_LENGTH)
    wait_until(lambda: models.LoopWorkflow.objects.get(pk=chain.pk).count >= 2)

    outage.begin()
    try:
        edit.complete()
        overridden.override(["end"])
        started = models.LinearWorkflow.start()
        human_started = models.HumanWorkflow.start_with("start", {"choice": "started"})
        for waiting in [completed, overridden, started, human_started]:
            wait_until(lambda w=waiting: confirm_attempts(w) >= 2)
        time.sleep(
            OUTAGE_CONFIRM_TIMEOUTS * settings.JOEFLOW_TEMPORAL_CONFIRM_TIMEOUT.total_seconds()
        )
        assert models.LoopWorkflow.objects.get(pk=chain.pk).count < LOOP_LENGTH, "hit mid-run"
    finally:
        outage.end()
    models.PollWorkflow.objects.filter(pk=poll.pk).update(flag=True)

    for workflow in [completed, overridden, started, poll, chain]:
        result(workflow)
    scheduled(human_started, "edit")
    assert tasks(human_started) == [("start", "succeeded"), ("edit", "scheduled")]
    assert tasks(completed) == [("start", "succeeded"), ("edit", "succeeded"), ("end", "succeeded")]
    assert tasks(overridden) == [
        ("start", "succeeded"),
        ("edit", "canceled"),
        ("override", "succeeded"),
        ("end", "succeeded"),
    ]
    assert tasks(started) == [
        ("start", "succeeded"),
        ("first", "succeeded"),
        ("second", "succeeded"),
        ("end", "succeeded"),
    ]
    chain.refresh_from_db()
    assert chain.count == LOOP_LENGTH, "no step lost or applied twice"
    assert [name for name, _ in tasks(chain)].count("increment") == LOOP_LENGTH
    assert tasks(poll)[-1] == ("done", "succeeded")
    assert not Task.objects.filter(status=Task.FAILED).exists()
    assert not Task.objects.exclude(exception="").exists()

    after = models.LinearWorkflow.start()
    result(after)
    assert tasks(after)[-1] == ("end", "succeeded"), "the worker's connections recovered"
    assert worker_process.alive
    assert "OperationalError" in worker_process.log(), "the worker saw the outage"
