"""Names that cross the boundary between Django and Temporal: a contract, keep them stable."""

WORKFLOW_TYPE = "joeflow"

SEARCH_ATTRIBUTE = "JoeflowWorkflow"

# Signals
COMPLETE_TASK = "complete_task"
OVERRIDE = "override"
RERUN_TASK = "rerun_task"
CANCEL_TASK = "cancel_task"
CANCEL = "cancel"

# Query
STATE = "state"

# Activities
CREATE_TASK = "joeflow.create_task"
RUN_MACHINE_TASK = "joeflow.run_machine_task"
CONFIRM_TASK = "joeflow.confirm_task"
CANCEL_TASKS = "joeflow.cancel_tasks"
FINISH_WORKFLOW = "joeflow.finish_workflow"


def workflow_id(label: str, pk: object) -> str:
    """The Temporal workflow id of an instance: ``<app_label>.<model_name>.<pk>``."""
    return f"{label}.{pk}"
