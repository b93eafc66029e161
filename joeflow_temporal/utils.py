"""Helpers joeflow projects import: ``NoDashDiGraph``, the Graphviz graph joeflow 2 drew with."""

import graphviz

__all__ = ["NoDashDiGraph"]


class NoDashDiGraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose nodes and edges are unique, as joeflow's.

    Adding a node (by name) or an edge (by tail and head) again replaces its attributes
    instead of drawing it twice, so a picture can be restyled after it was drawn (an instance's
    tasks over its class's graph). Underscores in names are drawn as spaces. Nodes and edges
    come after the graph's other statements, sorted.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._nodes: dict[str, tuple] = {}
        self._edges: dict[tuple[str, str], tuple] = {}
        super().__init__(*args, **kwargs)

    def node(self, name, label=None, _attributes=None, **attrs) -> None:
        self._nodes[name] = (label, _attributes, attrs)

    def edge(self, tail_name, head_name, label=None, _attributes=None, **attrs) -> None:
        self._edges[(tail_name, head_name)] = (label, _attributes, attrs)

    def __iter__(self, subgraph: bool = False):
        statements = graphviz.Digraph()
        for name, (label, attributes, attrs) in sorted(self._nodes.items()):
            graphviz.Digraph.node(
                statements, dashless(name), label, _attributes=attributes, **attrs
            )
        for (tail, head), (label, attributes, attrs) in sorted(self._edges.items()):
            graphviz.Digraph.edge(
                statements, dashless(tail), dashless(head), label, _attributes=attributes, **attrs
            )
        *lines, tail = super().__iter__(subgraph=subgraph)
        yield from lines
        yield from statements.body
        yield tail


def dashless(name: str) -> str:
    return name.replace("_", " ")
