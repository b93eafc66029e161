"""The public names of the engine and of tasks are a contract (DESIGN.md): pin them."""

import joeflow_temporal
import joeflow_temporal.engine
import joeflow_temporal.models
import joeflow_temporal.tasks
import joeflow_temporal.typing
import joeflow_temporal.utils


def test_engine_exports():
    assert sorted(joeflow_temporal.engine.__all__) == [
        "CancelRequest",
        "CreateTask",
        "Graph",
        "MachineOutcome",
        "Node",
        "OpenTask",
        "OverrideRequest",
        "Phase",
        "RunMachineTask",
        "TaskRef",
        "WalkerConfig",
        "WalkerInput",
        "WalkerState",
        "WorkflowRef",
        "names",
    ]


def test_task_exports():
    assert sorted(joeflow_temporal.tasks.__all__) == [
        "Event",
        "HUMAN",
        "Join",
        "MACHINE",
        "Start",
        "StartView",
        "Subworkflow",
        "UpdateView",
        "Wait",
        "local_activity",
    ]


def test_temporal_names():
    names = joeflow_temporal.engine.names
    assert names.WORKFLOW_TYPE == "joeflow"
    assert names.SEARCH_ATTRIBUTE == "JoeflowWorkflow"
    assert (names.COMPLETE_TASK, names.OVERRIDE, names.RERUN_TASK, names.CANCEL_TASK) == (
        "complete_task",
        "override",
        "rerun_task",
        "cancel_task",
    )
    assert (names.CANCEL, names.STATE) == ("cancel", "state")
    assert (names.IDLE, names.FOLLOWED) == ("idle", "followed")
    assert names.TASK_ASSIGNED == "task_assigned"
    assert (names.CHILD_ENDED, names.EVENT_SENT) == ("child_ended", "event_sent")


def test_joeflow_names():
    """What joeflow projects import keeps its name (joeflow 2's typing, utils, models, version)."""
    assert joeflow_temporal.typing.__all__ == ["HUMAN", "MACHINE"]
    assert (joeflow_temporal.tasks.HUMAN, joeflow_temporal.tasks.MACHINE) == ("human", "machine")
    assert joeflow_temporal.utils.__all__ == ["NoDashDiGraph"]
    assert sorted(joeflow_temporal.models.__all__) == [
        "Task",
        "Workflow",
        "WorkflowEvent",
        "get_workflow",
        "get_workflows",
    ]
    assert isinstance(joeflow_temporal.__version__, str)
    assert joeflow_temporal.VERSION == tuple(map(int, joeflow_temporal.__version__.split(".")))
