"""Graphviz pictures of a workflow: the class (its tasks and edges) and one instance of it.

Rendered server-side with Graphviz's ``dot``: no JavaScript, no CDN.
"""

import graphviz
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

GRAPH_ATTR = {"rankdir": "LR", "fontname": "Helvetica", "bgcolor": "transparent"}
NODE_ATTR = {"fontname": "Helvetica", "fontsize": "11", "shape": "rect", "style": "filled"}
EDGE_ATTR = {"color": "#666666", "arrowsize": "0.7"}

STATUS_STYLE = {
    "succeeded": {"fillcolor": "#e8f5e9", "color": "#2e7d32"},
    "scheduled": {"fillcolor": "#e3f2fd", "color": "#1565c0", "penwidth": "2.5"},
    "failed": {"fillcolor": "#ffcdd2", "color": "#b00020", "penwidth": "3", "fontcolor": "#b00020"},
    "canceled": {"fillcolor": "#eeeeee", "color": "#9e9e9e", "fontcolor": "#757575"},
}
NOT_REACHED = {"fillcolor": "white", "color": "#9e9e9e", "fontcolor": "#616161"}
INSTALL_HINT = (
    "Graphviz's `dot` program is missing: apt-get install graphviz (or brew install graphviz)."
)


def new_graph(name: str) -> graphviz.Digraph:
    return graphviz.Digraph(
        name=name, graph_attr=GRAPH_ATTR, node_attr=NODE_ATTR, edge_attr=EDGE_ATTR
    )


def node_style(node) -> str:
    """Human tasks are rounded, as in joeflow; start tasks are bold."""
    styles = ["filled"]
    if node.type == "human":
        styles.append("rounded")
    if node.kind in ("start", "start_view"):
        styles.append("bold")
    return ",".join(styles)


def workflow_graph(workflow_class) -> graphviz.Digraph:
    spec = workflow_class.get_graph_spec()
    graph = new_graph(workflow_class.__name__)
    for node in spec.nodes.values():
        graph.node(node.name, node.name, style=node_style(node), fillcolor="white")
    for start, end in spec.edges:
        graph.edge(start, end)
    return graph


def instance_graph(workflow) -> graphviz.Digraph:
    """The class's graph with this instance's tasks over it.

    Each node shows the latest task of that name: done, active, failed (red, thick) or canceled.
    Overrides and tasks the class no longer has are drawn dashed, with the edges they took.
    """
    spec = type(workflow).get_graph_spec()
    tasks = list(workflow.task_set.order_by("pk").prefetch_related("parent_task_set"))
    latest = {task.name: task for task in tasks}
    graph = new_graph(f"{type(workflow).__name__} {workflow.pk}")
    for node in spec.nodes.values():
        task = latest.get(node.name)
        style = STATUS_STYLE[task.status] if task else NOT_REACHED
        graph.node(node.name, node.name, style=node_style(node), **style)
    foreign = [task for task in tasks if task.name not in spec.nodes]
    for task in foreign:
        graph.node(
            foreign_id(task),
            task.name,
            style="filled,dashed,rounded",
            **STATUS_STYLE[task.status],
        )
    taken = set()
    for task in tasks:
        for parent in task.parent_task_set.all():
            taken.add((graph_id(parent, spec), graph_id(task, spec)))
    for start, end in spec.edges:
        if (start, end) in taken:
            graph.edge(start, end, color="black", penwidth="1.8")
        else:
            graph.edge(start, end, style="dashed" if latest else "solid")
    for start, end in sorted(taken - set(spec.edges)):
        graph.edge(start, end, color="black", style="dashed")
    return graph


def graph_id(task, spec) -> str:
    return task.name if task.name in spec.nodes else foreign_id(task)


def foreign_id(task) -> str:
    return f"{task.name} #{task.pk}"


def render_svg(graph: graphviz.Digraph) -> SafeString:
    """The graph as inline SVG for a template; a hint instead when ``dot`` is missing."""
    try:
        svg = graph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        return format_html('<p class="graph-missing">{}</p>', INSTALL_HINT)
    return mark_safe(svg[svg.index("<svg") :])  # drop the XML prolog and doctype
