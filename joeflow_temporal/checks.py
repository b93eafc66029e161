"""System checks: a misconfigured workflow is reported at startup, with a hint naming the fix."""

import ast
from pathlib import Path

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, get_resolver, reverse

ENGINE_DIR = Path(__file__).parent / "engine"


@checks.register()
def check_workflows(app_configs=None, **kwargs):
    from joeflow_temporal.registry import get_workflows

    errors = []
    for workflow in get_workflows():
        if app_configs is not None and workflow._meta.app_config not in app_configs:
            continue
        edge_errors = check_edges(workflow)
        errors += edge_errors
        if not edge_errors:
            errors += check_start(workflow) + check_joins(workflow) + check_task_names(workflow)
            errors += check_view_fields(workflow)
    return errors


@checks.register(checks.Tags.urls)
def check_human_task_urls(app_configs=None, **kwargs):
    from joeflow_temporal.registry import get_workflows

    return [warning for workflow in get_workflows() for warning in check_task_urls(workflow)]


def check_task_urls(workflow):
    if check_edges(workflow):
        return []  # check_workflows reports those (E001); the tasks cannot be listed
    return [
        checks.Warning(
            f"The human task {name!r} of {workflow.label()} has no URL.",
            hint=f'Add path("…/", include({workflow.__name__}.urls())) to your urls.',
            obj=workflow,
            id="joeflow_temporal.W004",
        )
        for name, node in workflow.get_human_nodes().items()
        if not has_url(workflow.get_url_namespace(), name, node)
    ]


def has_url(namespace: str, name: str, node) -> bool:
    """Whether the URLconf has the task's pattern; one with a ``path`` postfix takes arguments
    the check cannot guess, so its name is looked up in the namespace instead."""
    if getattr(node, "path", ""):
        namespaces = get_resolver().namespace_dict
        return namespace in namespaces and bool(namespaces[namespace][1].reverse_dict.getlist(name))
    try:
        reverse(f"{namespace}:{name}", args=[] if node.node_kind == "start_view" else [1])
    except NoReverseMatch:
        return False
    return True


@checks.register()
def check_engine_is_django_free(app_configs=None, **kwargs):
    """The walker runs in Temporal's sandbox and in replays: it must never import Django."""
    errors = []
    for path in sorted(ENGINE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            if any(m == "django" or m.startswith("django.") for m in modules):
                errors.append(
                    checks.Error(
                        f"{path.name} line {node.lineno} imports Django into the engine.",
                        hint="Move the code to an activity (joeflow_temporal/activities.py).",
                        obj=str(path),
                        id="joeflow_temporal.E005",
                    )
                )
    return errors


def check_edges(workflow):
    errors = []
    for edge in workflow.edges:
        if not (isinstance(edge, (tuple, list)) and len(edge) == 2):
            errors.append(edge_error(workflow, f"edge {edge!r} is not a (start, end) pair"))
            continue
        for end in edge:
            name = getattr(end, "name", None) or getattr(end, "__name__", None)
            if not isinstance(name, str) or not hasattr(workflow, name):
                errors.append(edge_error(workflow, f"edge {edge!r} names {end!r}, not a task"))
    return errors


def edge_error(workflow, message):
    return checks.Error(
        f"{workflow.label()}: {message}.",
        hint="Edges connect tasks of the class: its methods, views, Start, Join and Wait.",
        obj=workflow,
        id="joeflow_temporal.E001",
    )


def check_start(workflow):
    kinds = {node.kind for node in workflow.get_graph_spec().nodes.values()}
    if kinds & {"start", "start_view"}:
        return []
    return [
        checks.Error(
            f"{workflow.label()} has no start task, so no instance can ever start.",
            hint="Add start = tasks.Start() or tasks.StartView(fields=[...]) and an edge from it.",
            obj=workflow,
            id="joeflow_temporal.E003",
        )
    ]


def check_joins(workflow):
    graph = workflow.get_graph_spec()
    errors = []
    for node in graph.nodes.values():
        strangers = [name for name in node.join if name not in graph.parents(node.name)]
        if node.kind == "join" and strangers:
            errors.append(
                checks.Error(
                    f"{workflow.label()}: Join {node.name!r} waits for {', '.join(strangers)}, "
                    "which no edge leads from to it; it would wait forever.",
                    hint=f"Add edges ({strangers[0]}, {node.name}) or drop the name from the Join.",
                    obj=workflow,
                    id="joeflow_temporal.E002",
                )
            )
    return errors


def check_view_fields(workflow):
    """Every field a human task's view edits is a field of the model (else its page, its API
    endpoints and the workflow listing fail at run time)."""
    errors = []
    for name, node in workflow.get_human_nodes().items():
        fields = getattr(node, "fields", None)
        if fields is None or isinstance(fields, str):
            continue  # a form_class, or "__all__"
        unknown = [field for field in fields if not has_field(workflow, field)]
        if unknown:
            errors.append(
                checks.Error(
                    f"{workflow.label()}: the task {name!r} edits {', '.join(map(repr, unknown))}, "
                    f"which {workflow.__name__} has no field of that name.",
                    hint=f"Fix fields=[...] of {name!r}; the model's fields are "
                    f"{', '.join(f.name for f in workflow._meta.get_fields() if f.concrete)}.",
                    obj=workflow,
                    id="joeflow_temporal.E007",
                )
            )
    return errors


def has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def check_task_names(workflow):
    clashes = [
        name
        for name, node in workflow.get_graph_spec().nodes.items()
        if node.kind == "method" and hasattr(models.Model, name)
    ]
    return [
        checks.Error(
            f"{workflow.label()}: the task {name!r} overrides Model.{name}().",
            hint="Rename the method; Django calls Model methods itself.",
            obj=workflow,
            id="joeflow_temporal.E006",
        )
        for name in clashes
    ]
