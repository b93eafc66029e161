"""joeflow's model, task and graph API, as joeflow code calls it (issue #10, "API parity")."""

import re
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core import checks

from django_integration.demo.models import ShippingWorkflow, WelcomeWorkflow
from joeflow_temporal import tasks
from joeflow_temporal.checks import check_workflows
from joeflow_temporal.models import Task, get_workflow, get_workflows
from joeflow_temporal.utils import NoDashDiGraph
from tests.helpers import history, parents, result, scheduled
from tests.helpers import tasks as mirror
from tests.testapp import models


def signals(workflow) -> int:
    return sum(
        1
        for event in history(workflow).events
        if event.HasField("workflow_execution_signaled_event_attributes")
    )


# 1. task_set.create(..., workflow=...) and a create_task hook as joeflow's docs write it


def test_task_set_create_as_joeflow_makes_a_valid_row(db):
    workflow = models.HumanWorkflow.objects.create()
    other = models.HumanWorkflow.objects.create()

    first = workflow.task_set.create(name="edit", type=tasks.HUMAN, workflow=workflow)
    second = workflow.task_set.create()

    assert first.content_type == ContentType.objects.get_for_model(
        models.HumanWorkflow, for_concrete_model=False
    )
    assert first.key != second.key, "each row gets its own placeholder key"
    reloaded = Task.objects.get(pk=first.pk)
    assert type(reloaded.workflow) is models.HumanWorkflow and reloaded.workflow == workflow

    reloaded.workflow = other
    reloaded.save(update_fields=["_workflow", "content_type"])
    assert Task.objects.get(pk=first.pk).workflow == other
    with pytest.raises(ValueError, match="needs its instance"):
        Task.objects.create(name="orphan")


def test_the_engine_adopts_the_row_a_joeflow_style_create_task_returns(worker, django_user_model):
    ada = django_user_model.objects.create(username="ada")
    workflow = models.JoeflowHookWorkflow.start(choice="ada")

    review = scheduled(workflow, "review")
    assert list(review.assignees.all()) == [ada]
    assert parents(review) == ["start"]
    assert review.key in workflow.get_engine_state()["tasks"], "the walker's key"
    assert workflow.task_set.filter(name="review").count() == 1

    review.complete(ada)
    result(workflow)
    assert mirror(workflow) == [
        ("start", "succeeded"),
        ("review", "succeeded"),
        ("end", "succeeded"),
    ]


# 2. ordering and latest(), not_scheduled(), cancel(user), deleting a user


def test_latest_and_ordering_as_joeflow(db):
    workflow = models.HumanWorkflow.objects.create()
    done = workflow.task_set.create(name="start", status=Task.SUCCEEDED)
    done.finish()
    time.sleep(0.001)
    newest = workflow.task_set.create(name="edit")

    assert workflow.task_set.latest() == newest
    assert Task._meta.ordering == ("-completed", "-created")
    assert list(workflow.task_set.not_scheduled()) == [done]


def test_deleting_a_user_keeps_the_tasks_they_completed(db, django_user_model):
    user = django_user_model.objects.create(username="leaver")
    workflow = models.HumanWorkflow.objects.create()
    task = workflow.task_set.create(name="start")
    task.finish(user)

    user.delete()

    task.refresh_from_db()
    assert (task.status, task.completed_by_user) == (Task.SUCCEEDED, None)


def test_task_queryset_cancel_records_the_user_and_ends_the_branches(worker, django_user_model):
    user = django_user_model.objects.create(username="ada")
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    scheduled(workflow, "edit")

    assert workflow.task_set.cancel(user) == 1

    result(workflow)
    edit = workflow.task_set.get(name="edit")
    assert (edit.status, edit.completed_by_user) == (Task.CANCELED, user)
    assert workflow.task_set.get(name="start").status == Task.SUCCEEDED, "done keeps its outcome"


# 3. cancel(user), cancel of an ended instance, anonymous users, finish(user), fail()


def test_workflow_cancel_records_the_user_and_an_ended_instance_is_left_alone(
    worker, django_user_model
):
    user = django_user_model.objects.create(username="ada")
    workflow = models.SplitJoinWorkflow.start()
    scheduled(workflow, "review")
    scheduled(workflow, "approve")
    scheduled(workflow, "join")  # every task open: none is created after the cancel

    workflow.cancel(user)
    result(workflow)

    canceled = workflow.task_set.canceled()
    assert {task.name for task in canceled} >= {"review", "approve"}
    assert {task.completed_by_user for task in canceled} == {user}
    sent = signals(workflow)

    workflow.cancel(user)  # ended: no error, and no signal

    assert signals(workflow) == sent


def test_task_cancel_by_an_anonymous_user_records_no_user(worker):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(workflow, "edit")

    edit.cancel(AnonymousUser())

    edit.refresh_from_db()
    assert (edit.status, edit.completed_by_user) == (Task.CANCELED, None)
    result(workflow)


def test_finish_takes_the_user_as_joeflow(db, django_user_model):
    user = django_user_model.objects.create(username="ada")
    workflow = models.HumanWorkflow.objects.create()
    by_user = workflow.task_set.create(name="edit")
    by_anonymous = workflow.task_set.create(name="edit")
    unsaved = Task(name="start", workflow=workflow)

    by_user.finish(user)
    by_anonymous.finish(AnonymousUser())
    unsaved.finish()

    by_user.refresh_from_db()
    assert (by_user.status, by_user.completed_by_user) == (Task.SUCCEEDED, user)
    assert by_user.completed is not None
    assert Task.objects.get(pk=by_anonymous.pk).completed_by_user is None
    assert Task.objects.get(pk=unsaved.pk).status == Task.SUCCEEDED


def test_fail_in_an_except_block_as_joeflow(db):
    workflow = models.HumanWorkflow.objects.create()
    task = workflow.task_set.create(name="explode")
    try:
        raise OSError("nope")
    except OSError:
        task.fail()

    task.refresh_from_db()
    assert task.status == Task.FAILED
    assert task.exception == "OSError: nope"
    assert 'raise OSError("nope")' in task.stacktrace
    assert task.completed is None, "as joeflow's rows: a failed task waits for rerun or cancel"
    with pytest.raises(ValueError, match="except block"):
        task.fail()


# 4. lambdas and functions bound to another name are named by their attribute


def test_callables_are_named_by_their_attribute():
    cls = models.CallableNamesWorkflow
    assert (cls.increment.name, cls.add_ten.name, cls.choose.name) == (
        "increment",
        "add_ten",
        "choose",
    )
    assert (cls.add_ten.type, cls.add_ten.workflow_cls) == (tasks.MACHINE, cls)
    assert set(cls.get_graph_spec().nodes) == {
        "start",
        "increment",
        "add_ten",
        "choose",
        "done",
        "skipped",
    }
    errors = [e for e in check_workflows() if e.obj is cls and e.level >= checks.ERROR]
    assert errors == []


def test_the_engine_runs_lambdas_and_aliases_by_name(worker):
    workflow = models.CallableNamesWorkflow.start()

    result(workflow)

    workflow.refresh_from_db()
    assert workflow.count == 11
    assert [name for name, _ in mirror(workflow)] == [
        "start",
        "increment",
        "add_ten",
        "choose",
        "done",
    ]


# 5. save(update_fields), the graph API


def test_save_with_update_fields_updates_modified(db):
    workflow = models.HumanWorkflow.objects.create()
    task = workflow.task_set.create(name="edit")
    workflow_modified, task_modified = workflow.modified, task.modified

    workflow.count = 3
    workflow.save(update_fields=["count"])
    task.save(update_fields=[])

    workflow.refresh_from_db()
    task.refresh_from_db()
    assert (workflow.count, workflow.modified > workflow_modified) == (3, True)
    assert task.modified > task_modified


def test_nodes_as_joeflow():
    cls = ShippingWorkflow
    nodes = list(cls.get_nodes())
    assert all(isinstance(pair, tuple) and len(pair) == 2 for pair in nodes)
    assert dict(nodes)["ship"] is cls.ship
    assert cls.get_node("has_email") is cls.has_email
    with pytest.raises(KeyError):
        cls.get_node("nope")
    assert list(cls.get_next_nodes(cls.has_email)) == [cls.send_tracking_code, cls.end]
    assert list(cls.get_next_nodes(cls.end)) == []
    assert cls.get_url_namespace() == "shippingworkflow"

    start = models.LinearWorkflow.start
    assert (start.name, start.type, start.workflow_cls) == (
        "start",
        tasks.MACHINE,
        models.LinearWorkflow,
    )
    assert start == dict(models.LinearWorkflow.get_nodes())["start"]
    assert list(models.LinearWorkflow.get_next_nodes(start)) == [models.LinearWorkflow.first]
    assert models.SplitJoinWorkflow.join.parents == {"count_up", "review", "approve"}


def test_graph_direction_color_and_output_format(db, monkeypatch):
    monkeypatch.setattr(ShippingWorkflow, "rankdir", "TB")
    assert "rankdir=TB" in ShippingWorkflow.get_graph().source
    assert "flowchart TB" in ShippingWorkflow.get_graph_mermaid()

    grey = ShippingWorkflow.get_graph(color="#888888").source
    assert re.search(r'\tship .*color="#888888"', grey)
    assert re.search(r'checkout -> ship \[color="#888888"\]', grey)

    workflow = ShippingWorkflow.objects.create(shipping_address="Gotham")
    dot = workflow.get_instance_graph_svg(output_format="dot")
    assert dot.startswith("digraph") and "checkout" in dot
    assert workflow.get_instance_graph_svg().startswith("<svg")


# 6. Mermaid


def test_class_graph_mermaid():
    text = ShippingWorkflow.get_graph_mermaid()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    n_checkout("checkout")' in lines, "human tasks are rounded"
    assert '    n_has_email["has_email"]' in lines, "machine tasks are boxes"
    assert "    n_has_email --> n_end" in lines
    assert "    style n_checkout fill:white,stroke:black,stroke-width:2px" in lines, "start bold"
    assert "cdn" not in text.lower() and "<script" not in text


@pytest.fixture
def shipped(db):
    """An instance with every kind of task state, written straight to the mirror."""
    workflow = ShippingWorkflow.objects.create(shipping_address="Gotham")

    def task(name, status, parents=(), type=Task.MACHINE):
        row = workflow.task_set.create(name=name, type=type, status=status)
        row.parent_task_set.set(parents)
        return row

    checkout = task("checkout", Task.SUCCEEDED, type=Task.HUMAN)
    ship = task("ship", Task.SUCCEEDED, [checkout], type=Task.HUMAN)
    has_email = task("has_email", Task.FAILED, [ship])
    override = task("override", Task.SUCCEEDED, [has_email], type=Task.HUMAN)
    end = task("end", Task.SCHEDULED, [override])
    removed = task("removed_task", Task.CANCELED, [ship])
    return workflow, override, end, removed


def test_instance_graph_mermaid_marks_each_state_and_the_edges_taken(shipped):
    workflow, override, end, removed = shipped
    lines = workflow.get_instance_graph_mermaid().splitlines()

    def style(node_id):
        return next(line for line in lines if line.startswith(f"    style {node_id} "))

    def link(edge):
        index = [line for line in lines if " --> " in line or "==>" in line or "-.->" in line]
        return f"    linkStyle {index.index(edge)} "

    assert "fill:#e8f5e9,stroke:#2e7d32" in style("n_ship"), "done"
    assert "stroke:#b00020,color:#b00020,stroke-width:3px" in style("n_has_email"), "failed"
    assert "stroke:#1565c0,stroke-width:2.5px" in style("n_end"), "active"
    assert "fill:white,stroke:#9e9e9e" in style("n_send_tracking_code"), "not reached"
    assert f'    t_{override.pk}("override")' in lines
    assert "stroke-dasharray:5 5" in style(f"t_{override.pk}"), "override is dashed"
    assert "fill:#eeeeee" in style(f"t_{removed.pk}"), "a removed task, canceled"

    taken = "    n_checkout ==> n_ship"
    assert any(line.startswith(link(taken) + "stroke:#000000") for line in lines)
    assert "    n_has_email -.-> n_end" in lines, "not taken: dashed"
    assert f"    n_has_email -.-> t_{override.pk}" in lines
    assert f"    t_{override.pk} -.-> n_end" in lines


def test_mermaid_labels_are_text():
    lines = WelcomeWorkflow.get_graph_mermaid().splitlines()
    assert '    n_end["end"]' in lines, "an id is never the keyword end"


# 7. names


def test_get_workflows_and_get_workflow_as_joeflow():
    found = list(get_workflows())
    assert ShippingWorkflow in found and models.HumanWorkflow in found
    assert get_workflow("demo.ShippingWorkflow") is ShippingWorkflow
    assert get_workflow("DEMO.shippingworkflow") is ShippingWorkflow
    assert get_workflow("demo.Nope") is None


def test_no_dash_digraph_draws_each_node_and_edge_once():
    graph = NoDashDiGraph()
    graph.node("save_the_princess", color="red")
    graph.node("save_the_princess", color="black")
    graph.edge("save_the_princess", "end")
    graph.edge("save_the_princess", "end", style="dashed")
    source = graph.source
    assert source.count('"save the princess" [color=black]') == 1
    assert source.count("->") == 1 and "style=dashed" in source
