"""Forms of the workflow pages."""

from collections.abc import Iterator

from django import forms

from joeflow_temporal import overrides, refusals
from joeflow_temporal.engine.spec import START_KINDS

COMMENT_MAX_LENGTH = 2000
"""Characters of a comment (rerun, cancel, override): it travels in a Temporal signal too."""


class OverrideForm(forms.ModelForm):
    """The instance's fields, plus what to do with the instance: start chosen tasks after
    canceling the open ones, or end it (joeflow's form, with an explicit end).

    Saving with neither only saves the fields: the open tasks keep running. The override page
    and the admin call ``start_next_tasks(user)`` after saving the instance when
    ``override_chosen()``, so a project's subclass changes both.
    """

    next_tasks = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The open tasks are canceled and these start next. Choose none to keep the "
        "open tasks running (saving then only changes the fields).",
    )
    end_instance = forms.BooleanField(
        required=False,
        label="End the instance",
        help_text="Cancel the open tasks and start nothing: the instance ends.",
    )
    override_comment = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you override: kept on the canceled tasks and shown in the instance's "
        "Temporal history.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["next_tasks"].choices = [
            (name, name) for name in overrides.override_choices(self.instance.get_graph_spec())
        ]
        if self.instance.completed:
            for name in ("next_tasks", "end_instance", "override_comment"):
                self.fields[name].disabled = True
            self.fields["next_tasks"].help_text = refusals.instance_ended(
                self.instance, "override"
            ).message
            self.fields["end_instance"].help_text = "It has ended already."

    def clean(self):
        cleaned_data = super().clean()
        next_tasks = cleaned_data.get("next_tasks") or []
        if next_tasks and cleaned_data.get("end_instance"):
            self.add_error("end_instance", "Choose next tasks or end the instance, not both.")
        for message in overrides.refuse_next_tasks(self.instance.get_graph_spec(), next_tasks):
            self.add_error("next_tasks", message)
        return cleaned_data

    def override_chosen(self) -> bool:
        """Whether the user chose next tasks or to end the instance (after validation)."""
        return bool(self.cleaned_data.get("next_tasks") or self.cleaned_data.get("end_instance"))

    def get_next_task_nodes(self) -> Iterator[object]:
        """The chosen tasks as the workflow class's task objects (views, methods, ``Wait``…).

        Call it after validation; override it to start other tasks than the chosen ones.
        """
        for name in self.cleaned_data["next_tasks"]:
            yield self._meta.model.get_node(name)

    def start_next_tasks(self, user=None):
        """Cancel the instance's open tasks, record an ``override`` task by ``user`` and start
        ``get_next_task_nodes()`` after it (none: the instance ends), as joeflow's form does;
        the ``override_comment`` field ("Comment") says why. (Not ``comment``: the models of
        many projects have a field of that name, which the form edits.)

        Goes through ``Workflow.override``: the rows and the signal to the execution are
        written in one transaction. Returns the ``override`` Task.

        Raises:
            ValueError: the tasks would leave the instance stuck (see ``Workflow.override``).
            InstanceNotRunning: the instance has ended.
            TemporalUnavailable: Temporal cannot be reached; nothing was written.
        """
        from joeflow_temporal.runtime.compile import node_name

        next_tasks = [node_name(node) for node in self.get_next_task_nodes()]
        comment = self.cleaned_data.get("override_comment", "")
        return self.instance.override(next_tasks, user=user, comment=comment)


class StartForm(forms.ModelForm):
    """A new instance's fields, plus the start task it starts at (the admin's add page).

    After saving the instance, ``start(user)`` records that start task as completed by
    ``user`` and starts the instance's execution, as a start view does; inside a transaction,
    both are written or neither. A class without a start task has no choice to offer.
    """

    start_at = forms.ChoiceField(
        help_text="The new instance starts here, as if you had just completed this start task."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = start_task_names(self._meta.model)
        self.fields["start_at"].choices = [(name, name) for name in names]
        if len(names) == 1:
            self.fields["start_at"].initial = names[0]

    def start(self, user=None):
        """Record the chosen start task and start the saved instance's execution; returns
        the start Task.

        Raises:
            TemporalUnavailable: Temporal cannot be reached (roll the transaction back).
        """
        return self.instance.start_engine(self.cleaned_data["start_at"], user=user)


def start_task_names(workflow_class) -> list[str]:
    """The names of the class's start tasks (``Start`` and start views), in graph order.

    Read from the task objects, not the compiled graph: the admin asks on every page, and a
    class whose graph does not compile (a system check error) must not take those down.
    """
    return [
        name
        for name, node in workflow_class.get_nodes()
        if getattr(node, "node_kind", None) in START_KINDS
    ]
