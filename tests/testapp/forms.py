"""A project's own forms for the workflow pages."""

from joeflow_temporal.forms import OverrideForm


class NotingOverrideForm(OverrideForm):
    """A project's override form: every override notes who made it, on the page and in the admin."""

    def start_next_tasks(self, user=None):
        self.instance.choice = f"overridden by {user.username}"
        self.instance.save(update_fields=["choice"])
        return super().start_next_tasks(user)
