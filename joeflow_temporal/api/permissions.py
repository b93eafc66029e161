"""Who may do what: joeflow's permission codenames, and who may complete a human task."""

from rest_framework.permissions import BasePermission

from joeflow_temporal import refusals


class HasPermission(BasePermission):
    """The user holds ``perm`` (superusers hold every permission)."""

    perm: str = ""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm(self.perm))


class CanOverride(HasPermission):
    perm = "joeflow_temporal.override"
    message = "You may not override workflow instances (permission joeflow_temporal.override)."


class CanRerun(HasPermission):
    perm = "joeflow_temporal.rerun"
    message = "You may not rerun tasks (permission joeflow_temporal.rerun)."


class CanCancel(HasPermission):
    perm = "joeflow_temporal.cancel"
    message = "You may not cancel tasks or instances (permission joeflow_temporal.cancel)."


class CanSendEvent(HasPermission):
    perm = "joeflow_temporal.send_event"
    message = (
        "You may not send events to workflow instances (permission joeflow_temporal.send_event)."
    )


class CanComplete(BasePermission):
    """Who may complete a human task (``Task.can_be_completed_by``): a superuser, an assignee,
    or, while it has no assignees, anyone or a member of one of its candidate groups. The
    refusal names the assignees or the groups, as the task page does."""

    message = "You may not complete this task."

    def has_object_permission(self, request, view, obj):
        if obj.can_be_completed_by(request.user):
            return True
        refuse = refusals.not_assignee if obj.assignees.exists() else refusals.not_candidate
        refused = refuse(obj)
        self.message, self.code = refused.message, refused.code
        return False
