"""The scenarios: each returns one row of the table (a ``Row``).

Throughput scenarios start ``n`` instances one after another from this process (what a web
app does) and wait for every execution's result; latency is start → result of each instance.
"""

import asyncio
import http.client
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client as DjangoClient
from django.test.utils import override_settings
from django.utils.crypto import get_random_string
from temporalio.client import Client

from benchmarks.benchapp import models
from benchmarks.infra import Child, Loop, Measure, Usage
from benchmarks.raw import WORKFLOW_TYPE
from joeflow_temporal.models import Task, Workflow

RESULT_TIMEOUT = 600
MIB = 2**20


@dataclass(frozen=True)
class Sizes:
    chain: int = 100
    start_heavy: int = 200
    split: int = 50
    round_trips: int = 50
    loop: int = 10_000
    inbox_tasks: int = 10_000
    inbox_requests: int = 50


QUICK = Sizes(
    chain=10, start_heavy=20, split=5, round_trips=5, loop=300, inbox_tasks=500, inbox_requests=10
)
CHAIN_STEPS = 10
SPLIT_STAGES = [8, 1]
WARM_UP_ROUND_TRIPS = 2


@dataclass
class Row:
    id: str
    label: str
    steps_per_s: float | None = None
    workflows_per_s: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    events_per_instance: float | None = None
    worker_rss_mib: float | None = None
    server_cpu_share: float | None = None
    baseline: str | None = None
    """The id of the raw temporalio row this one is compared with."""
    details: dict = field(default_factory=dict)


@dataclass
class Bench:
    """Everything a scenario needs: processes, the benchmark's own Temporal client, sizes."""

    loop: Loop
    client: Client
    server: Child
    joeflow_worker: Child
    raw_worker: Child
    web: Child
    web_port: int
    raw_queue: str
    sizes: Sizes

    @property
    def children(self) -> list[Child]:
        return [self.server, self.joeflow_worker, self.raw_worker, self.web]

    async def completed_at(self, workflow_id: str) -> float:
        await self.client.get_workflow_handle(workflow_id).result()
        return time.monotonic()

    async def history_length(self, workflow_id: str, run_id: str | None = None) -> int:
        handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
        return (await handle.describe()).history_length


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency_ms(values: list[float]) -> tuple[float, float]:
    return percentile(values, 0.5) * 1000, percentile(values, 0.95) * 1000


# Throughput: many instances at once


def run_instances(
    bench: Bench,
    row: Row,
    start_one: Callable[[], tuple[str, int]],
    n: int,
    steps: int,
    worker: Child,
) -> Row:
    """Start ``n`` instances, wait for all results; every row must show ``steps`` increments."""
    started = []  # (start time, workflow id, pk, future of the completion time)
    with Measure(bench.children) as usage:
        began = time.monotonic()
        for _ in range(n):
            start = time.monotonic()
            workflow_id, pk = start_one()
            started.append(
                (start, workflow_id, pk, bench.loop.submit(bench.completed_at(workflow_id)))
            )
        ends = [future.result(RESULT_TIMEOUT) for *_, future in started]
        seconds = max(ends) - began
    pks = [pk for _, _, pk, _ in started]
    wrong = models.Counter.objects.filter(pk__in=pks).exclude(count=steps).count()
    if wrong:
        raise RuntimeError(f"{row.id}: {wrong} of {n} instances did not make {steps} increments")
    sample = [workflow_id for _, workflow_id, _, _ in started[:: max(1, n // 5)]]
    lengths = [bench.loop.run(bench.history_length(workflow_id)) for workflow_id in sample]
    row.steps_per_s = n * steps / seconds
    row.workflows_per_s = n / seconds
    latencies = [end - start for (start, *_), end in zip(started, ends, strict=True)]
    row.p50_ms, row.p95_ms = latency_ms(latencies)
    row.events_per_instance = statistics.median(lengths)
    fill_usage(row, usage, worker)
    row.details |= {"instances": n, "steps_per_instance": steps, "seconds": seconds}
    return row


def fill_usage(row: Row, usage: Usage, worker: Child) -> None:
    row.worker_rss_mib = usage.peak_rss[worker.name] / MIB
    row.server_cpu_share = usage.server_share(worker.name)
    row.details["cpu_seconds"] = {name: round(cpu, 2) for name, cpu in usage.cpu.items()}


def joeflow_instances(
    bench: Bench, row: Row, workflow_class, n: int, steps: int, local: bool = False
) -> Row:
    def start_one() -> tuple[str, int]:
        instance = workflow_class.start()
        return instance.temporal_workflow_id, instance.pk

    with override_settings(JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES=local):
        return run_instances(bench, row, start_one, n, steps, bench.joeflow_worker)


def raw_instances(bench: Bench, row: Row, stages: list[int], n: int, local: bool = False) -> Row:
    """The same rows incremented by a plain temporalio workflow: create the row, start."""

    def start_one() -> tuple[str, int]:
        counter = models.Counter.objects.create()
        workflow_id = f"raw-{counter.pk}"
        bench.loop.run(
            bench.client.start_workflow(
                WORKFLOW_TYPE,
                args=[counter.pk, stages, local],
                id=workflow_id,
                task_queue=bench.raw_queue,
            )
        )
        return workflow_id, counter.pk

    return run_instances(bench, row, start_one, n, sum(stages), bench.raw_worker)


def raw_chain(bench: Bench) -> Row:
    n = bench.sizes.chain
    row = Row("raw_chain", f"raw temporalio: K={CHAIN_STEPS} × N={n}, activities")
    return raw_instances(bench, row, [1] * CHAIN_STEPS, n)


def raw_chain_local(bench: Bench) -> Row:
    n = bench.sizes.chain
    row = Row("raw_chain_local", f"raw temporalio: K={CHAIN_STEPS} × N={n}, local activities")
    return raw_instances(bench, row, [1] * CHAIN_STEPS, n, local=True)


def chain(bench: Bench) -> Row:
    n = bench.sizes.chain
    row = Row("chain", f"linear chain K={CHAIN_STEPS} × N={n}", baseline="raw_chain")
    return joeflow_instances(bench, row, models.ChainWorkflow, n, CHAIN_STEPS)


def chain_local(bench: Bench) -> Row:
    n = bench.sizes.chain
    row = Row(
        "chain_local",
        f"linear chain K={CHAIN_STEPS} × N={n}, LOCAL_ACTIVITIES",
        baseline="raw_chain_local",
    )
    return joeflow_instances(bench, row, models.ChainWorkflow, n, CHAIN_STEPS, local=True)


def raw_start_heavy(bench: Bench) -> Row:
    n = bench.sizes.start_heavy
    return raw_instances(bench, Row("raw_start_heavy", f"raw temporalio: K=1 × N={n}"), [1], n)


def start_heavy(bench: Bench) -> Row:
    n = bench.sizes.start_heavy
    row = Row("start_heavy", f"start-heavy K=1 × N={n}", baseline="raw_start_heavy")
    return joeflow_instances(bench, row, models.OneStepWorkflow, n, 1)


def raw_split(bench: Bench) -> Row:
    n = bench.sizes.split
    row = Row("raw_split", f"raw temporalio: 8 concurrent + 1 × N={n}")
    return raw_instances(bench, row, SPLIT_STAGES, n)


def split_join(bench: Bench) -> Row:
    n = bench.sizes.split
    row = Row("split_join", f"split/join 8 branches + 1 × N={n}", baseline="raw_split")
    return joeflow_instances(bench, row, models.SplitJoinWorkflow, n, sum(SPLIT_STAGES))


THROUGHPUT = [
    raw_chain,
    raw_chain_local,
    chain,
    chain_local,
    raw_start_heavy,
    start_heavy,
    raw_split,
    split_join,
]
"""Run ``--repeat`` times, interleaved, so that drift of the machine hits every one alike."""


# Human tasks and the inbox, through a real HTTP server


class Api:
    """JSON requests to the web server as a logged-in browser would make them (session, CSRF)."""

    def __init__(self, port: int):
        user, _ = get_user_model().objects.get_or_create(username="benchmark")
        browser = DjangoClient()
        browser.force_login(user)
        self.port = port
        self.session = browser.session.session_key
        self.csrf = get_random_string(32)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                method,
                path,
                body=None if body is None else json.dumps(body),
                headers={
                    "Cookie": f"sessionid={self.session}; csrftoken={self.csrf}",
                    "X-CSRFToken": self.csrf,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()


def scheduled_review(instance, after: int = 0) -> int | None:
    return (
        Task.objects.filter(_workflow_id=instance.pk, name="review", status=Task.SCHEDULED)
        .filter(pk__gt=after)
        .values_list("pk", flat=True)
        .first()
    )


def wait_for(predicate, timeout: float = 60, interval: float = 0.002):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Nothing after {timeout} s")
        time.sleep(interval)
    return value


def human_round_trip(bench: Bench) -> Row:
    """``POST /api/tasks/{pk}/complete/`` until the next human task is mirrored as scheduled."""
    n = bench.sizes.round_trips
    row = Row("human", f"human round trip × {n}: REST complete → next task scheduled")
    api = Api(bench.web_port)
    instance = models.HumanLoopWorkflow.start()
    task_id = wait_for(lambda: scheduled_review(instance))
    round_trips, responses = [], []
    with Measure(bench.children) as usage:
        for i in range(WARM_UP_ROUND_TRIPS + n):
            began = time.monotonic()
            status, body = api.request("POST", f"/api/tasks/{task_id}/complete/", {"count": i})
            answered = time.monotonic()
            if status != 200:
                raise RuntimeError(f"complete answered {status}: {body}")
            task_id = wait_for(lambda previous=task_id: scheduled_review(instance, previous))
            if i >= WARM_UP_ROUND_TRIPS:
                round_trips.append(time.monotonic() - began)
                responses.append(answered - began)
    instance.cancel()
    row.p50_ms, row.p95_ms = latency_ms(round_trips)
    row.events_per_instance = bench.loop.run(bench.history_length(instance.temporal_workflow_id))
    fill_usage(row, usage, bench.joeflow_worker)
    row.details |= {
        "round_trips": n,
        "complete_response_p50_ms": latency_ms(responses)[0],
        "complete_response_p95_ms": latency_ms(responses)[1],
    }
    return row


def sync_cost(bench: Bench) -> Row:
    """What synchronous bookkeeping adds: ``start()`` and a completion (``Task.complete``),
    each timed to its return and to its next human task, waiting (the default 5 s bound)
    and not (``JOEFLOW_TEMPORAL_SYNC_TIMEOUT = 0``), alternately, from this process."""
    n = bench.sizes.round_trips
    row = Row("sync", f"synchronous bookkeeping × {n}: p50 = ms it adds to start()")
    times = {
        mode: {"start": [], "start_next": [], "complete": [], "complete_next": []}
        for mode in ("wait", "none")
    }
    for i in range(WARM_UP_ROUND_TRIPS + n):
        for mode, timeout in (("wait", 5), ("none", 0)):
            with override_settings(JOEFLOW_TEMPORAL_SYNC_TIMEOUT=timeout):
                began = time.monotonic()
                instance = models.HumanLoopWorkflow.start()
                returned = time.monotonic()
                task_id = wait_for(lambda instance=instance: scheduled_review(instance))
                mirrored = time.monotonic()
                task = Task.objects.get(pk=task_id)
                completing = time.monotonic()
                task.complete()
                completed = time.monotonic()
                wait_for(lambda i=instance, t=task_id: scheduled_review(i, t))
                next_mirrored = time.monotonic()
            instance.cancel()
            if i >= WARM_UP_ROUND_TRIPS:
                sample = times[mode]
                sample["start"].append(returned - began)
                sample["start_next"].append(mirrored - began)
                sample["complete"].append(completed - completing)
                sample["complete_next"].append(next_mirrored - completing)
    medians = {
        mode: {name: latency_ms(values)[0] for name, values in sample.items()}
        for mode, sample in times.items()
    }
    row.p50_ms = medians["wait"]["start"] - medians["none"]["start"]
    row.p95_ms = None
    row.details |= {"round_trips": n, "p50_ms": medians}
    return row


def long_loop(bench: Bench) -> Row:
    """One instance looping ``n`` times over a machine task, with local activities."""
    n = bench.sizes.loop
    row = Row("loop", f"{n:,}-iteration loop, LOCAL_ACTIVITIES")
    rss = []  # (iterations done, worker RSS)
    with (
        override_settings(JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES=True),
        Measure(bench.children) as usage,
    ):
        began = time.monotonic()
        instance = models.LoopWorkflow.start(target=n)
        done = bench.loop.submit(bench.completed_at(instance.temporal_workflow_id))
        while not done.done():
            time.sleep(0.5)
            count = models.Counter.objects.values_list("count", flat=True).get(pk=instance.pk)
            rss.append((count, bench.joeflow_worker.rss_bytes()))
        seconds = done.result() - began
    if models.Counter.objects.get(pk=instance.pk).count != n:
        raise RuntimeError("loop: the count is not the number of iterations")
    runs = bench.loop.run(run_lengths(bench, instance.temporal_workflow_id))
    warmed_up = next((size for count, size in rss if count >= n // 5), rss[0][1])
    row.steps_per_s = n / seconds
    row.p50_ms = row.p95_ms = None
    row.events_per_instance = sum(runs)
    fill_usage(row, usage, bench.joeflow_worker)
    row.details |= {
        "iterations": n,
        "seconds": seconds,
        "runs": len(runs),
        "max_events_per_run": max(runs),
        "worker_rss_mib_after_first_fifth": warmed_up / MIB,
        "worker_rss_mib_at_end": rss[-1][1] / MIB,
    }
    return row


async def run_lengths(bench: Bench, workflow_id: str) -> list[int]:
    """History length of every run of the execution, oldest first."""
    final = await bench.client.get_workflow_handle(workflow_id).result()
    for _ in range(100):  # visibility lists a closed run a moment after it closed
        runs = [e async for e in bench.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
        if len(runs) >= final["run"]:
            break
        await asyncio.sleep(0.1)
    lengths = [await bench.history_length(workflow_id, run.run_id) for run in runs]
    return lengths[::-1]


def inbox(bench: Bench) -> Row:
    """``GET /api/tasks/?status=scheduled`` with ``inbox_tasks`` open human tasks in the table.

    The tasks are inserted in bulk (instances and Task rows, no executions): the list reads
    only the database.
    """
    n, requests = bench.sizes.inbox_tasks, bench.sizes.inbox_requests
    row = Row("inbox", f"inbox GET /api/tasks/?status=scheduled, {n:,} open tasks")
    insert_open_tasks(n)
    api = Api(bench.web_port)
    durations = []
    with Measure(bench.children) as usage:
        for _ in range(requests):
            began = time.monotonic()
            status, body = api.request("GET", "/api/tasks/?status=scheduled")
            durations.append(time.monotonic() - began)
            if status != 200 or body["count"] < n:
                raise RuntimeError(f"inbox answered {status}: {str(body)[:300]}")
    row.p50_ms, row.p95_ms = latency_ms(durations)
    row.details |= {
        "open_tasks": n,
        "requests": requests,
        "page_size": len(body["results"]),
        "web_rss_mib": usage.peak_rss[bench.web.name] / MIB,
        "cpu_seconds": {name: round(cpu, 2) for name, cpu in usage.cpu.items()},
    }
    return row


def insert_open_tasks(n: int) -> None:
    """``n`` instances with one scheduled human task each, in bulk (no executions behind them)."""
    content_type = ContentType.objects.get_for_model(
        models.HumanLoopWorkflow, for_concrete_model=False
    )
    table = connection.ops.quote_name(models.Counter._meta.db_table)
    columns = ", ".join(map(connection.ops.quote_name, ["workflow_ptr_id", "count", "target"]))
    with transaction.atomic():
        parents = Workflow.objects.bulk_create([Workflow() for _ in range(n)], batch_size=1000)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, 0, 0)",
                [(parent.pk,) for parent in parents],
            )
        Task.objects.bulk_create(
            [
                Task(
                    _workflow_id=parent.pk,
                    content_type=content_type,
                    name="review",
                    key="inbox",
                    type=Task.HUMAN,
                )
                for parent in parents
            ],
            batch_size=1000,
        )
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of a bulk insert: the planner sees the rows.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


SINGLE = [human_round_trip, sync_cost, long_loop, inbox]
"""Run once each: latencies over many requests, or one long instance."""
