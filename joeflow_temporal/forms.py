"""Forms of the workflow pages."""

from django import forms


class OverrideForm(forms.ModelForm):
    """The instance's fields, plus the tasks to start after the override."""

    next_tasks = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Open tasks are canceled; these start next. Choose none to end the instance.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["next_tasks"].choices = [
            (name, name) for name in self.instance.get_graph_spec().nodes
        ]


def override_form_class(workflow_class):
    return forms.modelform_factory(workflow_class, form=OverrideForm, fields="__all__")
