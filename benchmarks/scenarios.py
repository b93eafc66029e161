"""The scenarios: each returns one row of the table (a ``Row``).

Throughput scenarios start ``n`` instances one after another from this process (what a web
app does) and wait for every execution's result; latency is start → result of each instance.
"""

import asyncio
import collections
import http.client
import itertools
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client as DjangoClient
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.crypto import get_random_string
from temporalio.api.enums.v1 import EventType
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
    overview_tasks: int = 100_000
    overview_instances: int = 20_000
    overview_requests: int = 20


QUICK = Sizes(
    chain=10,
    start_heavy=20,
    split=5,
    round_trips=5,
    loop=300,
    inbox_tasks=500,
    inbox_requests=10,
    overview_tasks=5_000,
    overview_instances=1_000,
    overview_requests=5,
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
    """JSON requests to the web server as a logged-in browser would make them (session, CSRF).

    ``username`` and ``user_fields`` (e.g. ``is_staff=True``) choose the user signed in.
    """

    def __init__(self, port: int, username: str = "benchmark", **user_fields):
        self.user, _ = get_user_model().objects.get_or_create(
            username=username, defaults=user_fields
        )
        browser = DjangoClient()
        browser.force_login(self.user)
        self.port = port
        self.session = browser.session.session_key
        self.csrf = get_random_string(32)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        status, content = self.raw(method, path, body)
        return status, json.loads(content or b"null")

    def raw(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        """The status and the body as bytes (an HTML page)."""
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
            return response.status, response.read()
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
    with transaction.atomic():
        Task.objects.bulk_create(
            [
                Task(
                    _workflow_id=pk,
                    content_type=content_type,
                    name="review",
                    key="inbox",
                    type=Task.HUMAN,
                )
                for pk in insert_instances(n)
            ],
            batch_size=1000,
        )
    analyze()


def insert_instances(n: int, completed=None) -> list[int]:
    """``n`` rows of the benchmark's model (``Counter``) in bulk; their pks."""
    table = connection.ops.quote_name(models.Counter._meta.db_table)
    columns = ", ".join(map(connection.ops.quote_name, ["workflow_ptr_id", "count", "target"]))
    parents = Workflow.objects.bulk_create(
        [Workflow(completed=completed) for _ in range(n)], batch_size=1000
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES (%s, 0, 0)",
            [(parent.pk,) for parent in parents],
        )
    return [parent.pk for parent in parents]


def analyze() -> None:
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of a bulk insert: the planner sees the rows.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed_requests(api: Api, path: str, requests: int) -> tuple[list[float], int, bytes]:
    """GET ``path`` ``requests`` times; the durations, and the last status and body."""
    durations = []
    for _ in range(requests):
        began = time.monotonic()
        status, body = api.raw("GET", path)
        durations.append(time.monotonic() - began)
        if status != 200:
            break
    return durations, status, body


CANDIDATE_PATH = "/api/tasks/?candidate=me&ordering=due"


def inbox_candidate(bench: Bench) -> Row:
    """``GET /api/tasks/?candidate=me&ordering=due`` as a member of one of two candidate groups,
    with ``inbox_tasks`` open human tasks offered half to each group, a tenth of them claimed by
    the user (plus whatever open tasks earlier scenarios left, which the answer counts too).

    Fails unless the answer is 200 with exactly the tasks the user may claim
    (``TaskQuerySet.claimable_by``), in due-date order: never a measured error.
    """
    n, requests = bench.sizes.inbox_tasks, bench.sizes.inbox_requests
    row = Row("inbox_candidate", f"inbox GET /api/tasks/?candidate=me&ordering=due, {n:,} open")
    api = Api(bench.web_port, "benchmark-reviewer")
    mine, others = (Group.objects.get_or_create(name=name)[0] for name in ("mine", "others"))
    api.user.groups.add(mine)
    content_type = ContentType.objects.get_for_model(
        models.HumanLoopWorkflow, for_concrete_model=False
    )
    now = timezone.now()
    with transaction.atomic():
        created = Task.objects.bulk_create(
            [
                Task(
                    _workflow_id=pk,
                    content_type=content_type,
                    name="review",
                    key="candidate",
                    type=Task.HUMAN,
                    due=now + timedelta(minutes=(i * 7919) % n),  # every due date, shuffled
                )
                for i, pk in enumerate(insert_instances(n))
            ],
            batch_size=1000,
        )
        Task.candidate_groups.through.objects.bulk_create(
            [
                Task.candidate_groups.through(task_id=task.pk, group_id=group.pk)
                for task, group in zip(created, itertools.cycle([mine, others]), strict=False)
            ],
            batch_size=1000,
        )
        # Every tenth one the user claimed: theirs (assignee=me), no longer to claim.
        Task.assignees.through.objects.bulk_create(
            [Task.assignees.through(task_id=t.pk, user_id=api.user.pk) for t in created[::10]],
            batch_size=1000,
        )
    analyze()
    claimable = Task.objects.claimable_by(api.user)
    expected = claimable.count()
    with Measure(bench.children) as usage:
        durations, status, content = timed_requests(api, CANDIDATE_PATH, requests)
    body = json.loads(content or b"null")
    if status != 200:
        raise RuntimeError(f"{CANDIDATE_PATH} answered {status}: {str(body)[:300]}")
    ids = [task["id"] for task in body["results"]]
    dues = dict(Task.objects.filter(pk__in=ids).values_list("pk", "due"))
    in_order = [dues[pk] for pk in ids if dues[pk] is not None]
    if body["count"] != expected or claimable.filter(pk__in=ids).count() != len(ids):
        raise RuntimeError(
            f"{CANDIDATE_PATH}: {body['count']} tasks, not the {expected} the user may claim"
        )
    if in_order != sorted(in_order):
        raise RuntimeError(f"{CANDIDATE_PATH}: the first page is not in due-date order")
    row.p50_ms, row.p95_ms = latency_ms(durations)
    row.details |= {
        "open_tasks": n,
        "claimable": expected,
        "requests": requests,
        "page_size": len(ids),
        "web_rss_mib": usage.peak_rss[bench.web.name] / MIB,
    }
    return row


def overview_100k(bench: Bench) -> Row:
    """``GET /tasks/overview/benchapp.reviewworkflow/`` as staff with ``overview_tasks`` Task rows
    over ``overview_instances`` instances of the class (inserted in bulk, created over the last
    30 days): most instances finished, the others waiting at their review (some overdue), or
    failed at ``decide``."""
    n, instances = bench.sizes.overview_tasks, bench.sizes.overview_instances
    requests = bench.sizes.overview_requests
    row = Row("overview_100k", f"overview page, {n:,} tasks of {instances:,} instances")
    inserted = insert_overview_rows(n, instances)
    running = models.ReviewWorkflow.instances().filter(completed__isnull=True).count()
    api = Api(bench.web_port, "benchmark-staff", is_staff=True)
    path = f"/tasks/overview/{models.ReviewWorkflow._meta.label_lower}/"
    with Measure(bench.children) as usage:
        durations, status, content = timed_requests(api, path, requests)
    page = content.decode(errors="replace")
    if status != 200 or "<svg" not in page or f"<td>{running}</td>" not in page:
        raise RuntimeError(f"{path} answered {status}: {page[:300]}")
    row.p50_ms, row.p95_ms = latency_ms(durations)
    row.details |= {
        "tasks": inserted,
        "instances": instances,
        "running": running,
        "requests": requests,
        "web_rss_mib": usage.peak_rss[bench.web.name] / MIB,
    }
    return row


def insert_overview_rows(n: int, instances: int) -> int:
    """``n`` Task rows of ``ReviewWorkflow`` over ``instances`` instances (more if every
    instance's own path needs more); returns how many.

    Every fifth instance waits at its review (a third of those overdue), every twentieth failed
    at ``decide``; the others took their whole path, and the rows left to reach ``n`` are more
    reviews and escalations of those (instances that looped, or escalated)."""
    content_type = ContentType.objects.get_for_model(
        models.ReviewWorkflow, for_concrete_model=False
    )
    now = timezone.now()
    rows, finished = [], []
    pks = insert_instances(instances, completed=now)
    for i, pk in enumerate(pks):
        created = now - timedelta(seconds=(i * 7919) % (30 * 86400))

        def task(name, status, took, due=None, pk=pk, created=created):
            return Task(
                _workflow_id=pk,
                content_type=content_type,
                name=name,
                key=f"{name}:{len(rows)}",
                type=Task.HUMAN if name in ("review", "escalate") else Task.MACHINE,
                status=status,
                created=created,
                completed=None if took is None else created + took,
                due=due,
            )

        review_took = timedelta(seconds=60 + (i * 104729) % 86400)
        rows.append(task("start", Task.SUCCEEDED, timedelta(0)))
        if i % 5 == 0:
            due = created + timedelta(days=2) if i % 3 else now - timedelta(hours=1)
            rows.append(task("review", Task.SCHEDULED, None, due=due))
            continue
        rows.append(task("review", Task.SUCCEEDED, review_took))
        if i % 20 == 1:
            rows.append(task("decide", Task.FAILED, None))
            continue
        rows.append(task("decide", Task.SUCCEEDED, timedelta(seconds=1)))
        rows.append(task("end", Task.SUCCEEDED, timedelta(0)))
        finished.append((task, review_took))
    for k in range(n - len(rows)):  # the rest: reviews again, and escalations
        task, review_took = finished[k % len(finished)]
        rows.append(task("escalate" if k % 2 else "review", Task.SUCCEEDED, review_took * 2))
    field = Task._meta.get_field("created")
    field.auto_now_add = False  # keep the spread of creation times
    try:
        with transaction.atomic():
            Task.objects.bulk_create(rows, batch_size=2000)
            Workflow.objects.filter(
                pk__in=Task.objects.filter(content_type=content_type)
                .exclude(status=Task.SUCCEEDED)
                .values("_workflow")
            ).update(completed=None)
    finally:
        field.auto_now_add = True
    analyze()
    return len(rows)


def human_timers_history(bench: Bench) -> Row:
    """One instance whose human task has a due date (3 s), reminders (every 1 s) and an
    escalation, run by the engine until the escalated task is completed, against one whose
    task has none of them and is completed after the same wait: their history events."""
    row = Row("human_timers_history", "human task with due + remind_every + on_timeout")
    began = time.monotonic()
    timed = models.TimedReviewWorkflow.start()
    escalate = wait_for(
        lambda: (
            Task.objects.filter(_workflow_id=timed.pk, name="escalate", status=Task.SCHEDULED)
            .values_list("pk", flat=True)
            .first()
        ),
        timeout=60,
    )
    waited = time.monotonic() - began
    Task.objects.get(pk=escalate).complete()
    began = time.monotonic()
    plain = models.PlainReviewWorkflow.start()
    review = wait_for(lambda: scheduled_review(plain))
    time.sleep(max(0.0, began + waited - time.monotonic()))
    Task.objects.get(pk=review).complete()
    counts = {}
    for name, instance in (("timers", timed), ("plain", plain)):
        bench.loop.run(bench.completed_at(instance.temporal_workflow_id))
        counts[name] = bench.loop.run(event_counts(bench, instance.temporal_workflow_id))
    row.events_per_instance = counts["timers"]["total"]
    row.details |= {
        "events": counts,
        "waited_s": round(waited, 1),
    }
    return row


async def event_counts(bench: Bench, workflow_id: str) -> dict[str, int]:
    """The execution's history: ``total`` events, timers started and activities scheduled."""
    history = await bench.client.get_workflow_handle(workflow_id).fetch_history()
    kinds = collections.Counter(EventType.Name(event.event_type) for event in history.events)
    return {
        "total": len(history.events),
        "timers": kinds["EVENT_TYPE_TIMER_STARTED"],
        "activities": kinds["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"],
    }


SINGLE = [
    human_round_trip,
    sync_cost,
    long_loop,
    inbox,
    inbox_candidate,
    overview_100k,
    human_timers_history,
]
"""Run once each: latencies over many requests, or one long instance."""
