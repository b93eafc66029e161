"""Node kinds, task types and statuses are named once, in the engine spec, as string enums.

Adding a node kind touches the spec, the walker's ``PHASE_OF_KIND`` and the task class; the
rest (model choices, the API's enums, the joeflow import) follows from the enums. The values
are joeflow's strings, so rows, payloads and stored histories keep theirs.
"""

from joeflow_temporal import tasks, typing
from joeflow_temporal.api.filters import TaskFilterSerializer
from joeflow_temporal.api.serializers import NodeSerializer
from joeflow_temporal.engine.payloads import CreatedTask, CreateTask, MachineOutcome, WorkflowRef
from joeflow_temporal.engine.spec import Node, NodeKind, TaskStatus, TaskType
from joeflow_temporal.engine.walker import PHASE_OF_KIND
from joeflow_temporal.models import Task


def test_the_walker_drives_every_kind():
    assert set(PHASE_OF_KIND) == set(NodeKind)


def test_joeflow_names_are_the_enum_members():
    assert Task.SCHEDULED is TaskStatus.SCHEDULED and Task.SCHEDULED == "scheduled"
    assert Task.CANCELED == "canceled" and Task.FAILED == "failed"
    assert Task.HUMAN is TaskType.HUMAN is tasks.HUMAN is typing.HUMAN
    assert tasks.MACHINE == "machine"


def test_choices_come_from_the_enums():
    assert Task.STATUSES == [(s.value, s.value) for s in TaskStatus]
    assert [c for c, _ in Task._meta.get_field("type").choices] == ["human", "machine"]
    assert Task._meta.get_field("status").default == "scheduled"
    assert set(NodeSerializer().fields["kind"].choices) == {k.value for k in NodeKind}
    assert set(TaskFilterSerializer().fields["status"].choices) == {s.value for s in TaskStatus}


def test_payloads_keep_their_json_values():
    ref = WorkflowRef(label="app.flow", pk=1)
    request = CreateTask(workflow=ref, key="k", name="n", type="human", parent_ids=[])
    assert request.type is TaskType.HUMAN
    assert '"type":"human"' in request.model_dump_json()
    assert CreatedTask(task_id=1, status="failed").model_dump(mode="json")["status"] == "failed"
    assert MachineOutcome(status="not_ready").status == "not_ready"
    node = Node.model_validate({"name": "a", "type": "machine", "kind": "start_view"})
    assert node.kind is NodeKind.START_VIEW
