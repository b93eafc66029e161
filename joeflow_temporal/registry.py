"""The workflow classes installed in this Django project."""


def get_workflows() -> list[type]:
    """Every installed model that is a workflow (a ``Workflow`` subclass with edges)."""
    from joeflow_temporal.models import get_workflows

    return list(get_workflows())
