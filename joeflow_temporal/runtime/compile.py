"""A workflow class compiled into the ``Graph`` the walker walks (its tasks and edges as data).

The walker never sees a Django class: each instance's execution gets this spec in its input
(and an override the class's current one), so a worker replays without the class's code.
"""

from functools import cache

from joeflow_temporal.engine import Graph, Node
from joeflow_temporal.engine.spec import NodeKind, TaskType


@cache
def compile_graph(cls) -> Graph:
    """The class's nodes (``get_nodes()``) and ``edges`` as a ``Graph``; cached per class.

    Args:
        cls: a ``Workflow`` subclass with edges.

    Raises:
        TypeError: an edge names something that is no task (system check E001 reports it).
    """
    nodes = {}
    for name, obj in cls.get_nodes():
        kind = getattr(obj, "node_kind", NodeKind.METHOD)
        nodes[name] = Node(
            name=name,
            type=getattr(obj, "type", TaskType.MACHINE),
            kind=kind,
            wait=getattr(obj, "duration", None) if kind == NodeKind.WAIT else None,
            join=tuple(sorted(getattr(obj, "parents", ()))) if kind == NodeKind.JOIN else (),
            local_activity=bool(getattr(obj, "local_activity", False)),
            **human_work(obj) if kind == NodeKind.VIEW else {},
            subworkflow=obj.label if kind == NodeKind.SUBWORKFLOW else None,
            event=obj.event_name if kind == NodeKind.EVENT else None,
        )
    edges = tuple((node_name(start), node_name(end)) for start, end in cls.edges)
    hooks = tuple(hook for hook in HOOKS if overrides_hook(cls, hook))
    return Graph(label=cls._meta.label_lower, nodes=nodes, edges=edges, hooks=hooks)


HOOKS = ("on_task_created", "on_task_assigned", "on_task_reminder")
"""The human-work hooks of ``Workflow``, which the walker runs as activities."""


def human_work(view) -> dict:
    """A human task's ``due``, ``remind_every``, ``on_timeout`` and ``candidate_groups``."""
    return {
        "due": getattr(view, "due", None),
        "remind_every": getattr(view, "remind_every", None),
        "on_timeout": getattr(view, "on_timeout", None),
        "candidate_groups": group_names(getattr(view, "candidate_groups", None)),
    }


def default_hook(method):
    """Mark ``Workflow``'s own hook methods, which a class does not override."""
    method.default_hook = True
    return method


def group_names(groups) -> tuple[str, ...]:
    """The names in ``candidate_groups``; what is no name is left out (check E017 says so)."""
    if isinstance(groups, str) or not isinstance(groups, (list, tuple)):
        return ()
    return tuple(name for name in groups if isinstance(name, str))


def overrides_hook(cls, hook: str) -> bool:
    """Whether ``cls`` has its own ``hook``, not ``Workflow``'s default (marked
    ``default_hook``, which only sends e-mail when ``JOEFLOW_TEMPORAL_NOTIFY_EMAIL``: a
    setting the walker config carries)."""
    method = getattr(cls, hook, None)
    return method is not None and not getattr(method, "default_hook", False)


def node_name(node) -> str:
    """The name of a task object or method in ``edges``.

    Raises:
        TypeError: it has none: it is no task of the workflow.
    """
    name = getattr(node, "name", None) or getattr(node, "__name__", None)
    if not name:
        raise TypeError(f"{node!r} in edges is not a task of the workflow.")
    return name
