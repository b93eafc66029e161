"""The public names of the engine and of tasks are a contract (DESIGN.md): pin them."""

import joeflow_temporal.engine
import joeflow_temporal.tasks


def test_engine_exports():
    assert sorted(joeflow_temporal.engine.__all__) == [
        "CreateTask",
        "EnginePlugin",
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
        "Join",
        "Start",
        "StartView",
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
