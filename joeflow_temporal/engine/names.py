"""Names that cross the boundary between Django and Temporal: a contract, keep them stable."""

WORKFLOW_TYPE = "joeflow"
SCHEDULED_START_TYPE = "joeflow.scheduled_start"
"""The workflow a Temporal Schedule of a ``Start(schedule=...)`` node starts at each firing."""

SEARCH_ATTRIBUTE = "JoeflowWorkflow"

# Signals
COMPLETE_TASK = "complete_task"
OVERRIDE = "override"
RERUN_TASK = "rerun_task"
CANCEL_TASK = "cancel_task"
CANCEL = "cancel"
TASK_ASSIGNED = "task_assigned"
"""``task_assigned(TaskAssigned)``: run the ``on_task_assigned`` hook after a claim or assign."""

CHILD_ENDED = "child_ended"
"""``child_ended(ChildEnded)``: a child instance tells its parent it has ended."""
EVENT_SENT = "event_sent"
"""``event_sent(SentEvent)``: an event was recorded for the instance (sent before the commit)."""

# Queries
STATE = "state"
IDLE = "idle"
"""True when every open task waits on something outside the engine: a human, a timer, a join
or a rerun (no activity in flight, no signal being handled); False while it works or ends."""
FOLLOWED = "followed"
"""``followed(task_id)``: True once the walker has handled what happened to that task (its
completion, start, rerun, cancel or override) and mirrored the tasks that directly follow it."""

# Activities
CREATE_TASK = "joeflow.create_task"
CREATE_HUMAN_TASK = "joeflow.create_human_task"
RUN_MACHINE_TASK = "joeflow.run_machine_task"
CONFIRM_TASK = "joeflow.confirm_task"
CANCEL_TASKS = "joeflow.cancel_tasks"
FINISH_WORKFLOW = "joeflow.finish_workflow"
RUN_HOOK = "joeflow.run_hook"
TIME_OUT_TASK = "joeflow.time_out_task"
CREATE_CHILDREN = "joeflow.create_children"
CONSUME_EVENT = "joeflow.consume_event"
START_SCHEDULED = "joeflow.start_scheduled"


def schedule_id(label: str, node: str) -> str:
    """The Temporal Schedule id of a scheduled start node: ``<app_label>.<model_name>.<node>``."""
    return f"{label}.{node}"


def workflow_id(label: str, pk: object) -> str:
    """The Temporal workflow id of an instance: ``<app_label>.<model_name>.<pk>``."""
    return f"{label}.{pk}"
