"""URL patterns of one workflow class, as ``Workflow.urls()`` returns them."""

import logging

from django.urls import path
from django.utils.module_loading import import_string

from joeflow_temporal.engine.spec import NodeKind

logger = logging.getLogger(__name__)

PAGE_NAMES = ("detail", "override")
"""The URL names of an instance's own pages, which no human task may take (check E006)."""


def workflow_urlpatterns(workflow_class) -> list:
    """The human tasks' patterns, then ``detail`` and ``override`` unless the class disables
    them (``detail_view = None``, ``override_view = None``), as joeflow's ``urls()``.

    A task whose view or pattern cannot be built is left out and logged as an error (system
    check E013 names it), so that one bad task does not take the project's URLconf down.
    """
    patterns = []
    for name, node in workflow_class.get_human_nodes().items():
        try:
            patterns.append(task_urlpattern(workflow_class, name, node))
        except Exception as error:  # whatever Django's view and URL machinery raise
            logger.error(
                "%s: the human task %r has no URL: %s (manage.py check, joeflow_temporal.E013)",
                workflow_class._meta.label_lower,
                name,
                error,
            )
    detail_view = view_class(workflow_class.detail_view)
    if detail_view is not None:
        patterns.append(path("<int:pk>/", detail_view.as_view(model=workflow_class), name="detail"))
    override_view = view_class(workflow_class.override_view)
    if override_view is not None:
        patterns.append(
            path("<int:pk>/override", override_view.as_view(model=workflow_class), name="override")
        )
    return patterns


def task_urlpattern(workflow_class, name: str, node):
    """The URL pattern of one human task: ``<name>/`` for a start view, else
    ``<name>/<int:pk>/``, then the view's ``path`` postfix.

    Raises:
        TypeError, ImproperlyConfigured, re.error: the view takes arguments it has no
            attributes for, or the pattern does not parse (compiled here, not on a request).
    """
    view = type(node).as_view(**{**node._initkwargs, "model": workflow_class, "name": name})
    route = f"{name}/" if node.node_kind == NodeKind.START_VIEW else f"{name}/<int:pk>/"
    pattern = path(route + node.path, view, name=name)
    pattern.pattern.regex  # noqa: B018  (compiles the route)
    return pattern


def view_class(view):
    """A view class, or its dotted path (imported here, when the URLconf loads, so that a
    project's view module may import its models), or None."""
    return import_string(view) if isinstance(view, str) else view
