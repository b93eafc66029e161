"""Workers killed with SIGKILL at random points lose nothing and double nothing.

Fifty instances of five workflows (machine tasks, a task that returns ``False`` a few times, a
``Wait`` timer, a human task and a split/join) run while real ``manage.py temporal_worker``
subprocesses are started and SIGKILLed one after another at random moments, and human tasks
are completed through the REST API whether a worker is alive or not. A last worker then lets
everything finish. Every machine task writes an ``Effect`` row and bumps a counter inside its
method (no unique constraint), so an effect applied twice would show as a count of 2.

The kill schedule comes from ``random.Random(seed)``; the seed is printed and recorded as a test
property, and ``CHAOS_SEED=<seed>`` replays the same schedule.
"""

import os
import random
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.db.models import Count
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal import conf
from joeflow_temporal.engine import names
from joeflow_temporal.models import Task
from joeflow_temporal.runtime.worker import running_worker
from joeflow_temporal.testing import RunningWorker
from tests.helpers import client_for, describe, history, post, result, task_url, wait_until
from tests.processes import WorkerProcess, worker_env
from tests.testapp import models

INSTANCES = 50
KILLS = 6
STARTING_ROUNDS = 5
"""Instances start in batches before the first rounds, so kills find them at every stage."""
ALIVE_SECONDS = (0.5, 2.5)
DEAD_SECONDS = (0.0, 1.0)
RECOVERY_TIMEOUT = 240
"""Generous: what a kill cut off is retried after its timeout (heartbeat, sticky queue, task)."""

EXPECTED_TASKS = {
    models.ChaosMachineWorkflow: ["charge", "end", "prepare", "start"],
    models.ChaosPollWorkflow: ["end", "ready", "start"],
    models.ChaosWaitWorkflow: ["after", "before", "pause", "start"],
    models.ChaosHumanWorkflow: ["end", "prepare", "review", "start"],
    models.ChaosSplitWorkflow: ["end", "join", "left", "right", "split", "start"],
}


class WorkerProcesses:
    """Worker subprocesses started one after another, each with its own log; counts the kills."""

    def __init__(self, env: dict, log_dir):
        self.env = env
        self.log_dir = log_dir
        self.started = 0
        self.killed = 0
        self.running: list[WorkerProcess] = []

    def start(self) -> WorkerProcess:
        self.started += 1
        worker = WorkerProcess(self.env, self.log_dir / f"worker-{self.started}.log")
        self.running.append(worker)
        return worker

    def kill(self, worker: WorkerProcess) -> None:
        worker.kill()
        self.running.remove(worker)
        self.killed += 1

    def stop(self, worker: WorkerProcess) -> None:
        worker.stop()
        self.running.remove(worker)

    def kill_all(self) -> None:
        while self.running:
            self.kill(self.running[0])


@dataclass
class HistoryFigures:
    """What the kills cost, read from the executions' histories."""

    activity_retries: Counter = field(default_factory=Counter)
    workflow_task_timeouts: int = 0
    workflow_task_failures: int = 0

    def add(self, events) -> None:
        scheduled = {}
        for event in events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attributes = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = attributes.activity_type.name
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attributes = event.activity_task_started_event_attributes
                retries = attributes.attempt - 1
                if retries:
                    self.activity_retries[scheduled[attributes.scheduled_event_id]] += retries
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                self.workflow_task_timeouts += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                self.workflow_task_failures += 1


@pytest.fixture
def seed(record_property) -> int:
    value = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    record_property("chaos_seed", value)
    print(f"\nchaos seed: {value} (replay the schedule with CHAOS_SEED={value})")
    return value


@pytest.fixture
def workers(temporal_server, task_queue, transactional_db, tmp_path, settings):
    # Starts and completions made while every worker is dead would each wait out the sync
    # timeout; what the scenario checks is the engine, not those waits.
    settings.JOEFLOW_TEMPORAL_SYNC_TIMEOUT = 0
    env = worker_env(temporal_server.address, task_queue)
    processes = WorkerProcesses(env, tmp_path)
    yield processes
    processes.kill_all()
    print(f"worker logs: {tmp_path}")


class Reviewer:
    """Completes open ``review`` tasks through the REST API, as a user would."""

    def __init__(self, user, rng: random.Random):
        self.client = client_for(user)
        self.rng = rng
        self.completed = 0

    def complete_some(self, probability: float = 0.5) -> None:
        for task in Task.objects.scheduled().filter(name="review"):
            if self.rng.random() < probability:
                response = post(self.client, task_url(task, "complete"), {"note": note(task)})
                assert response.status_code == 200, response.json()
                self.completed += 1

    def keep_busy(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.complete_some()
            time.sleep(0.1)


def note(task) -> str:
    return f"reviewed {task.pk}"


def start_instances(rng: random.Random, count: int) -> list:
    classes = list(EXPECTED_TASKS) * (count // len(EXPECTED_TASKS) + 1)
    return [workflow_class.start() for workflow_class in rng.sample(classes, count)]


def split_evenly(items, parts: int) -> list:
    return [items[part::parts] for part in range(parts)]


def finished(instances) -> int:
    pks = [workflow.pk for workflow in instances]
    return models.Chaos.objects.filter(pk__in=pks, completed__isnull=False).count()


def method_names(workflow) -> set[str]:
    nodes = workflow.get_graph_spec().nodes
    return {name for name, node in nodes.items() if node.kind == "method"}


def problems_of(workflow, final_state) -> list[str]:
    """Everything wrong with one finished instance's mirror and effects (empty: all good)."""
    label = f"{workflow.label()} {workflow.pk}"
    tasks = list(workflow.task_set.all())
    problems = []
    if sorted(task.name for task in tasks) != EXPECTED_TASKS[type(workflow)]:
        problems.append(f"{label}: tasks {sorted(t.name for t in tasks)}")
    problems += [f"{label}: {t.name} is {t.status}" for t in tasks if t.status != Task.SUCCEEDED]
    if final_state["steps"] != len(tasks):
        problems.append(f"{label}: the walker took {final_state['steps']} steps for {len(tasks)}")
    machine_task_ids = {task.pk for task in tasks if task.name in method_names(workflow)}
    effects = dict(
        workflow.effect_set.values_list("task").annotate(n=Count("id")).values_list("task", "n")
    )
    if effects != dict.fromkeys(machine_task_ids, 1):
        problems.append(f"{label}: effects per task {effects}, machine tasks {machine_task_ids}")
    workflow.refresh_from_db()
    if workflow.effects != sum(effects.values()):
        problems.append(f"{label}: counter {workflow.effects}, effect rows {effects}")
    if isinstance(workflow, models.ChaosHumanWorkflow):
        review = next(task for task in tasks if task.name == "review")
        if workflow.note != note(review):
            problems.append(f"{label}: note {workflow.note!r}")
    status = describe(workflow).status
    if status != WorkflowExecutionStatus.COMPLETED:
        problems.append(f"{label}: execution {status.name}")
    return problems


@pytest.mark.slow
def test_workers_killed_at_random_points_lose_nothing_and_double_nothing(
    workers, seed, django_user_model
):
    began = time.monotonic()
    rng = random.Random(seed)
    reviewer = Reviewer(django_user_model.objects.create_superuser("reviewer", password="pw"), rng)
    batch_sizes = [len(batch) for batch in split_evenly(range(INSTANCES), STARTING_ROUNDS)]
    instances = []

    for round_number in range(KILLS):
        if round_number < STARTING_ROUNDS:
            instances += start_instances(rng, batch_sizes[round_number])
        process = workers.start()
        reviewer.keep_busy(rng.uniform(*ALIVE_SECONDS))
        workers.kill(process)
        reviewer.keep_busy(rng.uniform(*DEAD_SECONDS))
    finished_under_chaos = finished(instances)
    chaos_ended = time.monotonic()

    survivor = workers.start()
    wait_until(
        lambda: reviewer.complete_some(probability=1) or finished(instances) == len(instances),
        timeout=RECOVERY_TIMEOUT,
        interval=0.5,
    )
    final_states = {workflow.pk: result(workflow) for workflow in instances}
    workers.stop(survivor)
    recovered = time.monotonic()

    problems = [p for w in instances for p in problems_of(w, final_states[w.pk])]
    figures = HistoryFigures()
    for workflow in instances:
        figures.add(history(workflow).events)
    all_tasks = Task.objects.filter(_workflow__in=[w.pk for w in instances])
    machine_tasks = sum(len(method_names(w)) for w in instances)
    effects = models.Effect.objects.filter(workflow__in=[w.pk for w in instances]).count()
    print(
        f"chaos seed {seed}: {len(instances)} instances, {workers.killed} workers killed, "
        f"{finished_under_chaos} finished before the last worker; "
        f"{all_tasks.count()} tasks ({machine_tasks} machine tasks, {reviewer.completed} human "
        f"completions), {effects} effects, {effects - machine_tasks} duplicated; activity "
        f"retries {dict(figures.activity_retries)}, workflow task timeouts "
        f"{figures.workflow_task_timeouts}, failures {figures.workflow_task_failures}; "
        f"{chaos_ended - began:.0f} s of kills, all done {recovered - chaos_ended:.0f} s later"
    )

    assert problems == [], f"seed {seed}"
    assert workers.killed == KILLS
    assert effects == machine_tasks
    assert reviewer.completed == sum(isinstance(w, models.ChaosHumanWorkflow) for w in instances)
    assert sum(figures.activity_retries.values()) + figures.workflow_task_timeouts > 0, (
        "the kills interrupted nothing: the scenario proved nothing"
    )


class WalkerOnlyWorker(RunningWorker):
    """A worker that runs walkers but no activities: as when every activity slot is busy."""

    async def _serve(self):
        async with running_worker(self.client, self.task_queue, no_remote_activities=True):
            self._started.set()
            await self._stop.wait()


def confirm_pending(workflow) -> bool:
    pending = describe(workflow).raw_description.pending_activities
    return any(activity.activity_type.name == names.CONFIRM_TASK for activity in pending)


def outlast_the_confirm_timeout() -> None:
    time.sleep(conf.get("JOEFLOW_TEMPORAL_CONFIRM_TIMEOUT").total_seconds() + 1)


@contextmanager
def serving(worker_class: type[RunningWorker], client, task_queue: str):
    running = worker_class(client, task_queue).start()
    try:
        yield running
    finally:
        running.stop()


def test_a_start_confirmed_after_the_confirm_timeout_still_runs(
    task_queue, temporal_client, transactional_db
):
    """The confirm timeout bounds how long a commit stays invisible, not how long no worker
    could look: a start confirmed late (activity slots all busy, workers down) still runs."""
    with serving(WalkerOnlyWorker, temporal_client, task_queue):
        workflow = models.ChaosMachineWorkflow.start()
        wait_until(lambda: confirm_pending(workflow))
        outlast_the_confirm_timeout()

    with serving(RunningWorker, temporal_client, task_queue):
        final_state = result(workflow)

    assert problems_of(workflow, final_state) == []


def test_a_completion_confirmed_after_the_confirm_timeout_still_counts(
    task_queue, temporal_client, transactional_db, admin_user
):
    with serving(RunningWorker, temporal_client, task_queue):
        workflow = models.ChaosHumanWorkflow.start()
        review = wait_until(lambda: workflow.task_set.scheduled().filter(name="review").first())
    with serving(WalkerOnlyWorker, temporal_client, task_queue):
        response = post(
            client_for(admin_user, "password"), task_url(review, "complete"), {"note": note(review)}
        )
        assert response.status_code == 200, response.json()
        wait_until(lambda: confirm_pending(workflow))
        outlast_the_confirm_timeout()

    with serving(RunningWorker, temporal_client, task_queue):
        final_state = result(workflow)

    assert problems_of(workflow, final_state) == []
