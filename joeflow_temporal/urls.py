"""URL patterns of one workflow class, as ``Workflow.urls()`` returns them."""

from django.urls import path
from django.utils.module_loading import import_string


def workflow_urlpatterns(workflow_class) -> list:
    """The human tasks' patterns, then ``detail`` and ``override`` unless the class disables
    them (``detail_view = None``, ``override_view = None``), as joeflow's ``urls()``."""
    patterns = []
    for name, node in workflow_class.get_human_nodes().items():
        view = type(node).as_view(**{**node._initkwargs, "model": workflow_class, "name": name})
        route = f"{name}/" if node.node_kind == "start_view" else f"{name}/<int:pk>/"
        patterns.append(path(route + node.path, view, name=name))
    detail_view = view_class(workflow_class.detail_view)
    if detail_view is not None:
        patterns.append(path("<int:pk>/", detail_view.as_view(model=workflow_class), name="detail"))
    override_view = view_class(workflow_class.override_view)
    if override_view is not None:
        patterns.append(
            path("<int:pk>/override", override_view.as_view(model=workflow_class), name="override")
        )
    return patterns


def view_class(view):
    """A view class, or its dotted path (imported here, when the URLconf loads, so that a
    project's view module may import its models), or None."""
    return import_string(view) if isinstance(view, str) else view
