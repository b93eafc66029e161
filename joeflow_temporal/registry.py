"""The workflow classes installed in this Django project."""

from django.apps import apps


def get_workflows() -> list[type]:
    """Every installed model that is a workflow (a ``Workflow`` subclass with edges)."""
    from joeflow_temporal.models import Workflow

    return [
        model
        for model in apps.get_models()
        if issubclass(model, Workflow) and model is not Workflow and model.edges
    ]
