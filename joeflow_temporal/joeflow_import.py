"""Moving a joeflow 2.x database over: joeflow's rows become ours, running instances executions.

joeflow keeps an instance's whole state in its tables: a ``joeflow_workflow`` row that the
project's workflow models extend (multi-table inheritance), and ``joeflow_task`` rows with
their parents and assignees. An instance is *running* while one of its tasks is ``scheduled``
or ``failed``; otherwise it has *ended*.

The import copies every instance into ``joeflow_temporal``'s tables **keeping the primary
keys**, so the project's rows (and anything else pointing at a workflow or a task) keep pointing
at the same ids once their parent link is re-pointed to our ``Workflow`` by a migration. Each
task gets the key ``joeflow:<pk>``. A running instance also gets a Temporal execution that
starts where joeflow stopped, through the walker's ``state``: a scheduled human task waits to be
completed, a scheduled machine task runs, a failed one waits for a rerun, a ``Wait`` sleeps until
its task's creation plus its duration, a ``Join`` waits for the parents that have not arrived.

One instance, one transaction: its rows, and the start of its execution before the commit (as
``Workflow.start_engine``). An instance already in our tables is skipped, so a run that was
interrupted can simply be run again. An execution that was started just before an interruption
(its rows rolled back) is replaced by the rerun's.

joeflow's tables are read with plain SQL: the ``joeflow`` package need not be installed.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from joeflow_temporal.engine import OpenTask, Phase, WalkerState
from joeflow_temporal.engine.spec import START_KINDS, NodeKind
from joeflow_temporal.engine.walker import PHASE_OF_KIND
from joeflow_temporal.models import Task, Workflow
from joeflow_temporal.runtime import client

WORKFLOW_TABLE = "joeflow_workflow"
TASK_TABLE = "joeflow_task"
PARENTS_TABLE = "joeflow_task_parent_task_set"
ASSIGNEES_TABLE = "joeflow_task_assignees"
TABLES = (WORKFLOW_TABLE, TASK_TABLE, PARENTS_TABLE, ASSIGNEES_TABLE)

KEY_PREFIX = "joeflow:"
"""Imported tasks are keyed ``joeflow:<pk>``; the walker's own keys never start like that."""

OPEN = (Task.SCHEDULED, Task.FAILED)
TASK_COLUMNS = (
    "id",
    "workflow_id",
    "content_type_id",
    "name",
    "type",
    "status",
    "created",
    "modified",
    "completed",
    "exception",
    "stacktrace",
    "completed_by_user_id",
)


class ImportRefused(Exception):
    """The database cannot be imported as it is; the message says why and what to do."""


@dataclass
class JoeflowTask:
    """One ``joeflow_task`` row with its parents and assignees."""

    id: int
    workflow_id: int
    content_type_id: int
    name: str
    type: str
    status: str
    created: datetime
    modified: datetime
    completed: datetime | None
    exception: str
    stacktrace: str
    completed_by_user_id: int | None
    parent_ids: list[int] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.id}"


@dataclass
class Instance:
    """One ``joeflow_workflow`` row and its tasks, in creation order."""

    id: int
    created: datetime
    modified: datetime
    tasks: list[JoeflowTask] = field(default_factory=list)

    @property
    def open_tasks(self) -> list[JoeflowTask]:
        return [task for task in self.tasks if task.status in OPEN]

    @property
    def completed(self) -> datetime | None:
        """When an ended instance ended: its last task's completion (or its last change)."""
        if self.open_tasks:
            return None
        return max((t.completed for t in self.tasks if t.completed), default=self.modified)


@dataclass
class Plan:
    """What the import does with one instance."""

    instance: Instance
    workflow_class: type[Workflow] | None = None
    label: str = ""
    state: WalkerState | None = None
    """Set for a running instance: where its execution starts."""
    already_imported: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.label or 'workflow'} {self.instance.id}"

    def describe(self, done: bool) -> str:
        """One line for the progress report (``done``) or the dry run."""
        count = len(self.instance.tasks)
        tasks = f"{count} task{'' if count == 1 else 's'}"
        if self.already_imported:
            return f"{self.name}: already imported, skipped"
        copied = f"copied {tasks}" if done else f"would copy {tasks}"
        if self.state is None:
            return f"{self.name}: ended, {copied} (history, no execution)"
        started = "execution started at" if done else "and start its execution at"
        at = "; ".join(describe_open_task(task) for task in self.state.tasks.values())
        return f"{self.name}: running, {copied}, {started} {at}"


def describe_open_task(task: OpenTask) -> str:
    match task.phase:
        case Phase.HUMAN:
            return f"{task.name} (human task {task.id}, waits to be completed)"
        case Phase.RUN:
            return f"{task.name} (machine task {task.id}, runs)"
        case Phase.FAILED:
            return f"{task.name} (failed task {task.id}, waits for a rerun)"
        case Phase.WAIT if task.wake_at is not None:
            return f"{task.name} (wait {task.id}, until {task.wake_at.isoformat()})"
        case Phase.JOIN:
            arrived = ", ".join(task.arrived) or "none"
            return f"{task.name} (join {task.id}, arrived: {arrived})"
    return f"{task.name} ({task.phase})"


@dataclass
class Summary:
    started: int = 0
    ended: int = 0
    skipped: int = 0


class JoeflowImport:
    """Reads joeflow's tables on database ``using`` and imports them, an instance at a time.

    Args:
        using: the database alias holding both joeflow's tables and ours.
        batch_size: instances read per query (memory stays bounded on large databases).
    """

    def __init__(self, using: str = "default", batch_size: int = 500) -> None:
        self.using = using
        self.connection = connections[using]
        self.batch_size = batch_size

    # Checks

    def check_tables(self) -> None:
        """Raise ``ImportRefused`` unless joeflow's tables and ours are there."""
        tables = set(self.connection.introspection.table_names())
        missing = [name for name in TABLES if name not in tables]
        if missing:
            raise ImportRefused(
                f"No joeflow 2.x tables in database {self.using!r} (missing: "
                f"{', '.join(missing)}). Run import_joeflow on the database your joeflow "
                "project wrote, with joeflow's migrations applied."
            )
        ours = [Workflow._meta.db_table, Task._meta.db_table]
        if not set(ours) <= tables:
            raise ImportRefused(
                "joeflow_temporal's tables are missing: run "
                "`python manage.py migrate joeflow_temporal` first."
            )

    def count(self) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {self.quote(WORKFLOW_TABLE)}")
            return cursor.fetchone()[0]

    def plans(self) -> Iterator[Plan]:
        """Every instance, in primary key order, with what the import does with it."""
        for batch in self.batches():
            imported = dict(
                Workflow.objects.using(self.using)
                .filter(pk__in=[instance.id for instance in batch])
                .values_list("pk", "created")
            )
            for instance in batch:
                plan = self.plan(instance)
                if instance.id in imported:
                    if imported[instance.id] == instance.created:
                        plan.already_imported = True
                    else:
                        plan.problems.append(
                            f"joeflow_temporal already has a workflow {instance.id} that is "
                            f"not this one (created {imported[instance.id].isoformat()}, "
                            f"not {instance.created.isoformat()}): import before any new "
                            "instance is started"
                        )
                yield plan

    def plan(self, instance: Instance) -> Plan:
        plan = Plan(instance)
        content_types = {task.content_type_id for task in instance.tasks}
        if not content_types:
            return plan  # a row without tasks: copied, nothing to run
        if len(content_types) > 1:
            plan.problems.append(f"its tasks name {len(content_types)} workflow classes")
            return plan
        content_type = ContentType.objects.db_manager(self.using).get_for_id(content_types.pop())
        plan.label = f"{content_type.app_label}.{content_type.model}"
        model = content_type.model_class()
        if model is not None and not issubclass(model, Workflow):
            plan.problems.append(
                f"{model.__module__}.{model.__qualname__} is not a joeflow_temporal workflow: "
                "rename its imports from joeflow to joeflow_temporal"
            )
            return plan
        if model is None:
            if instance.open_tasks:
                plan.problems.append(
                    f"the workflow class {plan.label} is not installed: install it (imports "
                    "renamed to joeflow_temporal) or end the instance under joeflow"
                )
            return plan  # ended instances of a removed class: history only
        plan.workflow_class = model
        plan.label = model._meta.label_lower
        if instance.open_tasks:
            plan.state = self.walker_state(instance, model, plan.problems)
        return plan

    def walker_state(self, instance: Instance, cls: type[Workflow], problems: list[str]):
        """The walker's state that stands where joeflow's open tasks stand."""
        graph = cls.get_graph_spec()
        names = {task.id: task.name for task in instance.tasks}
        open_tasks = {}
        for task in instance.open_tasks:
            node = graph.nodes.get(task.name)
            if node is None:
                problems.append(
                    f"its {task.status} task {task.id} ({task.name}) is no task of "
                    f"{cls._meta.label_lower} any more: end or override it under joeflow first"
                )
                continue
            if node.type != task.type:
                problems.append(
                    f"its task {task.id} ({task.name}) is a {task.type} task, but "
                    f"{cls._meta.label_lower}.{task.name} is a {node.type} task now"
                )
                continue
            phase = open_phase(task, node.kind)
            if phase is None:
                problems.append(
                    f"its task {task.id} ({task.name}, a {node.kind} node) is {task.status}, "
                    "which joeflow never leaves such a task in"
                )
                continue
            open_tasks[task.key] = OpenTask(
                key=task.key,
                name=task.name,
                phase=phase,
                id=task.id,
                parent_ids=sorted(task.parent_ids),
                arrived=sorted({names[i] for i in task.parent_ids}) if phase == Phase.JOIN else [],
                wake_at=(
                    task.created + node.wait
                    if phase == Phase.WAIT and node.wait is not None
                    else None
                ),
            )
        return WalkerState(tasks=open_tasks)

    # Import

    def run(self, plans: Iterator[Plan], report: Callable[[Plan], None]) -> Summary:
        """Import the planned instances, one transaction each; ``report`` after each commit.

        Raises:
            TemporalUnavailable: Temporal could not be reached; that instance's rows were
                rolled back and the ones before it stay imported.
        """
        summary = Summary()
        self.reserve_ids()
        for plan in plans:
            started = not plan.already_imported and self.import_instance(plan)
            if plan.already_imported:
                summary.skipped += 1
            elif started:
                summary.started += 1
            else:
                summary.ended += 1
            report(plan)
        return summary

    def import_instance(self, plan: Plan) -> bool:
        """Copy one instance and start its execution if it runs; True if it was started."""
        instance = plan.instance
        with transaction.atomic(using=self.using):
            if Workflow.objects.using(self.using).filter(pk=instance.id).exists():
                plan.already_imported = True  # imported by a run beside this one
                return False
            tasks = self.copy_rows(instance)
            if plan.state is None:
                return False
            self.start_execution(plan, first_task=tasks[0])
        return True

    def copy_rows(self, instance: Instance) -> list[Task]:
        """Insert the instance's rows into our tables; return its tasks, oldest first."""
        db = self.using
        Workflow.objects.using(db).bulk_create([Workflow(pk=instance.id)])
        # bulk_create stamps auto_now(_add) fields with now; joeflow's times are put back.
        Workflow.objects.using(db).filter(pk=instance.id).update(
            created=instance.created, modified=instance.modified, completed=instance.completed
        )
        tasks = [
            Task(
                pk=task.id,
                _workflow_id=instance.id,
                content_type_id=task.content_type_id,
                name=task.name,
                key=task.key,
                type=task.type,
                status=task.status,
                completed=task.completed,
                exception=task.exception,
                stacktrace=task.stacktrace,
                completed_by_user_id=task.completed_by_user_id,
            )
            for task in instance.tasks
        ]
        Task.objects.using(db).bulk_create(tasks)
        for row, task in zip(tasks, instance.tasks, strict=True):
            row.created, row.modified = task.created, task.modified
        Task.objects.using(db).bulk_update(tasks, ["created", "modified"])
        Task.parent_task_set.through.objects.using(db).bulk_create(
            Task.parent_task_set.through(from_task_id=task.id, to_task_id=parent_id)
            for task in instance.tasks
            for parent_id in task.parent_ids
        )
        Task.assignees.through.objects.using(db).bulk_create(
            Task.assignees.through(task_id=task.id, user_id=user_id)
            for task in instance.tasks
            for user_id in task.assignee_ids
        )
        return tasks

    def start_execution(self, plan: Plan, first_task: Task) -> None:
        """Start the execution at the open tasks (``first_task`` only fills the input's
        ``start_task_id`` and ``start_node``, which a run with a state does not use).

        An execution an interrupted run started for this instance (its rows rolled back) is
        terminated by the start and replaced: it never found its rows, so it did nothing.
        """
        instance = plan.instance
        if plan.workflow_class is None:
            raise LookupError(f"{plan.name}: no workflow class to start it as.")
        workflow = plan.workflow_class(pk=instance.id, created=instance.created)
        client.start_workflow(workflow, first_task, state=plan.state)

    def reserve_ids(self) -> None:
        """Move PostgreSQL's id counters past joeflow's ids before any row is copied.

        Rows are copied with their ids, which does not advance a sequence; without this the
        engine's next task (or a new instance) would be given an id an imported row has.
        SQLite and MySQL advance their counters past explicit ids by themselves.
        """
        if self.connection.vendor != "postgresql":
            return
        with self.connection.cursor() as cursor:
            for model, source in ((Workflow, WORKFLOW_TABLE), (Task, TASK_TABLE)):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST("
                    f"(SELECT COALESCE(MAX(id), 0) FROM {self.quote(table)}), "
                    f"(SELECT COALESCE(MAX(id), 0) FROM {self.quote(source)}), 1))",
                    [table],
                )

    # Reading joeflow's tables

    def batches(self) -> Iterator[list[Instance]]:
        last = 0
        while True:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, created, modified FROM {self.quote(WORKFLOW_TABLE)} "
                    f"WHERE id > %s ORDER BY id LIMIT {int(self.batch_size)}",
                    [last],
                )
                rows = cursor.fetchall()
            if not rows:
                return
            instances = {
                pk: Instance(pk, aware(created), aware(modified)) for pk, created, modified in rows
            }
            first, last = rows[0][0], rows[-1][0]
            for task in self.tasks_between(first, last):
                instances[task.workflow_id].tasks.append(task)
            yield list(instances.values())

    def tasks_between(self, first: int, last: int) -> list[JoeflowTask]:
        """The tasks of the instances with ids from ``first`` to ``last``, with their links."""
        quote = self.quote
        of_batch = f"SELECT id FROM {quote(TASK_TABLE)} WHERE workflow_id BETWEEN %s AND %s"
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(TASK_COLUMNS)} FROM {quote(TASK_TABLE)} "
                "WHERE workflow_id BETWEEN %s AND %s ORDER BY id",
                [first, last],
            )
            tasks = {}
            for row in cursor.fetchall():
                values = dict(zip(TASK_COLUMNS, row, strict=True))
                for name in ("created", "modified", "completed"):
                    values[name] = aware_or_none(values[name])
                tasks[values["id"]] = JoeflowTask(**values)
            cursor.execute(
                f"SELECT from_task_id, to_task_id FROM {quote(PARENTS_TABLE)} "
                f"WHERE from_task_id IN ({of_batch}) ORDER BY id",
                [first, last],
            )
            for task_id, parent_id in cursor.fetchall():
                tasks[task_id].parent_ids.append(parent_id)
            cursor.execute(
                f"SELECT task_id, user_id FROM {quote(ASSIGNEES_TABLE)} "
                f"WHERE task_id IN ({of_batch}) ORDER BY id",
                [first, last],
            )
            for task_id, user_id in cursor.fetchall():
                tasks[task_id].assignee_ids.append(user_id)
        return list(tasks.values())

    def quote(self, name: str) -> str:
        return self.connection.ops.quote_name(name)


def open_phase(task: JoeflowTask, kind: NodeKind) -> Phase | None:
    """The walker phase of an open joeflow task on a node of this kind (None: impossible:
    joeflow fails only methods, and finishes a start task as it starts the instance)."""
    if task.status == Task.FAILED:
        return Phase.FAILED if kind == NodeKind.METHOD else None
    if kind in START_KINDS:
        return None
    return PHASE_OF_KIND[kind]


def aware_or_none(value) -> datetime | None:
    """``aware(value)``, for a nullable column."""
    return None if value is None else aware(value)


def aware(value) -> datetime:
    """A datetime from a raw row: SQLite gives naive UTC (or text), PostgreSQL aware values."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if settings.USE_TZ and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value
