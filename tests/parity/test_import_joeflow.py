"""``import_joeflow`` on a database written by real joeflow 2.0.2 (``tests/joeflow_fixture``).

The fixture's instances, as joeflow left them:

1. ended: every task succeeded
2. waits for alice's approval (started by her through the start view; she is the assignee)
3. split: ``pack`` ran and arrived at the join, ``invoice`` is still scheduled
4. ``ship`` failed
5. canceled
6. overridden back to ``approve``, which waits for a human
7. a reminder whose ``Wait`` (1 s) is scheduled

The worker starts once the project's rows are loaded, as the documented procedure starts it
after the project's own migration.
"""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.db.migrations.state import ModelState, ProjectState
from django.utils.dateparse import parse_datetime

from joeflow_temporal.models import Task, Workflow
from joeflow_temporal.operations import MoveToJoeflowTemporal
from joeflow_temporal.runtime import client as engine_client
from joeflow_temporal.testing import RunningWorker
from joeflow_temporal.testing.ports import free_port
from tests.helpers import result, wait_until
from tests.joeflow_fixture import loading
from tests.joeflow_fixture.shop.models import OrderWorkflow, ReminderWorkflow

ENDED = [1, 5]
RUNNING = [2, 3, 4, 6, 7]


@pytest.fixture
def joeflow_db(transactional_db):
    """The test database with joeflow's tables and rows; the users' ids by username."""
    loading.create_joeflow_tables()
    try:
        yield loading.load_joeflow_rows()
    finally:
        loading.drop_joeflow_tables()


@pytest.fixture
def start_worker(temporal_client, task_queue):
    workers = []

    def start():
        workers.append(RunningWorker(temporal_client, task_queue).start())

    yield start
    for worker in workers:
        worker.stop()


def import_joeflow(*args: str) -> str:
    out = io.StringIO()
    call_command("import_joeflow", *args, stdout=out)
    return out.getvalue()


def joeflow_time(text: str) -> datetime:
    """A time as the fixture database stores it (naive UTC text)."""
    return parse_datetime(text).replace(tzinfo=UTC)


def order(pk: int) -> OrderWorkflow:
    return OrderWorkflow.objects.get(pk=pk)


def statuses(pk: int, task_queue: str, label: str = "shop.orderworkflow") -> list[str]:
    """The statuses of the instance's executions on this test's task queue, oldest first."""

    async def collect():
        temporal = await engine_client.get_client()
        query = f"WorkflowId = '{label}.{pk}' AND TaskQueue = '{task_queue}'"
        executions = [execution async for execution in temporal.list_workflows(query)]
        return [e.status.name for e in sorted(executions, key=lambda e: e.start_time)]

    return engine_client.run(collect(), timeout=30)


def assert_statuses(pk: int, task_queue: str, expected: list[str]) -> None:
    """``statuses`` reaches ``expected``: the server's list of executions (its visibility
    store) may lag a moment behind a start or an end under load."""
    seen = []
    try:
        wait_until(lambda: seen.append(statuses(pk, task_queue)) or seen[-1] == expected, 10)
    except AssertionError:
        assert seen[-1] == expected


def test_dry_run_lists_what_it_would_do_and_writes_nothing(joeflow_db, task_queue):
    out = import_joeflow("--dry-run")

    lines = out.splitlines()
    assert (
        lines[0] == "[1/7] shop.orderworkflow 1: ended, would copy 8 tasks (history, no execution)"
    )
    assert "approve (human task 10, waits to be completed)" in lines[1]
    assert "invoice (machine task 15, runs); join (join 16, arrived: pack)" in lines[2]
    assert "ship (failed task 23, waits for a rerun)" in lines[3]
    assert lines[4].endswith(
        "shop.orderworkflow 5: ended, would copy 2 tasks (history, no execution)"
    )
    [(created,)] = loading.rows("SELECT created FROM joeflow_task WHERE id = 32")
    wake_at = (joeflow_time(created) + timedelta(seconds=1)).isoformat()
    assert lines[6].endswith(
        f"shop.reminderworkflow 7: running, would copy 2 tasks, and start its "
        f"execution at wait (wait 32, until {wake_at})"
    )
    assert lines[-1] == (
        "Dry run: would import 7 instances (5 running, 2 ended); 0 already imported. "
        "Nothing was written."
    )
    assert not Workflow.objects.exists() and not Task.objects.exists()
    assert statuses(2, task_queue) == []


def test_running_instances_go_on_where_joeflow_stopped(joeflow_db, start_worker, task_queue):
    users = joeflow_db
    out = import_joeflow()
    assert (
        "[2/7] shop.orderworkflow 2: running, copied 2 tasks, execution started at approve" in out
    )
    assert out.splitlines()[-1] == (
        "Imported 7 of 7 instances: 5 running (executions started), 2 ended; 0 already imported."
    )
    loading.load_shop_rows()

    # The rows, ids kept: users, assignees, parents, errors and times as joeflow wrote them.
    assert Task.objects.count() == 32
    assert sorted(Workflow.objects.values_list("pk", flat=True)) == [1, 2, 3, 4, 5, 6, 7]
    assert Task.objects.get(pk=2).completed_by_user_id == users["bob"]
    assert list(Task.objects.get(pk=10).assignees.values_list("username", flat=True)) == ["alice"]
    assert sorted(Task.objects.get(pk=16).parent_task_set.values_list("pk", flat=True)) == [14]
    failed = Task.objects.get(pk=23)
    assert failed.exception.startswith("RuntimeError: The carrier is unreachable.")
    assert "Traceback" in failed.stacktrace
    [written] = loading.rows("SELECT created, completed FROM joeflow_task WHERE id = 31")
    start = Task.objects.get(pk=31)
    assert (start.created, start.completed) == (joeflow_time(written[0]), joeflow_time(written[1]))
    assert [t.key for t in order(3).task_set.order_by("pk")][:2] == ["joeflow:11", "joeflow:12"]

    # Ended instances: history, completed, no execution.
    for pk in ENDED:
        assert Workflow.objects.get(pk=pk).completed is not None
        assert statuses(pk, task_queue) == []
    assert set(order(5).task_set.values_list("status", flat=True)) == {"canceled"}
    for pk in RUNNING:
        assert Workflow.objects.get(pk=pk).completed is None

    start_worker()

    # 7: the Wait's time is long past: it completes, remind runs once.
    reminder = ReminderWorkflow.objects.get(pk=7)
    result(reminder)
    reminder.refresh_from_db()
    assert reminder.reminded == 1

    # 3: the scheduled invoice runs once, the join gets both parents, the instance ends.
    split = order(3)
    result(split)
    split.refresh_from_db()
    assert (split.packed, split.invoiced, split.shipped) == (1, 1, 1)
    join = split.task_set.get(name="join")
    assert join.pk == 16 and join.status == "succeeded"
    assert sorted(join.parent_task_set.values_list("name", flat=True)) == ["invoice", "pack"]
    assert split.task_set.filter(name="invoice").count() == 1

    # 2: alice completes the approval joeflow assigned her; the instance runs to its end.
    approval = Task.objects.get(pk=10)
    assert approval.get_absolute_url() == f"/shop/orders/approve/{approval.pk}/"
    alice = get_user_model().objects.get(username="alice")
    with approval.completing(alice):
        OrderWorkflow.objects.filter(pk=2).update(approved=True)
    waiting = order(2)
    result(waiting)
    waiting.refresh_from_db()
    assert (waiting.approved, waiting.packed, waiting.invoiced, waiting.shipped) == (True, 1, 1, 1)
    assert Task.objects.get(pk=10).completed_by_user == alice

    # 6: the approval the override created is completable as well.
    Task.objects.get(pk=30).complete(alice)
    result(order(6))
    assert order(6).shipped == 1

    # 4: ship is still failed, and its rerun ships once.
    failed = Task.objects.get(pk=23)
    assert failed.status == "failed" and order(4).shipped == 0
    OrderWorkflow.objects.filter(pk=4).update(fail_shipping=False)
    failed.rerun()
    result(order(4))
    assert Task.objects.get(pk=23).status == "succeeded" and order(4).shipped == 1

    # Run again: nothing twice.
    tasks = Task.objects.count()
    again = import_joeflow()
    assert again.count("already imported, skipped") == 7
    assert again.splitlines()[-1].endswith("0 ended; 7 already imported.")
    assert Task.objects.count() == tasks
    for pk in RUNNING[:-1]:
        assert_statuses(pk, task_queue, ["COMPLETED"])

    # New instances get ids after the imported ones (PostgreSQL's counters were moved).
    new = OrderWorkflow.start(customer="new")
    assert new.pk > 7  # 8 in a fresh database; the suite's other tests used ids before
    assert min(new.task_set.values_list("pk", flat=True)) > 32


def test_interrupted_import_goes_on_when_run_again(
    joeflow_db, start_worker, task_queue, monkeypatch
):
    """Interrupted right after Temporal accepted instance 3, before its commit: a rerun
    imports the same rows and replaces that execution; nothing runs twice."""
    real_start = engine_client.start_workflow

    def start_then_interrupt(workflow, *args, **kwargs):
        real_start(workflow, *args, **kwargs)
        if workflow.pk == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(engine_client, "start_workflow", start_then_interrupt)
    with pytest.raises(CommandError, match="Interrupted. Imported 2 of 7 instances"):
        import_joeflow()
    assert sorted(Workflow.objects.values_list("pk", flat=True)) == [1, 2]
    assert_statuses(3, task_queue, ["RUNNING"])  # started, its rows rolled back
    monkeypatch.undo()

    out = import_joeflow()
    assert out.count("already imported, skipped") == 2
    assert "shop.orderworkflow 3: running, copied 6 tasks, execution started" in out
    loading.load_shop_rows()
    start_worker()
    split = order(3)
    result(split)
    split.refresh_from_db()
    assert (split.packed, split.invoiced, split.shipped) == (1, 1, 1)
    assert_statuses(3, task_queue, ["TERMINATED", "COMPLETED"])


def test_temporal_unreachable_stops_and_a_rerun_goes_on(joeflow_db, task_queue, settings):
    address = settings.JOEFLOW_TEMPORAL_ADDRESS
    settings.JOEFLOW_TEMPORAL_ADDRESS = f"127.0.0.1:{free_port()}"
    with pytest.raises(CommandError, match="unreachable.*Imported 1 of 7 instances"):
        import_joeflow()
    assert list(Workflow.objects.values_list("pk", flat=True)) == [1]  # the ended one before
    assert not Task.objects.filter(_workflow_id=2).exists()

    settings.JOEFLOW_TEMPORAL_ADDRESS = address
    out = import_joeflow()
    assert out.splitlines()[-1] == (
        "Imported 6 of 7 instances: 5 running (executions started), 1 ended; 1 already imported."
    )
    assert_statuses(2, task_queue, ["RUNNING"])


def test_refuses_a_database_without_joeflow_tables(transactional_db):
    with pytest.raises(CommandError, match="No joeflow 2.x tables in database 'default'"):
        import_joeflow()


def test_refuses_instances_it_cannot_run_and_writes_nothing(joeflow_db):
    from django.contrib.contenttypes.models import ContentType

    gone = ContentType.objects.create(app_label="gone", model="oldflow")
    users = ContentType.objects.get_for_model(get_user_model())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE joeflow_task SET content_type_id = %s WHERE workflow_id = 2", [gone.pk]
        )
        cursor.execute(
            "UPDATE joeflow_task SET content_type_id = %s WHERE workflow_id = 4", [users.pk]
        )
        cursor.execute("UPDATE joeflow_task SET name = 'gift_wrap' WHERE id = 15")

    with pytest.raises(CommandError) as refused:
        import_joeflow("--dry-run")

    message = str(refused.value)
    assert message.startswith("Nothing was imported:")
    assert "gone.oldflow 2: the workflow class gone.oldflow is not installed" in message
    assert (
        "auth.user 4: django.contrib.auth.models.User is not a joeflow_temporal workflow" in message
    )
    assert "shop.orderworkflow 3: its scheduled task 15 (gift_wrap) is no task of" in message
    with pytest.raises(CommandError):
        import_joeflow()
    assert not Workflow.objects.exists()


def test_move_to_joeflow_temporal_moves_the_parent_link_and_the_base(transactional_db):
    """Step 5's operation on a model as joeflow's migrations left it: its table's parent link
    points at ``joeflow_workflow`` and its recorded base is joeflow's ``Workflow`` (joeflow's
    model stands in as a model state: the package is not installed here)."""
    link = models.OneToOneField(
        "joeflow.workflow",
        on_delete=models.CASCADE,
        parent_link=True,
        auto_created=True,
        primary_key=True,
        serialize=False,
    )
    before = ProjectState.from_apps(apps)
    before.add_model(
        ModelState("joeflow", "workflow", [("id", models.BigAutoField(primary_key=True))])
    )
    before.add_model(
        ModelState(
            "legacy",
            "parcel",
            [("workflow_ptr", link), ("weight", models.IntegerField())],
            bases=("joeflow.workflow",),
        )
    )
    with connection.schema_editor() as editor:
        editor.create_model(before.apps.get_model("joeflow", "workflow"))
        editor.create_model(before.apps.get_model("legacy", "parcel"))
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO joeflow_workflow (id) VALUES (41)")
            cursor.execute("INSERT INTO legacy_parcel (workflow_ptr_id, weight) VALUES (41, 7)")
        assert parent_link_target("legacy_parcel") == "joeflow_workflow"
        Workflow.objects.bulk_create([Workflow(pk=41)])  # what import_joeflow does first

        move = MoveToJoeflowTemporal("parcel")
        after = before.clone()
        move.state_forwards("legacy", after)
        with connection.schema_editor() as editor:
            move.database_forwards("legacy", editor, before, after)

        assert after.models["legacy", "parcel"].bases == ("joeflow_temporal.workflow",)
        assert parent_link_target("legacy_parcel") == "joeflow_temporal_workflow"
        parcel = after.apps.get_model("legacy", "parcel").objects.get()
        assert (parcel.pk, parcel.weight) == (41, 7)
    finally:
        loading.drop_tables("legacy_parcel", "joeflow_workflow")


def parent_link_target(table: str) -> str:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table).values()
    [(target, _)] = [c["foreign_key"] for c in constraints if c["foreign_key"]]
    return target
