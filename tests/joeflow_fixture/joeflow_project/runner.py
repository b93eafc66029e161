def leave_queued(*, task_pk, workflow_pk, countdown=None, eta=None):
    """joeflow's task runner hook: leave the task scheduled, as if no worker had taken it yet."""
