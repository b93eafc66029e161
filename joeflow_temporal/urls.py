"""URL patterns of one workflow class, as ``Workflow.urls()`` returns them."""

from django.urls import path

from joeflow_temporal.views import OverrideView, WorkflowDetailView


def workflow_urlpatterns(workflow_class) -> list:
    patterns = []
    for name, node in workflow_class.get_human_nodes().items():
        view = type(node).as_view(model=workflow_class, name=name, **node._initkwargs)
        route = f"{name}/" if node.node_kind == "start_view" else f"{name}/<int:pk>/"
        patterns.append(path(route, view, name=name))
    patterns += [
        path("<int:pk>/", WorkflowDetailView.as_view(model=workflow_class), name="detail"),
        path("<int:pk>/override", OverrideView.as_view(model=workflow_class), name="override"),
    ]
    return patterns
