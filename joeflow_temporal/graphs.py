"""Pictures of a workflow: the class (its tasks and edges) and one instance of it.

Graphviz graphs are rendered server-side with ``dot``; Mermaid graphs are text for wherever
Mermaid runs. Both draw the same thing in the same colors, and neither loads anything from a CDN.
"""

import graphviz
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from joeflow_temporal.engine.spec import START_KINDS, TaskStatus, TaskType

GRAPH_ATTR = {"fontname": "Helvetica", "bgcolor": "transparent"}
NODE_ATTR = {"fontname": "Helvetica", "fontsize": "11", "shape": "rect", "style": "filled"}
EDGE_COLOR = "#666666"
EDGE_ATTR = {"color": EDGE_COLOR, "arrowsize": "0.7"}
TAKEN = {"color": "black", "penwidth": "1.8"}

STATUS_STYLE = {
    TaskStatus.SUCCEEDED: {"fillcolor": "#e8f5e9", "color": "#2e7d32"},
    TaskStatus.SCHEDULED: {"fillcolor": "#e3f2fd", "color": "#1565c0", "penwidth": "2.5"},
    TaskStatus.FAILED: {
        "fillcolor": "#ffcdd2",
        "color": "#b00020",
        "penwidth": "3",
        "fontcolor": "#b00020",
    },
    TaskStatus.CANCELED: {"fillcolor": "#eeeeee", "color": "#9e9e9e", "fontcolor": "#757575"},
}
NOT_REACHED = {"fillcolor": "white", "color": "#9e9e9e", "fontcolor": "#616161"}
CLASS_NODE = {"fillcolor": "white", "color": "black"}
INSTALL_HINT = (
    "Graphviz's `dot` program is missing: apt-get install graphviz (or brew install graphviz)."
)


def new_graph(name: str, rankdir: str) -> graphviz.Digraph:
    return graphviz.Digraph(
        name=name,
        graph_attr={**GRAPH_ATTR, "rankdir": rankdir},
        node_attr=NODE_ATTR,
        edge_attr=EDGE_ATTR,
    )


def is_start(node) -> bool:
    return node.kind in START_KINDS


def node_style(node) -> str:
    """Human tasks are rounded, as in joeflow; start tasks are bold."""
    styles = ["filled"]
    if node.type == TaskType.HUMAN:
        styles.append("rounded")
    if is_start(node):
        styles.append("bold")
    return ",".join(styles)


def workflow_graph(workflow_class, color: str | None = None) -> graphviz.Digraph:
    """The class's graph; ``color`` (if given) draws every node and edge in that color."""
    spec = workflow_class.get_graph_spec()
    graph = new_graph(workflow_class.__name__, workflow_class.rankdir)
    colored = {"color": color, "fontcolor": color} if color else {}
    for node in spec.nodes.values():
        graph.node(node.name, node.name, style=node_style(node), fillcolor="white", **colored)
    for start, end in spec.edges:
        graph.edge(start, end, **({"color": color} if color else {}))
    return graph


class InstanceState:
    """What an instance's pictures show: the latest task of each node, tasks the class does not
    have (overrides, tasks a deploy removed) and the edges the instance took."""

    def __init__(self, workflow):
        self.spec = type(workflow).get_graph_spec()
        tasks = list(workflow.task_set.order_by("pk").prefetch_related("parent_task_set"))
        self.latest = {task.name: task for task in tasks}
        self.foreign = {
            foreign_id(task): task for task in tasks if task.name not in self.spec.nodes
        }
        self.taken = {
            (self.graph_id(parent), self.graph_id(task))
            for task in tasks
            for parent in task.parent_task_set.all()
        }

    def graph_id(self, task) -> str:
        return task.name if task.name in self.spec.nodes else foreign_id(task)

    def status_style(self, name: str) -> dict:
        task = self.latest.get(name)
        return STATUS_STYLE[task.status] if task else NOT_REACHED

    def extra_edges(self) -> list[tuple[str, str]]:
        """Taken edges the class does not have (to and from overrides and removed tasks)."""
        return sorted(self.taken - set(self.spec.edges))


def instance_graph(workflow) -> graphviz.Digraph:
    """The class's graph with this instance's tasks over it.

    Each node shows the latest task of that name: done, active, failed (red, thick) or canceled.
    Overrides and tasks the class no longer has are drawn dashed, with the edges they took.
    """
    state = InstanceState(workflow)
    graph = new_graph(f"{type(workflow).__name__} {workflow.pk}", type(workflow).rankdir)
    for node in state.spec.nodes.values():
        graph.node(node.name, node.name, style=node_style(node), **state.status_style(node.name))
    for task in state.foreign.values():
        graph.node(
            foreign_id(task),
            task.name,
            style="filled,dashed,rounded",
            **STATUS_STYLE[task.status],
        )
    for start, end in state.spec.edges:
        if (start, end) in state.taken:
            graph.edge(start, end, **TAKEN)
        else:
            graph.edge(start, end, style="dashed" if state.latest else "solid")
    for start, end in state.extra_edges():
        graph.edge(start, end, color="black", style="dashed")
    return graph


def foreign_id(task) -> str:
    return f"{task.name} #{task.pk}"


def render(graph: graphviz.Digraph, output_format: str = "svg") -> str:
    """The graph in a text format of Graphviz: SVG (HTML-safe, inline), or e.g. ``dot``."""
    if output_format == "svg":
        return render_svg(graph)
    return graph.pipe(format=output_format, encoding="utf-8")


def render_svg(graph: graphviz.Digraph) -> SafeString:
    """The graph as inline SVG for a template; a hint instead when ``dot`` is missing."""
    try:
        svg = graph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        return format_html('<p class="graph-missing">{}</p>', INSTALL_HINT)
    return mark_safe(svg[svg.index("<svg") :])  # drop the XML prolog and doctype


# Mermaid


class Mermaid:
    """A Mermaid ``flowchart``: nodes and edges first, then their styles (edges by index)."""

    def __init__(self, rankdir: str):
        self.lines = [f"flowchart {rankdir}"]
        self.styles: list[str] = []
        self.edge_count = 0

    def node(self, node_id: str, label: str, rounded: bool, style: dict, **extra: str) -> None:
        text = f'"{mermaid_text(label)}"'
        self.lines.append(f"    {node_id}({text})" if rounded else f"    {node_id}[{text}]")
        self.styles.append(f"    style {node_id} {mermaid_css(style, **extra)}")

    def edge(self, start: str, end: str, arrow: str, color: str, width: str = "1px") -> None:
        self.lines.append(f"    {start} {arrow} {end}")
        self.styles.append(f"    linkStyle {self.edge_count} stroke:{color},stroke-width:{width}")
        self.edge_count += 1

    def text(self) -> str:
        return "\n".join(self.lines + self.styles) + "\n"


def mermaid_id(name: str) -> str:
    """A node id that is never a Mermaid keyword (``end``): task names are identifiers."""
    return f"n_{name}"


def mermaid_text(label: str) -> str:
    """A label as Mermaid shows it literally inside quotes (entity codes for the rest)."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        label = label.replace(char, code)
    return label


def mermaid_css(style: dict, **extra: str) -> str:
    """Graphviz attributes (``STATUS_STYLE``) as the CSS of a Mermaid ``style`` line."""
    css = {
        "fill": style.get("fillcolor"),
        "stroke": style.get("color"),
        "color": style.get("fontcolor"),
        "stroke-width": f"{style['penwidth']}px" if "penwidth" in style else None,
    }
    css.update(extra)
    return ",".join(f"{key}:{value}" for key, value in css.items() if value)


def mermaid_node_style(node, **extra: str) -> dict:
    """Start tasks are bold, as in the Graphviz graphs (unless the status draws thicker)."""
    return {"stroke-width": "2px", **extra} if is_start(node) else extra


def workflow_mermaid(workflow_class) -> str:
    spec = workflow_class.get_graph_spec()
    chart = Mermaid(workflow_class.rankdir)
    for node in spec.nodes.values():
        chart.node(
            mermaid_id(node.name),
            node.name,
            node.type == TaskType.HUMAN,
            CLASS_NODE,
            **mermaid_node_style(node),
        )
    for start, end in spec.edges:
        chart.edge(mermaid_id(start), mermaid_id(end), "-->", EDGE_COLOR)
    return chart.text()


def instance_mermaid(workflow) -> str:
    """As ``instance_graph``: taken edges thick and black, the others dashed once it started."""
    state = InstanceState(workflow)
    chart = Mermaid(type(workflow).rankdir)
    for node in state.spec.nodes.values():
        style = state.status_style(node.name)
        extra = {} if "penwidth" in style else mermaid_node_style(node)
        chart.node(mermaid_id(node.name), node.name, node.type == TaskType.HUMAN, style, **extra)
    for task in state.foreign.values():
        chart.node(
            f"t_{task.pk}",
            task.name,
            True,
            STATUS_STYLE[task.status],
            **{"stroke-dasharray": "5 5"},
        )

    def chart_id(graph_id: str) -> str:
        task = state.foreign.get(graph_id)
        return f"t_{task.pk}" if task else mermaid_id(graph_id)

    for start, end in state.spec.edges:
        if (start, end) in state.taken:
            chart.edge(mermaid_id(start), mermaid_id(end), "==>", "#000000", "2px")
        else:
            chart.edge(
                mermaid_id(start), mermaid_id(end), "-.->" if state.latest else "-->", EDGE_COLOR
            )
    for start, end in state.extra_edges():
        chart.edge(chart_id(start), chart_id(end), "-.->", "#000000")
    return chart.text()
