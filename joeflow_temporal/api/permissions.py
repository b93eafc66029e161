"""Who may do what: joeflow's permission codenames, and assignee-only human tasks."""

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


class IsAssigneeOrUnassigned(BasePermission):
    """A task with assignees is theirs (and superusers'), as the HTML task views decide; the
    refusal names the assignees, as the task page does."""

    message = "This task is assigned to someone else."

    def has_object_permission(self, request, view, obj):
        if obj.can_be_completed_by(request.user):
            return True
        self.message = refusals.not_assignee(obj).message
        return False
