"""The workflow classes installed in this Django project."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from joeflow_temporal.models import Workflow


def get_workflows() -> "list[type[Workflow]]":
    """Every installed model that is a workflow (a ``Workflow`` subclass with edges)."""
    from joeflow_temporal.models import get_workflows

    return list(get_workflows())
