"""The graph spec: a workflow class and its edges, compiled to plain data.

The spec travels in the walker's input, so an instance keeps walking the graph it started with
even after a deploy changes the class.
"""

from datetime import timedelta
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict

NodeType = Literal["human", "machine"]
NodeKind = Literal["start", "start_view", "view", "method", "join", "wait"]


class Node(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: NodeType
    kind: NodeKind
    wait: timedelta | None = None
    """How long a ``Wait`` node waits, measured from the creation of its task."""
    join: tuple[str, ...] = ()
    """The parents a ``Join`` node waits for."""
    local_activity: bool = False
    """A method that runs as a local activity (``tasks.local_activity``)."""


class Graph(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    """The workflow class label, ``app_label.modelname``."""
    nodes: dict[str, Node]
    edges: tuple[tuple[str, str], ...]

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {name: [] for name in self.nodes}
        for start, end in self.edges:
            children[start].append(end)
        return children

    def children(self, name: str) -> list[str]:
        """The nodes an edge leads to from ``name``, in the order the edges list them."""
        return self._children.get(name, [])

    def parents(self, name: str) -> list[str]:
        return [start for start, end in self.edges if end == name]

    def join_parents(self, name: str) -> tuple[str, ...]:
        """What a join waits for: the names it was given, or else every parent in the graph."""
        return self.nodes[name].join or tuple(self.parents(name))
