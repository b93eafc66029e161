"""System checks: a misconfigured workflow is reported at startup, with a hint naming the fix.

Every definition that the engine or a page could not run is an error with a stable id, naming
the class and the task (docs/components.md lists them). A check never crashes on a class: what
it did not expect becomes an error naming the class (E009), and the other checks go on.
"""

import inspect
from datetime import timedelta

from django.core import checks
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.forms import modelform_factory
from django.urls import NoReverseMatch, get_resolver, reverse
from django.views.generic.edit import ModelFormMixin

from joeflow_temporal.cron import describe_schedule, schedule_problem
from joeflow_temporal.engine.spec import START_KINDS, NodeKind, TaskType


@checks.register()
def check_workflows(app_configs=None, **kwargs):
    """Every workflow class, and every other model that subclasses ``Workflow``."""
    errors = []
    models_ = workflow_models()
    for model in models_:
        if app_configs is not None and model._meta.app_config not in app_configs:
            continue
        errors += guarded(check_model_fields, model)
        if model.edges:
            errors += check_workflow(model)
        elif not any(issubclass(other, model) and other.edges for other in models_):
            errors += guarded(check_has_edges, model)
    return errors


def workflow_models() -> list[type]:
    """The installed models that subclass ``Workflow``."""
    from django.apps import apps

    from joeflow_temporal.models import Workflow

    return [m for m in apps.get_models() if issubclass(m, Workflow) and m is not Workflow]


def errors_of(workflow) -> list[str]:
    """The system check errors of one workflow class and its models, as ``"<id>: <message>"``
    (what the API answers for a class it cannot serve)."""
    messages = check_workflow(workflow)
    models_ = workflow_models()
    for model in workflow.__mro__:
        if model in models_:
            messages += guarded(check_model_fields, model)
    return [f"{m.id}: {m.msg}" for m in messages if m.is_serious()]


def check_workflow(workflow) -> list[checks.CheckMessage]:
    """Every check of one workflow class (its edges and joins first: the others need a graph)."""
    errors = guarded(check_edges, workflow)
    errors = errors or guarded(check_join_arguments, workflow)
    if errors:
        return errors
    for check in (
        check_start,
        check_joins,
        check_task_names,
        check_one_name_per_task,
        check_start_tasks_have_no_way_in,
        check_machine_tasks,
        check_views,
        check_view_fields,
        check_human_work,
        check_subworkflows,
        check_events,
        check_schedules,
    ):
        errors += guarded(check, workflow)
    return errors


def guarded(check, workflow) -> list[checks.CheckMessage]:
    """``check(workflow)``, or an error naming the class if the check itself raised: a class
    the checks did not foresee must not stop ``manage.py check``, nor hide the other errors."""
    try:
        return check(workflow)
    except Exception as raised:  # anything a user's class may raise: reported, never a crash
        return [
            checks.Error(
                f"{workflow._meta.label_lower}: the check {check.__name__} failed on this class "
                f"({type(raised).__name__}: {raised}).",
                hint="Something in the class is not what the check expects; the message says "
                "what. If the class looks right, report it as a bug of joeflow_temporal.",
                obj=workflow,
                id="joeflow_temporal.E009",
            )
        ]


@checks.register(checks.Tags.urls)
def check_human_task_urls(app_configs=None, **kwargs):
    from joeflow_temporal.registry import get_workflows

    return [
        warning for workflow in get_workflows() for warning in guarded(check_task_urls, workflow)
    ]


def check_task_urls(workflow):
    if check_edges(workflow):
        return []  # check_workflows reports those (E001); the tasks cannot be listed
    return [
        checks.Warning(
            f"The human task {name!r} of {workflow._meta.label_lower} has no URL.",
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
        reverse(f"{namespace}:{name}", args=[] if node.node_kind == NodeKind.START_VIEW else [1])
    except NoReverseMatch:
        return False
    return True


def error(workflow, id: int, message: str, hint: str) -> checks.Error:
    return checks.Error(
        f"{workflow._meta.label_lower}: {message}",
        hint=hint,
        obj=workflow,
        id=f"joeflow_temporal.E{id:03}",
    )


# The graph


def check_edges(workflow):
    if not isinstance(workflow.edges, (list, tuple)):
        return [
            edge_error(
                workflow,
                f"edges is a {type(workflow.edges).__name__}, which can be read once only "
                "or in no fixed order",
                hint="Make edges a list (or tuple) of (start, end) pairs.",
            )
        ]
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


def edge_error(workflow, message, hint=None):
    return error(
        workflow,
        1,
        f"{message}.",
        hint or "Edges connect tasks of the class: its methods, views, Start, Join and Wait.",
    )


def check_has_edges(model):
    """A model with tasks but no edges (and no workflow subclass) is no workflow: nothing
    would run it, list it or give it pages."""
    if not task_attributes(model):
        return []
    return [
        error(
            model,
            10,
            f"{model.__name__} has tasks ({', '.join(task_attributes(model))}) but no edges, "
            "so it is no workflow: no worker, page or API knows it.",
            "Add edges = [(start, next_task), ...]; or, for a base class of workflows, keep "
            "the tasks in the subclasses.",
        )
    ]


def task_attributes(model) -> list[str]:
    """Task objects (views, ``Start``, ``Join``, ``Wait``) among the class's attributes."""
    return [
        name
        for klass in model.__mro__
        for name, value in vars(klass).items()
        if hasattr(value, "node_kind")
    ]


def check_start(workflow):
    kinds = {node.kind for node in workflow.get_graph_spec().nodes.values()}
    if kinds & START_KINDS:
        return []
    return [
        error(
            workflow,
            3,
            f"{workflow.__name__} has no start task, so no instance can ever start.",
            "Add start = tasks.Start() or tasks.StartView(fields=[...]) and an edge from it.",
        )
    ]


def check_schedules(workflow):
    """A scheduled start's schedule is one Temporal accepts (E019), and the instances it
    creates, with the model's default values only, can be saved (E020)."""
    errors = []
    for name, node in workflow.get_nodes():
        schedule = getattr(node, "schedule", None)
        if getattr(node, "node_kind", None) != NodeKind.START or schedule is None:
            continue
        problem = (
            schedule_problem(schedule)
            if isinstance(schedule, (str, timedelta))
            else f"it is a {type(schedule).__name__}"
        )
        if problem:
            errors.append(
                error(
                    workflow,
                    19,
                    f"the schedule of {name!r} is not valid: {problem}.",
                    'Give a cron string in UTC with five fields or a macro ("0 9 * * MON", '
                    '"*/15 * * * *", "@daily"), or a timedelta of at least one second.',
                )
            )
            continue
        required = fields_without_default(workflow)
        if required:
            errors.append(
                error(
                    workflow,
                    20,
                    f"the scheduled start {name!r} ({describe_schedule(schedule)}) saves "
                    f"instances with the model's default values, but {', '.join(required)} "
                    "has none.",
                    "Give those fields a default (or null=True); set them in the first task.",
                )
            )
    return errors


def fields_without_default(model) -> list[str]:
    """Columns a bare ``model.objects.create()`` cannot fill (no default, not null, no empty
    string, not set automatically)."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if not (
            field.primary_key
            or field.auto_created
            or field.has_default()
            or field.null
            or field.empty_strings_allowed
            or getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
            or (field.remote_field is not None and field.remote_field.parent_link)
        )
    ]


def check_join_arguments(workflow):
    errors = []
    for name, node in workflow.get_nodes():
        not_names = [p for p in getattr(node, "parents", ()) if not isinstance(p, str)]
        if getattr(node, "node_kind", None) == NodeKind.JOIN and not_names:
            errors.append(
                error(
                    workflow,
                    2,
                    f"Join {name!r} is given {', '.join(map(repr, not_names))}, not task names.",
                    'Name the tasks it waits for: tasks.Join("a", "b").',
                )
            )
    return errors


def check_joins(workflow):
    errors = []
    graph = workflow.get_graph_spec()
    for node in graph.nodes.values():
        strangers = [name for name in node.join if name not in graph.parents(node.name)]
        if node.kind == NodeKind.JOIN and strangers:
            errors.append(
                error(
                    workflow,
                    2,
                    f"Join {node.name!r} waits for {', '.join(strangers)}, which no edge leads "
                    "from to it; it would wait forever.",
                    f"Add edges ({strangers[0]}, {node.name}) or drop the name from the Join.",
                )
            )
    return errors


def check_start_tasks_have_no_way_in(workflow):
    """A start task that an edge leads to: the engine would wait there forever (``Start``), or
    schedule a task no page can complete (a start view's page makes a new instance)."""
    graph = workflow.get_graph_spec()
    return [
        error(
            workflow,
            12,
            f"the edge ({parent}, {node.name}) leads to the start task {node.name!r}; a start "
            "task only begins instances, so the branch would never go on from there.",
            f"Lead the edge to another task (a tasks.UpdateView for a form mid-way), or drop "
            f"({parent}, {node.name}).",
        )
        for node in graph.nodes.values()
        if node.kind in START_KINDS
        for parent in graph.parents(node.name)
    ]


def check_one_name_per_task(workflow):
    """Each task has one name, and the class's attribute of that name is that task: the
    engine finds tasks by name (the same view under two names, or a method in ``edges``
    shadowed by a base class's task of the same name, would run something else)."""
    from joeflow_temporal.runtime.compile import node_name

    errors = []
    nodes = dict(workflow.get_nodes())
    for name, node in nodes.items():
        own_name = node_name(node)
        if own_name != name:
            errors.append(
                error(
                    workflow,
                    11,
                    f"the task {own_name!r} is also the attribute {name!r}; the engine knows "
                    "a task by one name only.",
                    f"Give {name!r} a task of its own (a new view, or a method) instead of "
                    f"{own_name!r}'s.",
                )
            )
    for end in {id(end): end for edge in workflow.edges for end in edge}.values():
        name = node_name(end)
        if nodes.get(name) is not end and nodes.get(name) != end:
            errors.append(
                error(
                    workflow,
                    11,
                    f"edges name {end!r} as {name!r}, but the class's task {name!r} is "
                    f"{nodes.get(name)!r} (from a base class?).",
                    f"Rename one of them, or use the class's own {name!r} in edges.",
                )
            )
    return errors


# Names


def reserved_names() -> dict[str, str]:
    """The names the app uses on every workflow class, each with what uses it: a task or a
    field under one of these names would shadow it.

    Derived from the code: ``Workflow``'s attributes (Django's ``Model``'s among them), the
    fields the admin and override forms add, and the URL names of the instance pages.
    """
    from joeflow_temporal.forms import OverrideForm, StartForm
    from joeflow_temporal.models import PAGE_NAMES, Task, Workflow

    def added_by_another_model(name) -> bool:  # a subclass's parent link, a project's relation
        value = inspect.getattr_static(Workflow, name)
        relation = getattr(value, "related", None) or getattr(value, "rel", None)
        return relation is not None and relation.related_model is not Task

    names = {
        name: f"Model.{name}" if hasattr(models.Model, name) else f"Workflow.{name}"
        for name in dir(Workflow)
        if not name.startswith("__") and not added_by_another_model(name)
    }
    for form in (OverrideForm, StartForm):
        names |= {name: f"{form.__name__}'s field {name!r}" for name in form.base_fields}
    names |= {name: f"the instance pages' URL name {name!r}" for name in PAGE_NAMES}
    return names


def check_task_names(workflow):
    """No task takes a name the app uses, nor the name of one of the model's fields."""
    reserved = reserved_names()
    fields = field_names(workflow)
    errors = []
    for name in workflow.get_graph_spec().nodes:
        used_by = reserved.get(name) or (f"the model's field {name!r}" if name in fields else None)
        if used_by:
            errors.append(
                error(
                    workflow,
                    6,
                    f"the task {name!r} has the name of {used_by}; on an instance one of the "
                    "two hides the other, and the app relies on both.",
                    f"Rename the task (and its edges), e.g. to {name}_task; names taken: "
                    "docs/components.md, Reserved names.",
                )
            )
    return errors


def field_names(model) -> set[str]:
    """The names a model's fields and relations take on its instances."""
    names = set()
    for field in model._meta.get_fields(include_hidden=False):
        if field.is_relation and field.auto_created and not field.concrete:
            names.add(field.get_accessor_name())
        else:
            names |= {field.name, getattr(field, "attname", field.name)}
    return names - {None}


def check_model_fields(model):
    """No field of a workflow model takes a name the app uses (checked where it is defined)."""
    reserved = reserved_names()
    own = [
        field
        for field in [*model._meta.local_fields, *model._meta.local_many_to_many]
        if not (field.remote_field and field.remote_field.parent_link)
    ]
    return [
        error(
            model,
            8,
            f"the field {name!r} of {model.__name__} has the name of {reserved[name]}; on an "
            "instance the field hides it, and the app relies on it.",
            f"Rename the field (db_column={field.column!r} keeps its column); names taken: "
            "docs/components.md, Reserved names.",
        )
        for field in own
        for name in dict.fromkeys([field.name, field.attname])
        if name in reserved
    ]


# Machine tasks


def check_machine_tasks(workflow):
    """Each method in ``edges`` can be called as the engine calls it: ``method()`` or
    ``method(task)``, returning its result (not a coroutine or a generator)."""
    errors = []
    for name, node in workflow.get_nodes():
        if hasattr(node, "node_kind") or getattr(node, "type", None) == TaskType.HUMAN:
            continue
        problem = call_problem(workflow, name)
        if problem:
            errors.append(
                error(
                    workflow,
                    14,
                    f"the machine task {name!r} {problem}.",
                    f"Define it as def {name}(self) or def {name}(self, task), returning None, "
                    "True, False or a list of next tasks.",
                )
            )
    return errors


def call_problem(workflow, name: str) -> str | None:
    """Why ``getattr(instance, name)`` cannot be called as the engine calls it: with the task
    if it takes any argument, else with none; None if it can."""
    function = inspect.getattr_static(workflow, name)
    bound = True
    if isinstance(function, staticmethod):
        function, bound = function.__func__, False
    elif isinstance(function, classmethod):
        function = function.__func__
    elif not inspect.isfunction(function):
        bound = False  # a callable object: called as it is
    plain = inspect.unwrap(function)
    if inspect.iscoroutinefunction(plain) or inspect.isasyncgenfunction(plain):
        return "is async; the engine runs machine tasks in threads and would never await it"
    if inspect.isgeneratorfunction(plain):
        return "is a generator; the engine takes its return value, and a generator has none"
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None  # nothing to read (a builtin): the engine will try
    parameters = parameters[1:] if bound else parameters
    if not parameters:
        return None
    required = [
        p
        for p in parameters
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    positional = [
        p for p in parameters if p.kind is not p.KEYWORD_ONLY and p.kind is not p.VAR_KEYWORD
    ]
    if not positional or len(required) > 1 or any(p.kind is p.KEYWORD_ONLY for p in required):
        names = ", ".join(str(p) for p in parameters)
        return f"takes ({names}); the engine passes the task, or nothing"
    return None


# Human tasks


def check_views(workflow):
    """Each human task's view can be set up and has a URL pattern that parses (else the
    project's URLconf would fail to load, or leave the task without a page)."""
    from joeflow_temporal.models import task_urlpattern

    errors = []
    for name, node in workflow.get_human_nodes().items():
        try:
            pattern = task_urlpattern(workflow, name, node)
            type(node)(**{**node._initkwargs, "model": workflow, "name": name})  # as a request does
            problem = next((w.msg for w in pattern.check()), None)
        except Exception as raised:  # whatever Django's view and URL machinery raise
            problem = f"{type(raised).__name__}: {raised}"
        if problem:
            errors.append(
                error(
                    workflow,
                    13,
                    f"the human task {name!r} has no page: its view or URL cannot be built "
                    f"({problem}).",
                    "Pass the view only arguments it has as attributes, and a path= postfix "
                    'that parses and does not repeat the task\'s own "pk", e.g. '
                    'path="<slug:section>/".',
                )
            )
    return errors


def check_view_fields(workflow):
    """Each human task's form can be built, as its page and the API build it: fields the
    model has and a form may edit, or one ``form_class`` for this model, not both."""
    errors = []
    for name, node in workflow.get_human_nodes().items():
        problem = form_problem(workflow, node)
        if problem:
            errors.append(
                error(
                    workflow,
                    7,
                    f"the task {name!r} cannot build its form: {problem}",
                    f"Fix fields=[...] or form_class of {name!r}; the fields a form may edit "
                    f"on {workflow.__name__} are {', '.join(editable_fields(workflow))}.",
                )
            )
    return errors


def form_problem(workflow, node) -> str | None:
    """What keeps the task's form from being built, as a sentence; None if nothing does."""
    fields = getattr(node, "fields", None)
    form_class = getattr(node, "form_class", None)
    if fields is not None and form_class is not None:
        return "it has both fields and form_class (Django's views refuse that)."
    if form_class is not None:
        form_model = getattr(getattr(form_class, "_meta", None), "model", None)
        if form_model is None:
            return f"its form_class {form_class.__name__} is not a ModelForm."
        if form_model._meta.concrete_model is not workflow._meta.concrete_model:
            return f"its form_class edits {form_model.__name__}, not {workflow.__name__}."
        return None  # Django checked its fields against the model when the form was defined
    elif fields is None:
        if isinstance(node, ModelFormMixin):
            return "it has neither fields nor form_class."
        return None  # a view of the project's own that edits no form
    if isinstance(fields, str) and fields != "__all__":
        return f"fields={fields!r} is a string; give a list of field names."
    unknown = [field for field in fields if field not in field_names(workflow)]
    if fields != "__all__" and unknown:
        return f"{workflow.__name__} has no field {', '.join(map(repr, unknown))}."
    try:
        modelform_factory(workflow, fields=fields)
    except (FieldError, ImproperlyConfigured, TypeError, ValueError) as problem:
        return f"{problem}"
    return None


# Human work (DESIGN "Human work")

HUMAN_WORK_ATTRIBUTES = ("candidate_groups", "due", "remind_every", "on_timeout")


def check_human_work(workflow):
    """``due`` and ``remind_every`` are positive ``timedelta`` s, ``on_timeout`` names a task
    of the class a timeout may start, ``candidate_groups`` is a list of group names; and a
    start view has none of them (its task is done when its form is saved)."""
    errors = []
    nodes = dict(workflow.get_nodes())
    for name, node in workflow.get_human_nodes().items():
        given = [a for a in HUMAN_WORK_ATTRIBUTES if getattr(node, a, None) not in (None, (), [])]
        if node.node_kind == NodeKind.START_VIEW:
            if given:
                errors.append(
                    error(
                        workflow,
                        18,
                        f"the start view {name!r} has {', '.join(given)}, which only tasks "
                        "inside an instance use: a start view's task is done when its form "
                        "is saved.",
                        "Move them to the human task that follows the start view.",
                    )
                )
            continue
        for attribute in ("due", "remind_every"):
            value = getattr(node, attribute, None)
            if value is not None and not (isinstance(value, timedelta) and value > timedelta(0)):
                errors.append(
                    error(
                        workflow,
                        15,
                        f"the task {name!r} has {attribute}={value!r}, not a positive timedelta.",
                        f"Give e.g. {attribute}=timedelta(days=1) (from datetime), or leave "
                        "it out.",
                    )
                )
        on_timeout = getattr(node, "on_timeout", None)
        if on_timeout is not None:
            target = nodes.get(on_timeout) if isinstance(on_timeout, str) else None
            kind = getattr(target, "node_kind", NodeKind.METHOD)
            if target is None or kind in START_KINDS or on_timeout == name:
                why = (
                    "a start task, which nothing may lead to"
                    if target is not None and kind in START_KINDS
                    else "the task itself"
                    if on_timeout == name
                    else "no task of the class"
                )
                errors.append(
                    error(
                        workflow,
                        16,
                        f"the task {name!r} has on_timeout={on_timeout!r}, which names {why}.",
                        "Name (as a string) the task to start when it times out, e.g. "
                        f'on_timeout="escalate"; the class\'s tasks: {", ".join(nodes)}.',
                    )
                )
        groups = getattr(node, "candidate_groups", None)
        if groups is not None and (
            isinstance(groups, str)
            or not isinstance(groups, (list, tuple))
            or not all(isinstance(g, str) and g for g in groups)
        ):
            errors.append(
                error(
                    workflow,
                    17,
                    f"the task {name!r} has candidate_groups={groups!r}, not a list of group "
                    "names.",
                    'Give the names of auth groups, e.g. candidate_groups=["reviewers"].',
                )
            )
    return errors


# Process structure (DESIGN "Process structure")


def nodes_of_kind(workflow, kind: NodeKind) -> dict[str, object]:
    return {
        name: node
        for name, node in workflow.get_nodes()
        if getattr(node, "node_kind", None) == kind
    }


def check_subworkflows(workflow):
    """A ``Subworkflow`` names an installed workflow class with exactly one ``tasks.Start()``
    (through which each child is started)."""
    from joeflow_temporal.models import Workflow

    errors = []
    for name, node in nodes_of_kind(workflow, NodeKind.SUBWORKFLOW).items():
        try:
            child = node.get_workflow_class()
        except (LookupError, ValueError):
            child = None
        if not (isinstance(child, type) and issubclass(child, Workflow) and child.edges):
            errors.append(
                error(
                    workflow,
                    21,
                    f"the subworkflow {name!r} names {node.workflow_cls!r}, which is no "
                    "installed workflow class.",
                    'Give the class, or its label as a string ("app_label.ModelName"), of a '
                    "workflow with edges, in an installed app.",
                )
            )
            continue
        starts = list(nodes_of_kind(child, NodeKind.START))
        if len(starts) != 1:
            errors.append(
                error(
                    workflow,
                    21,
                    f"the subworkflow {name!r} starts {child._meta.label_lower}, which has "
                    f"{len(starts)} tasks.Start() nodes ({', '.join(starts) or 'none'}).",
                    f"Give {child.__name__} exactly one start = tasks.Start(): each child "
                    "instance is started through it.",
                )
            )
    return errors


def check_events(workflow):
    """Each event name belongs to one ``Event`` node of the class, whose ``fields`` a form of
    the model can edit."""
    errors = []
    by_event: dict[str, list[str]] = {}
    for name, node in nodes_of_kind(workflow, NodeKind.EVENT).items():
        by_event.setdefault(node.event_name, []).append(name)
        problem = form_problem(workflow, node)
        if problem:
            errors.append(
                error(
                    workflow,
                    23,
                    f"the event task {name!r} cannot take its data: {problem}",
                    "List in fields= the names of the model's editable fields the event sets; "
                    f"on {workflow.__name__} they are {', '.join(editable_fields(workflow))}.",
                )
            )
    for event, names in by_event.items():
        if len(names) > 1:
            errors.append(
                error(
                    workflow,
                    22,
                    f"the event {event!r} is waited for by {len(names)} tasks "
                    f"({', '.join(names)}): which one would an event go to?",
                    "Give each tasks.Event its own name; one Event task reached again and "
                    "again (a loop) takes one event each time.",
                )
            )
    return errors


def editable_fields(model) -> list[str]:
    return [
        field.name
        for field in [*model._meta.fields, *model._meta.many_to_many]
        if field.editable and not field.auto_created
    ]
