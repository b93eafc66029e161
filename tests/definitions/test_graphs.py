"""Graphs of a class and of an instance: golden DOT, valid SVG, the render command."""

import io
import os
import re
import xml.etree.ElementTree as ET

import pytest
from django.core.management import CommandError, call_command

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task
from tests.helpers import TESTS

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
