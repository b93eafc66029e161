"""Query-string filters of the inbox and the instance lists, validated like a body (400)."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import F
from rest_framework import serializers
from rest_framework.filters import BaseFilterBackend
from rest_framework.utils import html

from joeflow_temporal.models import Task
from joeflow_temporal.registry import get_workflows

ME = "me"
TRUE = "true"
RUNNING = "running"
ENDED = "ended"


def workflow_labels() -> list[str]:
    return sorted(cls._meta.label_lower for cls in get_workflows())


class QuerySerializer(serializers.Serializer):
    """Query-string filters: an empty value (``?status=``) is a wrong value, not an absent one.

    DRF reads form-like input leniently (a blank value of an optional field counts as omitted);
    the query string is read as plain data instead, so that it gets the same 400 as a body.
    """

    def to_internal_value(self, data):
        if html.is_html_input(data):
            data = {
                name: data.getlist(name)
                if isinstance(field, serializers.MultipleChoiceField)
                else data[name]
                for name, field in self.fields.items()
                if name in data
            }
        return super().to_internal_value(data)


ORDERINGS = {
    "due": (F("due").asc(nulls_last=True), "-pk"),
    "-due": (F("due").desc(nulls_last=True), "-pk"),
    "priority": ("priority", "-pk"),
    "-priority": ("-priority", "-pk"),
    "created": ("created", "-pk"),
    "-created": ("-created", "-pk"),
}
"""``?ordering=``: the inbox's sort orders (tasks without a due date last either way; the
newest first among equals). Without it: newest first."""


class TaskFilterSerializer(QuerySerializer):
    status = serializers.MultipleChoiceField(choices=Task.STATUSES, required=False)
    type = serializers.ChoiceField(choices=Task.TYPES, required=False)
    workflow = serializers.MultipleChoiceField(choices=[], required=False)
    assignee = serializers.ChoiceField(choices=[ME], required=False)
    candidate = serializers.ChoiceField(choices=[ME], required=False)
    overdue = serializers.ChoiceField(choices=[TRUE], required=False)
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].choices = workflow_labels()


def query_parameter(name: str, description: str, enum: list[str], many: bool = False) -> dict:
    schema: dict[str, Any] = {"type": "string", "enum": enum}
    if many:
        schema = {"type": "array", "items": schema}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **({"style": "form", "explode": True} if many else {}),
    }


class TaskFilter(BaseFilterBackend):
    """``status`` and ``workflow`` (repeatable), ``type``, ``assignee=me``, ``candidate=me``,
    ``overdue=true``, and the sort order ``ordering``."""

    def filter_queryset(self, request, queryset, view):
        params = TaskFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if data.get("status"):
            queryset = queryset.filter(status__in=data["status"])
        if data.get("type"):
            queryset = queryset.filter(type=data["type"])
        if data.get("workflow"):
            classes = [cls for cls in get_workflows() if cls._meta.label_lower in data["workflow"]]
            types = ContentType.objects.get_for_models(*classes, for_concrete_models=False)
            queryset = queryset.filter(content_type__in=types.values())
        if data.get("assignee") == ME:
            queryset = queryset.filter(assignees=request.user)
        if data.get("candidate") == ME:
            queryset = queryset.claimable_by(request.user)
        if data.get("overdue") == TRUE:
            queryset = queryset.overdue()
        if data.get("ordering"):
            queryset = queryset.order_by(*ORDERINGS[data["ordering"]])
        return queryset

    def get_schema_operation_parameters(self, view):
        return [
            query_parameter(
                "status", "Only tasks in these states.", [s for s, _ in Task.STATUSES], many=True
            ),
            query_parameter(
                "type", "Only human or only machine tasks.", [t for t, _ in Task.TYPES]
            ),
            query_parameter(
                "workflow", "Only tasks of these workflows (labels).", workflow_labels(), many=True
            ),
            query_parameter("assignee", "`me`: only tasks assigned to you.", [ME]),
            query_parameter(
                "candidate",
                "`me`: only tasks you may claim now (scheduled, unassigned, and offered to "
                "everyone or to one of your groups).",
                [ME],
            ),
            query_parameter("overdue", "`true`: only scheduled tasks past their due date.", [TRUE]),
            query_parameter(
                "ordering",
                "Sort by due date, priority or creation time (`-`: descending). Tasks without a "
                "due date come last; among equals, the newest first. Default: newest first.",
                list(ORDERINGS),
            ),
        ]


class InstanceFilterSerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=[RUNNING, ENDED], required=False)


class InstanceFilter(BaseFilterBackend):
    """``status=running`` (not completed yet) or ``status=ended``."""

    def filter_queryset(self, request, queryset, view):
        params = InstanceFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        wanted = params.validated_data.get("status")
        if wanted:
            queryset = queryset.filter(completed__isnull=wanted == RUNNING)
        return queryset

    def get_schema_operation_parameters(self, view):
        return [
            query_parameter(
                "status", "`running` or `ended` (the engine finished it).", [RUNNING, ENDED]
            )
        ]
