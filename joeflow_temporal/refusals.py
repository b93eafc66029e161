"""What a refused request tells its user: what happened to the task or instance, what to do.

The HTML pages and the REST API ask these functions, so a page and a JSON ``detail`` say the
same thing. Each returns a ``Refused`` (message, HTTP status, API error code) or None; a view
renders it, the API raises it (``api.exceptions`` translates it).

A task's status and type constants are read from the task itself (``task.FAILED``): ``models``
imports this module, so it never imports ``models``.
"""

from django.utils import formats, timezone
from django.utils.text import capfirst

from joeflow_temporal.engine.spec import NodeKind, TaskStatus
from joeflow_temporal.exceptions import InstanceNotRunning, Refused

OVERRIDE_HINT = (
    "Ask someone with the override permission (joeflow_temporal.override) to move the instance on."
)


def on(moment) -> str:
    """`` on <time>``, as the project formats dates (``DATETIME_FORMAT``, its time zone);
    nothing for no time (rows imported from joeflow may lack one)."""
    if moment is None:
        return ""
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return f" on {formats.date_format(moment, 'DATETIME_FORMAT')}"


def sentence(text: str) -> str:
    """``text`` ended by one full stop (a time may end in one already: "p.m.")."""
    return text if text.endswith(".") else f"{text}."


def who(user) -> str:
    return user.get_username() if user is not None else "someone"


def task_label(task) -> str:
    return f"Task {task.name} #{task.pk}"


def task_state(task) -> str:
    """One sentence on what became of the task: who completed or canceled it and when, why it
    failed, or that it is still open. ``Task.locked`` raises ``TaskNotScheduled`` with it."""
    label = task_label(task)
    if task.status == task.SUCCEEDED:
        by = f" by {who(task.completed_by_user)}" if task.completed_by_user else ""
        return sentence(f"{label} was completed{by}{on(task.completed)}")
    if task.status == task.CANCELED:
        why = f" ({task.comment.rstrip('.')})" if task.comment else ""
        return sentence(f"{label} was canceled{on(task.completed)}{cancel_cause(task)}{why}")
    if task.status == task.FAILED:
        return sentence(f"{label} failed: {task.exception or 'no message'}")
    return f"{label} is still open (scheduled)."


def cancel_cause(task) -> str:
    """Why a canceled task was: the override or instance cancel recorded after it, or a user."""
    action = task.child_task_set.filter(name__in=["override", "cancel"]).first()
    by = who(task.completed_by_user)
    if action is not None and action.name == "override":
        return f" by an override by {by}"
    if action is not None:
        return f", when {by} canceled the instance"
    return f" by {by}" if task.completed_by_user else ""


NOT_SAVED = "Your changes were not saved. "
COMPLETE_ADVICE = {
    TaskStatus.SUCCEEDED: "The instance's page shows where it stands now.",
    TaskStatus.CANCELED: "The instance's page shows where it stands now.",
    TaskStatus.FAILED: "Someone with the rerun permission (joeflow_temporal.rerun) can rerun it "
    "once the cause is fixed.",
}


def refuse_completion(task, user=None, *, submitted: bool = True) -> Refused | None:
    """Why ``task`` cannot be completed now (by ``user``, if given), or None.

    409 for a task that is not a scheduled human task of a node the class still has; 403 for
    a task assigned to others. The state comes first: a closed task is refused as closed.
    ``submitted``: the refused request carried changes (a form posted, a completion), so the
    message says they were not saved; a page only opened is told what became of the task.
    """
    if task.type != task.HUMAN:
        return Refused(
            f"{task_label(task)} is a machine task: the engine runs it, and nobody completes "
            "it by hand.",
            code="machine_task",
        )
    if task.status != task.SCHEDULED:
        not_saved = NOT_SAVED if submitted else ""
        return Refused(
            f"{task_state(task)} {not_saved}{COMPLETE_ADVICE[task.status]}", code="task_closed"
        )
    if task.node is None:
        return node_removed(task)
    if user is not None and not task.can_be_completed_by(user):
        return not_assignee(task) if task.assignees.exists() else not_candidate(task)
    return None


def node_removed(task) -> Refused:
    cls = type(task.workflow)
    return Refused(
        f"{task_label(task)} is open, but a deploy removed the task {task.name!r} from "
        f"{cls.__name__}, so nothing can complete it any more. {OVERRIDE_HINT}",
        code="node_removed",
    )


def not_assignee(task) -> Refused:
    names = ", ".join(sorted(who(user) for user in task.assignees.all()))
    return Refused(
        f"{task_label(task)} is assigned to {names}: only they (or a superuser) may complete "
        "it. Ask one of them, or someone who may change its assignees in the admin.",
        status=403,
        code="assigned_to_others",
    )


def refuse_claim(task, user) -> Refused | None:
    """Why ``user`` may not claim ``task`` (become its sole assignee), or None.

    409 for a task someone else has (``unclaim`` or ``assign`` first); 403 for a user who may
    not complete it (not in its candidate groups). Its sole assignee claiming it again is no
    refusal.
    """
    refused = refuse_completion(task, submitted=False)
    if refused is not None:
        return refused
    assignees = list(task.assignees.all())
    if assignees == [user]:
        return None
    if assignees:
        names = ", ".join(sorted(who(assignee) for assignee in assignees))
        return Refused(
            f"{task_label(task)} is claimed by {names}. They can unclaim it or assign it to "
            "you; so can someone with the assign permission (joeflow_temporal.assign).",
            code="claimed_by_others",
        )
    if not (user.is_superuser or task.is_offered_to(user)):
        return not_candidate(task)
    return None


def refuse_unclaim(task, user) -> Refused | None:
    """Why ``user`` may not give ``task`` back to its candidates, or None: 409 if nobody has it,
    403 unless the user is an assignee, may assign tasks, or is a superuser."""
    refused = refuse_completion(task, submitted=False)
    if refused is not None:
        return refused
    assignees = list(task.assignees.all())
    if not assignees:
        return Refused(f"{task_label(task)} is not claimed by anyone.", code="not_claimed")
    if user in assignees or user.has_perm("joeflow_temporal.assign"):
        return None
    return Refused(
        f"{task_label(task)} is assigned to "
        f"{', '.join(sorted(who(a) for a in assignees))}: only they, or someone with the assign "
        "permission (joeflow_temporal.assign), may unclaim it.",
        status=403,
        code="permission_denied",
    )


def refuse_assign(task, user) -> Refused | None:
    """Why ``user`` may not set ``task``'s assignees, or None: allowed with the permission
    ``joeflow_temporal.assign`` (superusers have it) or to a current assignee delegating."""
    refused = refuse_completion(task, submitted=False)
    if refused is not None:
        return refused
    if user.has_perm("joeflow_temporal.assign") or user in task.assignees.all():
        return None
    return Refused(
        f"You may not assign {task_label(task)}: that takes the assign permission "
        "(joeflow_temporal.assign), or being one of its assignees (to delegate it).",
        status=403,
        code="permission_denied",
    )


def not_candidate(task) -> Refused:
    names = sorted(group.name for group in task.candidate_groups.all())
    groups = f"the group {names[0]}" if len(names) == 1 else f"the groups {', '.join(names)}"
    return Refused(
        f"{task_label(task)} is offered to {groups}: only their members (or a "
        "superuser) may claim or complete it. Ask an administrator to add you to one of them.",
        status=403,
        code="not_candidate",
    )


def refuse_task_action(task, action: str) -> Refused | None:
    """Why ``action`` (``rerun`` or ``cancel``) does not apply to ``task`` now, or None."""
    if action == "rerun" and task.status != task.FAILED:
        return Refused(f"{task_state(task)} Only a failed task can be rerun.", code="not_failed")
    if action == "cancel" and task.status not in (task.SCHEDULED, task.FAILED):
        return Refused(
            f"{task_state(task)} Only a scheduled or failed task can be canceled.",
            code="task_closed",
        )
    return None


INSTANCE_ADVICE = {
    "complete": "Nothing was saved.",
    "override": "An override cannot move an ended instance on; start a new instance instead.",
    "cancel": "There is nothing left to cancel.",
    "rerun": "Nothing can run in it any more.",
    "claim": "Nothing was changed.",
    "unclaim": "Nothing was changed.",
    "assign": "Nothing was changed.",
    "send_event": "The event was not recorded.",
}


def instance_ended(instance, action: str) -> Refused:
    """The refusal of ``action`` on an instance whose execution has ended.

    Says how it ended (canceled by whom, or finished) and when; an instance the database still
    shows running (its execution terminated in Temporal, say) is named for an administrator.
    """
    advice = INSTANCE_ADVICE[action]
    if instance.completed is None:
        return Refused(
            f"The engine no longer runs {instance} (its Temporal execution "
            f"{instance.temporal_workflow_id} has ended, though the database shows the instance "
            f"running). {advice} Ask an administrator to look at it in the Temporal web UI.",
            code="instance_not_running",
        )
    cancel = instance.task_set.filter(name="cancel").order_by("-pk").first()
    how = f"was canceled by {who(cancel.completed_by_user)}" if cancel else "ended"
    return Refused(
        f"{sentence(f'{capfirst(str(instance))} {how}{on(instance.completed)}')} {advice}",
        code="instance_not_running",
    )


def refuse_start(cls, name: str) -> Refused | None:
    """Why ``name`` cannot start an instance of ``cls`` through the API, or None (a 404)."""
    nodes = dict(cls.get_nodes())
    start_views = [
        n for n, node in nodes.items() if getattr(node, "node_kind", "") == NodeKind.START_VIEW
    ]
    if name in start_views:
        return None
    if not start_views:
        how = f"{cls.__name__} has no start view to call."
    else:
        how = f"Its start views: {', '.join(start_views)}."
    kind = getattr(nodes.get(name), "node_kind", None)
    if kind == NodeKind.START:
        what = f"{name!r} is a tasks.Start(), which starts instances from code."
    elif name in nodes:
        what = f"{name!r} is a task inside an instance of {cls.__name__}, not a start view."
    else:
        what = f"{cls.__name__} has no start view {name!r} (a deploy may have removed it)."
    return Refused(f"{what} {how}", status=404, code="no_start_view")


def explain(error: Exception, action: str, *, task=None, instance=None) -> Refused:
    """The refusal for a ``TaskNotScheduled`` or ``InstanceNotRunning`` that ``action``
    (``complete``, ``rerun``, ``cancel``, ``override``) raised: the state of the task or
    instance as the database has it now (call it after the action's rollback)."""
    if isinstance(error, InstanceNotRunning):
        instance = instance if instance is not None else task.workflow
        instance.refresh_from_db(fields=["completed"])
        return instance_ended(instance, action)
    if task is None:
        return Refused(str(error))
    task.refresh_from_db()
    if action == "complete":
        refused = refuse_completion(task)
    else:
        refused = refuse_task_action(task, action)
    return refused or Refused(str(error))
