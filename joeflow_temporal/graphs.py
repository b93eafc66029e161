"""Pictures of a workflow: the class (its tasks and edges) and one instance of it.

Graphviz graphs are rendered server-side with ``dot``; Mermaid graphs are text for wherever
Mermaid runs. Both draw the same thing in the same colors, and neither loads anything from a CDN.
"""

from collections.abc import Sequence
from datetime import timedelta

import graphviz
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from joeflow_temporal.cron import describe_schedule
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
TIMEOUT_EDGE = {"style": "dashed", "label": "timeout", "fontsize": "9", "fontname": "Helvetica"}
"""A human task's ``on_timeout``: where it escalates at its due date."""
OVERDUE_COLOR = "#b00020"
DUE_FORMAT = "j M H:i"
"""``30 Nov 14:00``, in the current time zone."""
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


def timeout_edges(spec) -> list[tuple[str, str]]:
    """``(task, on_timeout)`` of every human task that escalates at its due date."""
    return [(node.name, node.on_timeout) for node in spec.nodes.values() if node.on_timeout]


def workflow_graph(
    workflow_class, color: str | None = None, notes: dict[str, list[str]] | None = None
) -> graphviz.Digraph:
    """The class's graph; ``color`` (if given) draws every node and edge in that color.

    ``notes`` (node name → lines of text) adds small lines under a node's name, as the
    overview page's counts; a note starting with ``!`` is drawn red and bold (stripped).
    """
    spec = workflow_class.get_graph_spec()
    graph = new_graph(workflow_class.__name__, workflow_class.rankdir)
    colored = {"color": color, "fontcolor": color} if color else {}
    schedules = schedule_notes(workflow_class)
    for node in spec.nodes.values():
        label = node_label(
            node.name, schedules.get(node.name, []) + (notes or {}).get(node.name, [])
        )
        graph.node(node.name, label, style=node_style(node), fillcolor="white", **colored)
    for start, end in spec.edges:
        graph.edge(start, end, **({"color": color} if color else {}))
    for start, end in timeout_edges(spec):
        graph.edge(start, end, **TIMEOUT_EDGE, **({"color": color} if color else {}))
    return graph


def schedule_notes(workflow_class) -> dict[str, list[str]]:
    """``{"start": ["0 9 * * MON"]}``: the schedule of each scheduled start node, for a line
    under its name (``every 1 day`` for an interval)."""
    return {
        name: [describe_schedule(node.schedule)]
        for name, node in workflow_class.get_nodes()
        if getattr(node, "node_kind", None) in START_KINDS
        and isinstance(getattr(node, "schedule", None), (str, timedelta))
    }


def node_label(name: str, notes: list[str]) -> str:
    """The node's name, plus ``notes`` as smaller lines (an HTML-like Graphviz label); a note
    starting with ``!`` stands out (red, bold)."""
    if not notes:
        return name
    lines: list[str] = [escape(name)]
    for note in notes:
        if note.startswith("!"):
            text = f'<FONT COLOR="{OVERDUE_COLOR}"><B>{escape(note[1:])}</B></FONT>'
        else:
            text = escape(note)
        lines.append(f'<FONT POINT-SIZE="9">{text}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


def due_note(task) -> list[str]:
    """``["due 30 Nov 14:00"]`` for an open human task with a due date (``!`` when overdue)."""
    if task is None or task.status != TaskStatus.SCHEDULED or task.due is None:
        return []
    text = f"due {format_date(timezone.localtime(task.due), DUE_FORMAT)}"
    return [f"!{text}" if task.due < timezone.now() else text]


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

    def due_note(self, name: str) -> list[str]:
        return due_note(self.latest.get(name))

    def extra_edges(self) -> list[tuple[str, str]]:
        """Taken edges the class does not have (to and from overrides and removed tasks)."""
        return sorted(self.taken - set(self.spec.edges) - set(timeout_edges(self.spec)))


def instance_graph(workflow) -> graphviz.Digraph:
    """The class's graph with this instance's tasks over it.

    Each node shows the latest task of that name: done, active, failed (red, thick) or canceled;
    an open human task with a due date shows it (red and bold once overdue). Overrides and tasks
    the class no longer has are drawn dashed, with the edges they took; a timeout that escalated
    draws its dashed "timeout" edge as taken.
    """
    state = InstanceState(workflow)
    graph = new_graph(f"{type(workflow).__name__} {workflow.pk}", type(workflow).rankdir)
    for node in state.spec.nodes.values():
        label = node_label(node.name, state.due_note(node.name))
        graph.node(node.name, label, style=node_style(node), **state.status_style(node.name))
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
    for start, end in timeout_edges(state.spec):
        graph.edge(start, end, **TIMEOUT_EDGE, **(TAKEN if (start, end) in state.taken else {}))
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

    def node(
        self,
        node_id: str,
        label: str,
        rounded: bool,
        style: dict,
        notes: Sequence[str] = (),
        **extra: str,
    ) -> None:
        """A node; ``notes`` are lines under its name (``!``: red and bold, as ``node_label``)."""
        lines = [mermaid_text(label)]
        for note in notes:
            if note.startswith("!"):
                lines.append(f"<b>{mermaid_text(note[1:])}</b>")
                extra = {**extra, "color": OVERDUE_COLOR}
            else:
                lines.append(mermaid_text(note))
        text = '"' + "<br/>".join(lines) + '"'
        self.lines.append(f"    {node_id}({text})" if rounded else f"    {node_id}[{text}]")
        self.styles.append(f"    style {node_id} {mermaid_css(style, **extra)}")

    def edge(self, start: str, end: str, arrow: str, color: str, width: str = "1px") -> None:
        self.lines.append(f"    {start} {arrow} {end}")
        self.styles.append(f"    linkStyle {self.edge_count} stroke:{color},stroke-width:{width}")
        self.edge_count += 1

    def text(self) -> str:
        return "\n".join(self.lines + self.styles) + "\n"


MERMAID_TIMEOUT = "-. timeout .->"
"""A dashed edge labelled ``timeout`` (``TIMEOUT_EDGE`` in Graphviz)."""


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
    schedules = schedule_notes(workflow_class)
    for node in spec.nodes.values():
        chart.node(
            mermaid_id(node.name),
            node.name,
            node.type == TaskType.HUMAN,
            CLASS_NODE,
            schedules.get(node.name, []),
            **mermaid_node_style(node),
        )
    for start, end in spec.edges:
        chart.edge(mermaid_id(start), mermaid_id(end), "-->", EDGE_COLOR)
    for start, end in timeout_edges(spec):
        chart.edge(mermaid_id(start), mermaid_id(end), MERMAID_TIMEOUT, EDGE_COLOR)
    return chart.text()


def instance_mermaid(workflow) -> str:
    """As ``instance_graph``: taken edges thick and black, the others dashed once it started."""
    state = InstanceState(workflow)
    chart = Mermaid(type(workflow).rankdir)
    for node in state.spec.nodes.values():
        style = state.status_style(node.name)
        extra = {} if "penwidth" in style else mermaid_node_style(node)
        chart.node(
            mermaid_id(node.name),
            node.name,
            node.type == TaskType.HUMAN,
            style,
            state.due_note(node.name),
            **extra,
        )
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
    for start, end in timeout_edges(state.spec):
        if (start, end) in state.taken:
            chart.edge(mermaid_id(start), mermaid_id(end), MERMAID_TIMEOUT, "#000000", "2px")
        else:
            chart.edge(mermaid_id(start), mermaid_id(end), MERMAID_TIMEOUT, EDGE_COLOR)
    for start, end in state.extra_edges():
        chart.edge(chart_id(start), chart_id(end), "-.->", "#000000")
    return chart.text()
