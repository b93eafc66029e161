"""Graphs of a class and of an instance: golden DOT, valid SVG, the render command."""

import io
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task
from tests.helpers import TESTS
from tests.testapp.models import ApprovalWorkflow

GOLDEN = TESTS / "golden"


def golden(name: str, text: str) -> None:
    """Compare with the stored file; JOEFLOW_UPDATE_GOLDEN=1 rewrites it after a wanted change."""
    path = GOLDEN / name
    if os.environ.get("JOEFLOW_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_class_graph_dot():
    golden("shippingworkflow.dot", ShippingWorkflow.get_graph().source)


def test_human_tasks_are_rounded_and_start_is_bold():
    source = ShippingWorkflow.get_graph().source
    assert re.search(r"checkout .*style=\"filled,rounded,bold\"", source)
    assert re.search(r"\tship .*style=\"filled,rounded\"", source)
    assert re.search(r"has_email .*style=filled\b", source)


@pytest.fixture
def shipped(db):
    """An instance with every kind of task state, written straight to the mirror."""
    workflow = ShippingWorkflow.objects.create(shipping_address="Gotham")

    def task(name, status, parents=(), type=Task.MACHINE):
        row = workflow.task_set.create(
            name=name,
            key=f"golden:{name}",
            type=type,
            status=status,
            content_type=workflow.get_content_type(),
        )
        row.parent_task_set.set(parents)
        return row

    checkout = task("checkout", Task.SUCCEEDED, type=Task.HUMAN)
    ship = task("ship", Task.SUCCEEDED, [checkout], type=Task.HUMAN)
    has_email = task("has_email", Task.FAILED, [ship])
    has_email.exception = "ValueError: boom"
    has_email.save()
    override = task("override", Task.SUCCEEDED, [has_email], type=Task.HUMAN)
    task("end", Task.SCHEDULED, [override])
    task("removed_task", Task.CANCELED, [ship])
    return workflow


def test_instance_graph_dot(shipped):
    source = re.sub(r"(\w) #\d+", r"\1 #N", shipped.get_instance_graph().source)
    source = re.sub(r"ShippingWorkflow \d+", "ShippingWorkflow N", source)
    golden("shippingworkflow_instance.dot", source)


def test_instance_graph_marks_each_state(shipped):
    source = shipped.get_instance_graph().source
    assert re.search(r'has_email .*color="#b00020".*penwidth=3', source), "failed stands out"
    assert re.search(r"end .*penwidth=2.5", source), "active is bold"
    assert re.search(r'"override #\d+" .*dashed', source), "override is its own dashed node"
    assert re.search(r'"removed_task #\d+" .*dashed', source), "a task no longer in the class"
    assert 'send_tracking_code [label=send_tracking_code color="#9e9e9e"' in source


def test_svg_is_inline_xml(shipped):
    for svg in (ShippingWorkflow.get_graph_svg(), shipped.get_instance_graph_svg()):
        assert svg.startswith("<svg")
        ET.fromstring(svg)


def test_render_command_writes_each_format(tmp_path):
    call_command("render_workflow_graph", "demo.shippingworkflow", "-d", str(tmp_path), "-c")
    assert ET.parse(tmp_path / "demo_shippingworkflow.svg").getroot().tag.endswith("svg")
    assert not (tmp_path / "demo_shippingworkflow").exists(), "-c removed the dot file"

    call_command("render_workflow_graph", "-f", "png", "-d", str(tmp_path), verbosity=0)
    assert (tmp_path / "demo_patrolworkflow.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "testapp_linearworkflow").exists(), "all workflows when none is named"


def test_render_command_skips_labels_that_name_no_workflow(tmp_path):
    """As joeflow: a label that is no workflow is skipped (with a warning), the others render."""
    stderr = io.StringIO()
    labels = ["auth.user", "demo.shipment", "auth", "demo.nothing", "demo.shippingworkflow"]

    call_command("render_workflow_graph", *labels, "-d", str(tmp_path), stderr=stderr)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo_shippingworkflow",
        "demo_shippingworkflow.svg",
    ]
    for label in labels[:-1]:
        assert f"Skipped {label!r}: not a workflow" in stderr.getvalue()


def test_render_command_errors_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    with pytest.raises(CommandError, match="apt-get install graphviz"):
        call_command("render_workflow_graph", "demo.shippingworkflow", "-d", str(tmp_path))
    assert "apt-get install graphviz" in ShippingWorkflow.get_graph_svg()


# Human work: on_timeout edges and due dates


def test_class_graph_draws_on_timeout_as_a_dashed_timeout_edge():
    source = ApprovalWorkflow.get_graph().source
    assert re.search(r"review -> escalate \[label=timeout .*style=dashed\]", source)
    assert source.count("review -> escalate") == 1
    assert "review -> end\n" in source, "the task's own edges stay solid"
    assert "n_review -. timeout .-> n_escalate" in ApprovalWorkflow.get_graph_mermaid()
    assert "timeout" not in ShippingWorkflow.get_graph().source, "only classes with on_timeout"


@pytest.fixture
def approval(db):
    """An instance at its review, written straight to the mirror (``due`` set per test)."""
    workflow = ApprovalWorkflow.objects.create()
    start = workflow.task_set.create(name="start", key="g:start", status=Task.SUCCEEDED)
    review = workflow.task_set.create(name="review", key="g:review", type=Task.HUMAN)
    review.parent_task_set.set([start])
    return workflow


def set_due(workflow, due):
    workflow.task_set.filter(name="review").update(due=due)


def test_instance_graph_shows_an_open_task_s_due_date(approval):
    set_due(approval, datetime(2999, 11, 30, 14, 0, tzinfo=UTC))
    source = approval.get_instance_graph().source
    assert re.search(
        r'review \[label=<review<BR/><FONT POINT-SIZE="9">due 30 Nov 14:00</FONT>>', source
    )
    assert "#b00020" not in source, "not overdue"
    assert "review<br/>due 30 Nov 14:00" in approval.get_instance_graph_mermaid()
    ET.fromstring(approval.get_instance_graph_svg())


def test_instance_graph_marks_an_overdue_task_red_and_bold(approval):
    set_due(approval, timezone.now() - timedelta(minutes=1))
    source = approval.get_instance_graph().source
    assert re.search(r'<FONT COLOR="#b00020"><B>due \d+ \w+ \d\d:\d\d</B></FONT>', source)
    mermaid = approval.get_instance_graph_mermaid()
    assert re.search(r"<b>due \d+ \w+ \d\d:\d\d</b>", mermaid)
    assert re.search(r"style n_review .*color:#b00020", mermaid)


def test_instance_graph_shows_no_due_date_once_the_task_is_done(approval):
    set_due(approval, timezone.now() - timedelta(minutes=1))
    approval.task_set.filter(name="review").update(status=Task.SUCCEEDED)
    assert "due " not in approval.get_instance_graph().source
    assert "due " not in approval.get_instance_graph_mermaid()


def test_instance_graph_draws_an_escalation_as_the_taken_timeout_edge(approval):
    review = approval.task_set.get(name="review")
    review.status = Task.CANCELED
    review.due = timezone.now() - timedelta(minutes=1)
    review.save()
    escalate = approval.task_set.create(name="escalate", key="g:escalate", type=Task.HUMAN)
    escalate.parent_task_set.set([review])

    source = approval.get_instance_graph().source
    assert re.search(r"review -> escalate \[label=timeout .*color=black .*style=dashed", source)
    assert source.count("review -> escalate") == 1, "not drawn again as an extra edge"
    assert "due " not in source, "a canceled task shows no due date"
    mermaid = approval.get_instance_graph_mermaid()
    assert mermaid.count("n_review -. timeout .-> n_escalate") == 1
