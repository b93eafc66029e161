"""Which tasks an override may start: none that leaves the instance where nothing moves it on.

An override cancels every open task, so what it starts must be able to finish without them:
- a start node (``Start``, ``StartView``) starts new instances; inside one, no page completes it;
- a join waits for its parents: started by itself it waits for tasks that will never come,
  and a task that leads to a join needs every parent of that join to be reachable from the
  chosen tasks (the override canceled the arrivals the join had collected).

``Workflow.override``, the override form and the API all check the chosen names here.
"""

from joeflow_temporal.engine import Graph
from joeflow_temporal.engine.spec import START_KINDS, NodeKind

NOT_STARTABLE = START_KINDS | {NodeKind.JOIN}


def override_choices(graph: Graph) -> list[str]:
    """The node names an override may start, in the class's order."""
    return [name for name, node in graph.nodes.items() if node.kind not in NOT_STARTABLE]


def refuse_name(graph: Graph, name: str) -> str | None:
    """Why an override may not start the node ``name`` at all, or None."""
    node = graph.nodes.get(name)
    if node is None:
        return f"{name!r} is not a task of {graph.label} (a deploy may have removed it)."
    if node.kind in START_KINDS:
        return f"{name!r} starts new instances; an override cannot start it inside one."
    if node.kind == NodeKind.JOIN:
        after = ", ".join(graph.children(name)) or "none"
        return (
            f"{name!r} is a join: started by an override it would wait for its parents "
            f"({', '.join(graph.join_parents(name))}) forever. Choose the tasks after it "
            f"({after}), or its parents."
        )
    return None


def stuck_joins(graph: Graph, names: list[str]) -> list[str]:
    """One message per join the chosen tasks lead to but could never complete: some parent of
    it is reached from none of them (reaching it is a necessary condition, not a sufficient one:
    a gateway may still go elsewhere at run time)."""
    messages = []
    for join, node in graph.nodes.items():
        if node.kind != NodeKind.JOIN:
            continue
        reached = reachable(graph, names, stop=join)
        if join not in reached:
            continue
        missing = [parent for parent in graph.join_parents(join) if parent not in reached]
        if missing:
            messages.append(
                f"The join {join!r} would wait forever for {', '.join(missing)}, which none of "
                "the chosen tasks leads to: choose them too, or tasks after the join."
            )
    return messages


def reachable(graph: Graph, names: list[str], stop: str) -> set[str]:
    """The nodes ``names`` lead to (themselves included), not following edges out of ``stop``."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name != stop:
            todo.extend(graph.children(name))
    return seen


def refuse_next_tasks(graph: Graph, names: list[str]) -> list[str]:
    """Every reason the override may not start ``names`` (empty: it may)."""
    refused = [reason for name in names if (reason := refuse_name(graph, name))]
    return refused or stuck_joins(graph, names)
