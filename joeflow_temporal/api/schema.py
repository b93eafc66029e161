"""What the OpenAPI document says about bodies the serializers cannot describe, and errors."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from joeflow_temporal.api.filters import workflow_labels
from joeflow_temporal.api.serializers import COMMENT_MAX_LENGTH, EVENT_ID_HELP, EventSerializer
from joeflow_temporal.api.workflows import event_names

NODE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class EndpointSchema(SpectacularAutoSchema):
    """drf-spectacular's, with the path parameters it cannot infer: labels, node names and
    event names.

    The labels and event names are listed when the document is generated, so they follow the
    registry.
    """

    def get_override_parameters(self):
        parameters = []
        if "{workflow}" in self.path:
            parameters.append(
                OpenApiParameter(
                    "workflow",
                    str,
                    OpenApiParameter.PATH,
                    enum=workflow_labels(),
                    description="The workflow's label, `app_label.modelname`.",
                )
            )
        if "{task}" in self.path:
            parameters.append(
                OpenApiParameter(
                    "task",
                    str,
                    OpenApiParameter.PATH,
                    pattern=NODE_NAME_PATTERN,
                    description="The name of one of the workflow's start views.",
                )
            )
        if "{name}" in self.path:
            names = event_names()
            parameters.append(
                OpenApiParameter(
                    "name",
                    str,
                    OpenApiParameter.PATH,
                    enum=names or None,
                    description="The name of one of the workflow's `Event` nodes.",
                )
            )
        return [*super().get_override_parameters(), *parameters]


def document(**kwargs):
    """``extend_schema`` for a view method, based on drf-spectacular's ``AutoSchema``.

    ``extend_schema`` otherwise builds on the project's ``DEFAULT_SCHEMA_CLASS``, which is DRF's
    own unless the project changed it, and the document would then fail to generate.
    """

    def decorator(method):
        method.schema = EndpointSchema
        return extend_schema(**kwargs)(method)

    return decorator


class ErrorSerializer(serializers.Serializer):
    """Every error but field errors: ``{"detail": "..."}``."""

    detail = serializers.CharField()


MESSAGES = {"type": "array", "items": {"type": "string"}}

FIELD_ERRORS = {
    "type": "object",
    "description": "Field errors: each key a field (or `non_field_errors`) and its messages; "
    "a list field's messages are keyed by the position of the wrong item. A body that is not "
    "JSON, or a wrong query string, gets `detail` instead.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {
        "anyOf": [MESSAGES, {"type": "object", "additionalProperties": MESSAGES}]
    },
}

DESCRIPTIONS = {
    400: "Invalid body or query: field errors, malformed JSON, unknown or read-only fields.",
    401: "Not authenticated (session or HTTP basic authentication).",
    403: "Authenticated, but lacking the permission, or the task is assigned to someone else "
    "or offered to groups you are not in.",
    404: "Unknown workflow, instance, task or node, or a page past the last one.",
    409: "The task or instance is not in a state for this action (already completed, ended...).",
    413: "The body is larger than the server accepts (`DATA_UPLOAD_MAX_MEMORY_SIZE`).",
    415: "The body is not `application/json`.",
    503: "Temporal cannot be reached; nothing was written. Try again.",
}


def errors(*codes: int) -> dict:
    """Error responses for ``extend_schema(responses=...)``; 401 comes with every call."""
    responses = {}
    for code in sorted({401, *codes}):
        body = FIELD_ERRORS if code == 400 else ErrorSerializer
        responses[code] = OpenApiResponse(body, description=DESCRIPTIONS[code])
    return responses


FIELDS_BODY = {
    "application/json": {
        "type": "object",
        "description": "The fields the task's view edits (see the node's `fields` in "
        "`GET workflows/` or the task's `form` in `GET tasks/{id}/`), validated as its form.",
        "additionalProperties": True,
    }
}

OVERRIDE_BODY = {
    "application/json": {
        "type": "object",
        "properties": {
            "next_tasks": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "description": "Node names to start after canceling the open tasks (not start "
                "views, `Start` or joins, nor tasks leading to a join whose other parents none "
                "of them reaches). Leave it out to change fields only: the open tasks keep "
                "running.",
            },
            "end_instance": {
                "type": "boolean",
                "description": "`true`: cancel the open tasks and start nothing; the instance "
                "ends. Not together with `next_tasks`.",
            },
            "comment": {
                "type": "string",
                "maxLength": COMMENT_MAX_LENGTH,
                "description": "Why: kept on the canceled tasks and the `override` task, and "
                "sent to Temporal as the reason. Only with `next_tasks` or `end_instance`.",
            },
        },
        "description": "Any of the instance's own fields to change, and `next_tasks` or "
        "`end_instance` to move the instance (neither: the fields only), with an optional "
        "`comment`.",
        "additionalProperties": True,
    }
}
EVENT_BODY = {
    "application/json": {
        "type": "object",
        "properties": {
            "event_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "description": EVENT_ID_HELP,
            }
        },
        "description": "The fields of the `Event` node (its `fields`), validated as a task's "
        "form and saved to the instance, and an optional `event_id`.",
        "additionalProperties": True,
    }
}
EVENT_SENT = OpenApiResponse(EventSerializer, description="The event, recorded.")
EVENT_DUPLICATE = OpenApiResponse(
    EventSerializer,
    description="The instance got this `event_id` before: the earlier event; nothing changed.",
)
EVENT_EXAMPLE = OpenApiExample(
    "payment received", value={"paid_amount": 30, "event_id": "pay-4711"}, request_only=True
)
START_EXAMPLE = OpenApiExample(
    "shipping checkout",
    value={"shipping_address": "1 Main St", "email": "ada@example.com"},
    request_only=True,
)
COMPLETE_EXAMPLE = OpenApiExample(
    "shipping ship", value={"tracking_code": "1Z999"}, request_only=True
)
OVERRIDE_EXAMPLES = [
    OpenApiExample(
        "restart at ship", value={"next_tasks": ["ship"], "tracking_code": ""}, request_only=True
    ),
    OpenApiExample("end the instance", value={"end_instance": True}, request_only=True),
    OpenApiExample(
        "correct a field only", value={"shipping_address": "1 Main St"}, request_only=True
    ),
]
COMMENT_EXAMPLE = OpenApiExample(
    "with a comment", value={"comment": "The supplier fixed the feed."}, request_only=True
)
ASSIGN_EXAMPLE = OpenApiExample("to two users", value={"assignees": [3, 7]}, request_only=True)
