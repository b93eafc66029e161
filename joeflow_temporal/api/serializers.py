"""Serializers: the workflow's own fields (built per class, as the task views build their forms),
tasks, instances and workflow types."""

from collections.abc import Mapping
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.metadata import SimpleMetadata
from rest_framework.utils import model_meta

from joeflow_temporal import overrides
from joeflow_temporal.api.workflows import own_field_names, view_fields
from joeflow_temporal.checks import errors_of
from joeflow_temporal.engine.spec import NodeKind, TaskType
from joeflow_temporal.forms import COMMENT_MAX_LENGTH
from joeflow_temporal.lookups import pk_fits
from joeflow_temporal.models import Task, WorkflowEvent


def refuse_unknown_keys(serializer: serializers.Serializer, data) -> None:
    """400 for each key of ``data`` that is no writable field of ``serializer``."""
    if isinstance(data, Mapping):
        errors = {
            key: ["Read-only field." if key in serializer.fields else "Unknown field."]
            for key in data
            if key not in serializer.fields or serializer.fields[key].read_only
        }
        if errors:
            raise serializers.ValidationError(errors)


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that refuses fields it does not write, and writes only what it got.

    Unknown or read-only keys are a 400 (not silently dropped), and an update saves only the
    validated fields, so it never overwrites what a machine task wrote to other fields meanwhile.
    """

    def to_internal_value(self, data):
        refuse_unknown_keys(self, data)
        return super().to_internal_value(data)

    def update(self, instance, validated_data):
        relations = model_meta.get_field_info(instance).relations
        to_many = {
            name: validated_data.pop(name)
            for name in list(validated_data)
            if name in relations and relations[name].to_many
        }
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if validated_data:
            instance.save(update_fields=[*validated_data, "modified"])
        for name, value in to_many.items():
            getattr(instance, name).set(value)
        return instance


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's ``CharField`` would take ``12`` as ``"12"``."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: DRF's ``IntegerField`` would take ``"12"`` and ``12.0``."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ActionSerializer(serializers.Serializer):
    """The body of an action: a JSON object of its fields only (an unknown key is a 400: a
    misspelt ``comment`` must not be dropped silently). No field of its own: claim, unclaim."""

    def to_internal_value(self, data):
        refuse_unknown_keys(self, data)
        return super().to_internal_value(data)


def comment_field() -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_blank=True,
        max_length=COMMENT_MAX_LENGTH,
        help_text="Why: kept on the task (`comment`) and sent to Temporal as the reason.",
    )


class CommentSerializer(ActionSerializer):
    """Rerun, cancel: an optional ``comment``."""

    comment = comment_field()


EMPTY_ASSIGNEES = (
    "An empty list would leave the task to nobody: to give it back to its candidates, "
    "POST to its unclaim/ endpoint."
)


class AssignSerializer(ActionSerializer):
    """``{"assignees": [user ids]}``: active users, at least one; validated into users."""

    assignees = serializers.ListField(
        child=StrictIntegerField(),
        allow_empty=False,
        min_length=1,
        max_length=100,
        error_messages={"empty": EMPTY_ASSIGNEES, "min_length": EMPTY_ASSIGNEES},
        help_text="Ids of active users: they become the task's assignees (replacing any).",
    )

    def validate_assignees(self, ids: list[int]) -> list:
        User = get_user_model()
        fitting = [pk for pk in ids if pk_fits(User, pk)]
        users = {user.pk: user for user in User.objects.filter(pk__in=fitting, is_active=True)}
        unknown: dict = {  # keyed by position, as a ListField's own errors
            position: [f"No active user with id {pk}."]
            for position, pk in enumerate(ids)
            if pk not in users
        }
        if unknown:
            raise serializers.ValidationError(unknown)
        return [users[pk] for pk in dict.fromkeys(ids)]


@cache
def form_serializer(model, fields: tuple[str, ...] | str) -> type[StrictModelSerializer]:
    """The serializer twin of a task view's form: same model (the workflow class), same fields."""
    meta = type("Meta", (), {"model": model, "fields": fields})
    return type(f"{model.__name__}Fields", (StrictModelSerializer,), {"Meta": meta})


def writable_field_names(model, fields: tuple[str, ...] | str) -> list[str]:
    serializer = form_serializer(model, fields)()
    return [name for name, field in serializer.fields.items() if not field.read_only]


def instance_fields_serializer(model) -> type[StrictModelSerializer]:
    """The instance's business fields (what the override form edits, and what the API shows)."""
    return form_serializer(model, tuple(own_field_names(model)))


EMPTY_NEXT_TASKS = (
    'An empty list would end the instance: send "end_instance": true to end it, or leave '
    "next_tasks out to change fields only (the open tasks keep running)."
)
NOTHING_TO_DO = (
    'Nothing to do: send fields to change, next_tasks to start, or "end_instance": true.'
)
COMMENT_WITHOUT_OVERRIDE = (
    "A comment is kept on the tasks an override cancels and records: send it with next_tasks "
    'or "end_instance": true (a change of fields only records no task).'
)
ACTION_KEYS = ("next_tasks", "end_instance", "comment")
"""The override body's own keys, beside the instance's fields."""


@cache
def override_serializer(model) -> type[StrictModelSerializer]:
    """The instance's fields (partial), plus ``next_tasks`` (node names an override may start,
    ``joeflow_temporal.overrides``) or ``end_instance``, and with either a ``comment``; neither:
    the fields only."""
    base = instance_fields_serializer(model)

    class OverrideSerializer(base):  # type: ignore[valid-type,misc]  # a base made per class
        next_tasks = serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="Open tasks are canceled and these start next. Leave it out to change "
            "fields only (the open tasks keep running).",
        )
        end_instance = serializers.BooleanField(
            required=False,
            help_text="true: cancel the open tasks and start nothing; the instance ends.",
        )
        comment = comment_field()

        class Meta(base.Meta):  # type: ignore[name-defined]  # as the class above
            fields = [*base.Meta.fields, *ACTION_KEYS]

        def validate_next_tasks(self, value):
            graph = model.get_graph_spec()
            refused = {
                position: [reason]
                for position, name in enumerate(value)
                if (reason := overrides.refuse_name(graph, name))
            }
            if refused:
                raise serializers.ValidationError(refused)
            names = list(dict.fromkeys(value))
            stuck = overrides.stuck_joins(graph, names)
            if stuck:
                raise serializers.ValidationError(stuck)
            return names

        def validate(self, attrs):
            next_tasks = attrs.get("next_tasks")
            end = attrs.get("end_instance", False)
            if end and next_tasks:
                raise serializers.ValidationError(
                    {"end_instance": ["Send next_tasks or end_instance, not both."]}
                )
            if next_tasks == [] and not end:
                raise serializers.ValidationError({"next_tasks": [EMPTY_NEXT_TASKS]})
            if "comment" in attrs and not (next_tasks or end):
                raise serializers.ValidationError({"comment": [COMMENT_WITHOUT_OVERRIDE]})
            if not end and not {key for key in attrs if key != "end_instance"}:
                raise serializers.ValidationError(NOTHING_TO_DO)
            return attrs

        def update(self, instance, validated_data):
            fields = {k: v for k, v in validated_data.items() if k not in ACTION_KEYS}
            return super().update(instance, fields)

    OverrideSerializer.__name__ = f"{model.__name__}Override"
    return OverrideSerializer


class InstanceTaskSerializer(serializers.ModelSerializer):
    """A task as part of its instance."""

    parents: serializers.PrimaryKeyRelatedField[Task] = serializers.PrimaryKeyRelatedField(
        source="parent_task_set", many=True, read_only=True
    )
    candidate_groups: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="name",
        many=True,
        read_only=True,
        help_text="Names of the groups whose members may claim and complete the task while it "
        "has no assignees (none: anyone may).",
    )
    overdue = serializers.SerializerMethodField(
        help_text="Scheduled and past its `due` date (what `?overdue=true` lists)."
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "name",
            "type",
            "status",
            "parents",
            "assignees",
            "candidate_groups",
            "completed_by_user",
            "created",
            "modified",
            "completed",
            "due",
            "overdue",
            "priority",
            "comment",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "assignees": {"help_text": "Ids of the users the task is assigned to."},
            "due": {"help_text": "When the task is due (null: no due date)."},
            "priority": {"help_text": "Higher first in the inbox (`?ordering=-priority`)."},
            "comment": {
                "help_text": "Why the last manual or timed action happened (rerun, cancel, "
                "override, timeout)."
            },
        }

    def get_overdue(self, task) -> bool:
        return task.status == Task.SCHEDULED and task.due is not None and task.due < timezone.now()


class TaskSerializer(InstanceTaskSerializer):
    """A task in the inbox: which workflow and instance it belongs to."""

    workflow = serializers.SerializerMethodField(help_text="The workflow's label.")
    workflow_id = serializers.IntegerField(source="_workflow_id", read_only=True)

    class Meta(InstanceTaskSerializer.Meta):
        fields = [*InstanceTaskSerializer.Meta.fields, "workflow", "workflow_id", "exception"]
        read_only_fields = fields

    def get_workflow(self, task) -> str:
        return content_type_label(task.content_type)


def content_type_label(content_type: ContentType) -> str:
    """A workflow class's label, ``app_label.modelname``, from its (proxy's own) content type."""
    return f"{content_type.app_label}.{content_type.model}"


class TaskDetailSerializer(TaskSerializer):
    """One task, with the fields its view edits: current values and how to fill them in."""

    fields = serializers.SerializerMethodField(method_name="get_field_values")  # type: ignore[assignment]  # a declared field
    form = serializers.SerializerMethodField(method_name="get_form")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "stacktrace", "fields", "form"]
        read_only_fields = fields

    def view_serializer(self, task):
        if task.type != Task.HUMAN:
            return None
        node = task.node
        if node is None:
            return None
        return form_serializer(type(task.workflow), view_fields(node))(task.workflow)

    @extend_schema_field(
        {"type": "object", "nullable": True, "additionalProperties": True},
    )
    def get_field_values(self, task):
        """Current values of the fields the task's view edits (null for machine tasks)."""
        serializer = self.view_serializer(task)
        if serializer is None:
            return None
        return {
            name: value
            for name, value in serializer.data.items()
            if not serializer.fields[name].read_only
        }

    @extend_schema_field(
        {"type": "object", "nullable": True, "additionalProperties": {"type": "object"}},
    )
    def get_form(self, task):
        """Each field's type, whether it is required, its choices..., as OPTIONS describes it."""
        serializer = self.view_serializer(task)
        if serializer is None:
            return None
        info = SimpleMetadata().get_serializer_info(serializer)
        return {name: spec for name, spec in info.items() if not spec.get("read_only")}


class NextTaskSerializer(serializers.ModelSerializer):
    """A task that directly follows the one just completed or started."""

    url = serializers.SerializerMethodField(
        help_text="The HTML page that completes a scheduled human task, else null."
    )

    class Meta:
        model = Task
        fields = ["id", "name", "type", "status", "url"]
        read_only_fields = fields

    def get_url(self, task) -> str | None:
        return task.get_absolute_url()


class NextTasksMixin(serializers.Serializer):
    """``next_tasks``: the tasks mirrored right after the action (``context["next_tasks"]``).

    The action waited for the engine (``JOEFLOW_TEMPORAL_SYNC_TIMEOUT``), so these are the
    tasks joeflow would have created in the request; empty if the engine was not done yet.
    """

    next_tasks = serializers.SerializerMethodField()

    @extend_schema_field(NextTaskSerializer(many=True))
    def get_next_tasks(self, obj):
        return NextTaskSerializer(self.context.get("next_tasks", []), many=True).data


def instance_status(instance) -> str:
    return "ended" if instance.completed else "running"


class TaskReferenceSerializer(serializers.ModelSerializer):
    """A task of another instance, named as the inbox names tasks: which, and whose."""

    workflow = serializers.SerializerMethodField(help_text="The label of the task's instance.")
    workflow_id = serializers.IntegerField(
        source="_workflow_id", read_only=True, help_text="The id of the task's instance."
    )

    class Meta:
        model = Task
        fields = ["id", "name", "status", "workflow", "workflow_id"]
        read_only_fields = fields

    def get_workflow(self, task) -> str:
        return content_type_label(task.content_type)


class FailedTaskSerializer(serializers.ModelSerializer):
    """A failed task of a child instance: what keeps it (and its parent's task) from going on."""

    class Meta:
        model = Task
        fields = ["id", "name", "exception"]
        read_only_fields = fields


class ChildInstanceSerializer(serializers.Serializer):
    """An instance one of this instance's `Subworkflow` tasks started, and its failed tasks."""

    # Of a base ``Workflow`` row as ``relatives.child_workflows`` loads it.

    id = serializers.IntegerField(source="pk", read_only=True)
    workflow = serializers.SerializerMethodField(help_text="The child's label.")
    status = serializers.SerializerMethodField(help_text="`running` or `ended`, as an instance's.")
    parent_task = serializers.IntegerField(
        source="parent_task_id", read_only=True, help_text="The id of the task that started it."
    )
    parent_item = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Its position among the items of that task's `for_each` (0 without one).",
    )
    created = serializers.DateTimeField(read_only=True)
    completed = serializers.DateTimeField(read_only=True, allow_null=True)
    failed_tasks = FailedTaskSerializer(
        many=True,
        read_only=True,
        help_text="Its tasks that failed and wait for a rerun or a cancel: the parent's task "
        "waits for them too.",
    )

    def get_workflow(self, child) -> str:
        return content_type_label(ContentType.objects.get_for_id(child.class_content_type_id))

    @extend_schema_field(str)
    def get_status(self, child) -> str:
        return instance_status(child)


class InstanceSerializer(serializers.Serializer):
    """A workflow instance: its fields, its tasks, and whether the engine is done with it;
    the task that started it, if a parent's did, and the instances its own tasks started."""

    id = serializers.IntegerField(source="pk", read_only=True)
    workflow = serializers.CharField(
        source="_meta.label_lower", read_only=True, help_text="The label."
    )
    status = serializers.SerializerMethodField(
        help_text="`running` until the engine finished or canceled the instance, then `ended`."
    )
    created = serializers.DateTimeField(read_only=True)
    modified = serializers.DateTimeField(read_only=True)
    completed = serializers.DateTimeField(read_only=True, allow_null=True)
    fields = serializers.SerializerMethodField(method_name="get_field_values")  # type: ignore[assignment]  # a declared field
    tasks = InstanceTaskSerializer(source="task_set", many=True, read_only=True)
    parent_task = TaskReferenceSerializer(
        read_only=True,
        allow_null=True,
        help_text="The parent instance's `Subworkflow` task that started this instance; null "
        "for a top-level instance.",
    )
    children = serializers.SerializerMethodField(
        help_text="The instances this one's `Subworkflow` tasks started, by task and item."
    )

    @extend_schema_field(str)  # no enum: a second "status" enum would need a project setting
    def get_status(self, instance) -> str:
        return instance_status(instance)

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_field_values(self, instance):
        """The workflow model's own fields."""
        return instance_fields_serializer(type(instance))(instance).data

    @extend_schema_field(ChildInstanceSerializer(many=True))
    def get_children(self, instance):
        """Each task's children, from what ``api.workflows.instances_of`` prefetched."""
        children = [child for task in instance.task_set.all() for child in task.child_workflows]
        return ChildInstanceSerializer(children, many=True).data


class NodeSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=[type.value for type in TaskType])
    kind = serializers.ChoiceField(
        choices=[kind.value for kind in NodeKind],
        help_text="`start_view` nodes start instances through the API; `view` nodes are "
        "human tasks to complete.",
    )
    wait = serializers.DurationField(allow_null=True, help_text="A `wait` node's duration.")
    join = serializers.ListField(child=serializers.CharField(), help_text="A join's parents.")
    fields = serializers.ListField(  # type: ignore[assignment]  # a declared field
        child=serializers.CharField(),
        allow_null=True,
        help_text="The fields a human task's body sets (null for machine tasks).",
    )


class WorkflowTypeSerializer(serializers.Serializer):
    """A registered workflow class and its graph (the serializer's instance is the class).

    A class with system check errors is listed with them, and without a graph: what the
    errors are about may be just what a description would need.
    """

    label = serializers.CharField(  # type: ignore[assignment]  # a declared field
        source="_meta.label_lower", help_text="`app_label.modelname`, the `{workflow}` of URLs."
    )
    name = serializers.CharField(source="__name__")
    verbose_name = serializers.CharField(source="_meta.verbose_name")
    nodes = serializers.SerializerMethodField()
    edges = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField(  # type: ignore[assignment]  # a declared field
        help_text="The class's system check errors (`id: message`), which keep its instances "
        "from being started or worked on; empty for a class without any."
    )

    def to_representation(self, cls):
        self.class_errors = errors_of(cls)
        if self.class_errors:
            fields = {"label": cls._meta.label_lower, "name": cls.__name__}
            fields["verbose_name"] = str(cls._meta.verbose_name)
            return {**fields, "nodes": [], "edges": [], "errors": self.class_errors}
        return super().to_representation(cls)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_errors(self, cls) -> list[str]:
        return self.class_errors

    @extend_schema_field(NodeSerializer(many=True))
    def get_nodes(self, cls):
        human = cls.get_human_nodes()
        nodes = [
            {
                **node.model_dump(include={"name", "type", "kind", "wait", "join"}),
                "fields": writable_field_names(cls, view_fields(human[name]))
                if name in human
                else None,
            }
            for name, node in cls.get_graph_spec().nodes.items()
        ]
        return NodeSerializer(nodes, many=True).data

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
            help_text="`[from, to]` node names.",
        )
    )
    def get_edges(self, cls):
        return [list(edge) for edge in cls.get_graph_spec().edges]


class StartedInstanceSerializer(NextTasksMixin, InstanceSerializer):
    """The instance just started, and the tasks that follow its start."""


class CompletedTaskSerializer(NextTasksMixin, TaskDetailSerializer):
    """The task just completed, and the tasks that follow it."""

    class Meta(TaskDetailSerializer.Meta):
        fields = [*TaskDetailSerializer.Meta.fields, "next_tasks"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    """An event sent to an instance (``WorkflowEvent``)."""

    task: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The id of the `Event` task that consumed it; null while it waits for one "
        "(the instance has not reached that task yet).",
    )

    class Meta:
        model = WorkflowEvent
        fields = ["id", "name", "event_id", "data", "created", "task", "sent_by"]
        read_only_fields = fields
        extra_kwargs = {
            "event_id": {
                "help_text": "The sender's idempotency key (a random one if none was sent)."
            },
            "data": {"help_text": "The fields the event set on the instance, as sent."},
            "sent_by": {"help_text": "The id of the user who sent it."},
        }


EVENT_ID_HELP = (
    "Your idempotency key (at most 255 characters): an event_id this instance got before is "
    "not applied again (200 with the earlier event). Leave it out for a random one."
)


@cache
def event_serializer(model, event_fields: tuple[str, ...]) -> type[StrictModelSerializer]:
    """The body of an event: the ``Event`` node's ``fields`` (validated as a task view's form,
    ``form_serializer``), plus an optional ``event_id``. It validates only: the event's data is
    saved by ``Workflow.send_event``."""
    base = form_serializer(model, event_fields)

    class EventBodySerializer(base):  # type: ignore[valid-type,misc]  # a base made per class
        event_id = StrictCharField(required=False, max_length=255, help_text=EVENT_ID_HELP)

        class Meta(base.Meta):  # type: ignore[name-defined]  # as the class above
            fields = [*event_fields, "event_id"]

    EventBodySerializer.__name__ = f"{model.__name__}Event"
    return EventBodySerializer
