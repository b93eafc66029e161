"""The API's endpoints: DRF generic views over the workflow classes, their instances and tasks.

Each class is an ``…Endpoint`` (the base, ``Endpoint``, is a DRF ``GenericAPIView``): the HTML
pages of the same things are ``joeflow_temporal.views``' ``…View`` s, and no name here is DRF's.

Every view authenticates and checks permissions itself and answers JSON, whatever the project's
DRF defaults, and translates the domain exceptions in one place (``exceptions.exception_handler``).
"""

from collections.abc import Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as FormValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import generics, serializers, status, views
from rest_framework.authentication import (
    BaseAuthentication,
    BasicAuthentication,
    SessionAuthentication,
)
from rest_framework.exceptions import (
    APIException,
    NotAcceptable,
    NotAuthenticated,
    NotFound,
    ParseError,
    ValidationError,
)
from rest_framework.filters import BaseFilterBackend
from rest_framework.pagination import BasePagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.schemas.inspectors import ViewInspector

from joeflow_temporal import refusals
from joeflow_temporal.api import schema
from joeflow_temporal.api.exceptions import exception_handler
from joeflow_temporal.api.filters import ME, InstanceFilter, TaskFilter
from joeflow_temporal.api.pagination import Pagination
from joeflow_temporal.api.permissions import (
    CanCancel,
    CanComplete,
    CanOverride,
    CanRerun,
    CanSendEvent,
)
from joeflow_temporal.api.schema import EndpointSchema
from joeflow_temporal.api.serializers import (
    ActionSerializer,
    AssignSerializer,
    CommentSerializer,
    CompletedTaskSerializer,
    EventSerializer,
    InstanceSerializer,
    StartedInstanceSerializer,
    TaskDetailSerializer,
    TaskSerializer,
    WorkflowTypeSerializer,
    event_serializer,
    form_serializer,
    override_serializer,
)
from joeflow_temporal.api.workflows import (
    get_event_node,
    get_start_node,
    get_workflow_class,
    instances_of,
    task_queryset,
    view_fields,
)
from joeflow_temporal.exceptions import InstanceNotRunning, TaskNotScheduled
from joeflow_temporal.lookups import pk_fits
from joeflow_temporal.models import Task, Workflow
from joeflow_temporal.registry import get_workflows
from joeflow_temporal.runtime import client


class Protected(views.APIView):
    """Signed-in users only, by session or HTTP basic auth, whatever the project's DRF defaults.

    Who is not signed in gets a 401 JSON answer with a ``WWW-Authenticate: Basic`` challenge,
    except a browser opening a page (a ``GET`` that prefers HTML): on that challenge it would
    show its own password prompt, so it is sent to the project's login page instead
    (``settings.LOGIN_URL``, with ``?next=`` back here). Errors are JSON on every view, also on
    those that render something else (the OpenAPI document, the Swagger UI page).
    """

    authentication_classes: Sequence[type[BaseAuthentication]] = [
        SessionAuthentication,
        BasicAuthentication,
    ]
    permission_classes: Sequence[type[BasePermission]] = [IsAuthenticated]

    def handle_exception(self, exc):
        request = self.request
        # Content negotiation comes before authentication: an anonymous browser's "HTML only"
        # is a sign-in question too, not a 406.
        anonymous = isinstance(exc, NotAuthenticated) or (
            isinstance(exc, NotAcceptable) and not signed_in(request)
        )
        if anonymous and browser_opens_page(request):
            response = redirect_to_login(request.get_full_path())
        else:
            response = super().handle_exception(exc)
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        patch_vary_headers(response, ["Accept"])
        return response

    def get_authenticate_header(self, request):
        """Challenge with the first scheme that can (basic), so anonymous calls get a 401.

        DRF asks only the first authentication class, and session authentication has no
        challenge, which would turn every 401 into a 403.
        """
        for authenticator in self.get_authenticators():
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None


def signed_in(request) -> bool:
    """Whether the request's credentials name a user (bad credentials: no)."""
    try:
        return bool(request.user and request.user.is_authenticated)
    except APIException:
        return False


def action_body(request, serializer_class: type[ActionSerializer] = ActionSerializer) -> dict:
    """The validated body of an action: none, or a JSON object of ``serializer_class``'s fields
    (none by default). Anything else is refused before anything is written: malformed JSON
    (400), another content type (415), too large (413), JSON that is no object or has another
    key or a wrong value (400).

    Raises:
        ValidationError, ParseError, UnsupportedMediaType: as above.
    """
    if not isinstance(request.data, dict):
        raise ValidationError(
            {"non_field_errors": ["This action takes no body, or a JSON object."]}
        )
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def browser_opens_page(request) -> bool:
    """Whether ``request`` is a browser opening a page: a read that prefers HTML to JSON.

    Browsers name ``text/html`` in their ``Accept`` header when they navigate; API clients send
    ``application/json``, ``*/*`` or nothing, and so get JSON.
    """
    preferred = request.get_preferred_type(["application/json", "text/html"])
    return request.method in SAFE_METHODS and preferred == "text/html"


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, but a body nested too deep for Python's decoder (``[[[…]]]``, a
    RecursionError) is malformed JSON, a 400, like any other."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class Endpoint(Protected, generics.GenericAPIView):
    """The API's own policy: JSON in and out, errors translated in one place."""

    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    filter_backends: Sequence[type[BaseFilterBackend]] = []
    pagination_class: type[BasePagination] | None = None
    schema: ViewInspector | None = EndpointSchema()

    def get_exception_handler(self):
        return exception_handler

    def served_workflow_class(self) -> type[Workflow] | None:
        """The workflow class this request is about, if it is about one (see
        ``exceptions.misconfiguration``)."""
        return None


@contextmanager
def explained(action: str, *, task=None, instance=None):
    """Raise a refusal that ``action`` met midway (the task closed meanwhile, the execution
    ended) as the ``Refused`` that says what happened (``refusals.explain``)."""
    try:
        yield
    except (TaskNotScheduled, InstanceNotRunning) as error:
        raise refusals.explain(error, action, task=task, instance=instance) from error


class WorkflowClassMixin:
    """Views under ``workflows/{workflow}/``: the class the label names (404 if none)."""

    kwargs: dict[str, Any]
    """The URL's arguments (set by the view it is mixed into)."""

    @cached_property
    def workflow_class(self) -> type[Workflow]:
        return get_workflow_class(self.kwargs["workflow"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return Workflow.objects.none()
        return instances_of(self.workflow_class)

    def get_object(self):
        if not pk_fits(self.workflow_class, self.kwargs["pk"]):
            raise NotFound("No such instance.")
        return super().get_object()

    def served_workflow_class(self) -> type[Workflow] | None:
        try:
            return self.workflow_class
        except NotFound:
            return None


# The root


class RootEndpoint(Endpoint):
    """The API's entry point: its endpoints by name, as absolute URLs (as DRF's API root)."""

    ENDPOINTS = {
        "workflows": "workflow-list",
        "tasks": "task-list",
        "schema": "schema",
        "docs": "swagger-ui",
    }

    @schema.document(
        operation_id="root",
        tags=["root"],
        responses={
            200: inline_serializer("APIRoot", {name: serializers.URLField() for name in ENDPOINTS}),
            **schema.errors(),
        },
    )
    def get(self, request, *args, **kwargs):
        # The namespace this URLconf was included under: the endpoints of this mount point.
        namespace = request.resolver_match.namespace
        return Response(
            {
                name: request.build_absolute_uri(reverse(f"{namespace}:{url_name}"))
                for name, url_name in self.ENDPOINTS.items()
            }
        )


# Workflow types


class WorkflowListEndpoint(Endpoint, generics.ListAPIView):
    """The registered workflow types and their graphs: what can be started, and how."""

    serializer_class = WorkflowTypeSerializer

    def get_queryset(self):
        return sorted(get_workflows(), key=lambda cls: cls._meta.label_lower)

    @schema.document(responses={200: WorkflowTypeSerializer(many=True), **schema.errors()})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WorkflowEndpoint(WorkflowClassMixin, Endpoint, generics.RetrieveAPIView):
    """One workflow type and its graph."""

    serializer_class = WorkflowTypeSerializer

    def get_object(self):
        return self.workflow_class

    @schema.document(responses={200: WorkflowTypeSerializer, **schema.errors(404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StartEndpoint(WorkflowClassMixin, Endpoint):
    """Create an instance through one of its start views and start its Temporal execution.

    The row, its start task and the start of the execution share one transaction: if Temporal
    refuses, nothing is left behind (503).
    """

    serializer_class = StartedInstanceSerializer

    def get_input_serializer_class(self):
        node = get_start_node(self.workflow_class, self.kwargs["task"])
        return form_serializer(self.workflow_class, view_fields(node))

    @schema.document(
        operation_id="workflows_start",
        request=schema.FIELDS_BODY,
        responses={201: StartedInstanceSerializer, **schema.errors(400, 404, 413, 415, 503)},
        examples=[schema.START_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        body = self.get_input_serializer_class()(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            instance = body.save()
            start_task = instance.start_engine(self.kwargs["task"], user=request.user)
        client.wait_followed(instance, start_task.pk)
        instance = self.get_queryset().get(pk=instance.pk)
        location = reverse(
            "joeflow_temporal_api:instance-detail", args=[instance._meta.label_lower, instance.pk]
        )
        serializer = self.get_serializer(
            instance, context={**self.get_serializer_context(), "next_tasks": following(start_task)}
        )
        return Response(
            serializer.data,
            status=status.HTTP_201_CREATED,
            headers={"Location": request.build_absolute_uri(location)},
        )


# Instances


class InstanceListEndpoint(WorkflowClassMixin, Endpoint, generics.ListAPIView):
    """The instances of one workflow type, newest first, with their tasks."""

    serializer_class = InstanceSerializer
    filter_backends = [InstanceFilter]
    pagination_class = Pagination

    @schema.document(responses={200: InstanceSerializer(many=True), **schema.errors(400, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InstanceEndpoint(WorkflowClassMixin, Endpoint, generics.RetrieveAPIView):
    """One instance: its fields, its tasks, and whether the engine is done with it."""

    serializer_class = InstanceSerializer

    @schema.document(responses={200: InstanceSerializer, **schema.errors(404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class InstanceActionEndpoint(WorkflowClassMixin, Endpoint):
    """An action on a running instance; answers the instance as it is afterwards."""

    serializer_class = InstanceSerializer
    action = ""
    """The action's name, for its refusal messages (``refusals.instance_ended``)."""

    def get_running_instance(self) -> Workflow:
        """The instance, unless it has ended (409, saying how and when)."""
        instance = self.get_object()
        if instance.completed:
            raise refusals.instance_ended(instance, self.action)
        return instance

    def respond(self, instance) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=instance.pk)).data)


class InstanceOverrideEndpoint(InstanceActionEndpoint):
    """Change fields; cancel the open tasks and start the chosen ones, or end the instance, when
    the body says so (permission ``override``)."""

    permission_classes = [IsAuthenticated, CanOverride]
    action = "override"

    @schema.document(
        operation_id="workflows_instances_override",
        request=schema.OVERRIDE_BODY,
        responses={200: InstanceSerializer, **schema.errors(400, 403, 404, 409, 413, 415, 503)},
        examples=schema.OVERRIDE_EXAMPLES,
    )
    def post(self, request, *args, **kwargs):
        instance = self.get_running_instance()
        body = override_serializer(self.workflow_class)(instance, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        next_tasks = data.get("next_tasks")
        with explained("override", instance=instance), transaction.atomic():
            body.save()
            if next_tasks or data.get("end_instance"):
                instance.override(
                    next_tasks or [], user=request.user, comment=data.get("comment", "")
                )
        return self.respond(instance)


class InstanceCancelEndpoint(InstanceActionEndpoint):
    """Cancel every open task and end the instance (permission ``cancel``)."""

    permission_classes = [IsAuthenticated, CanCancel]
    action = "cancel"

    @schema.document(
        operation_id="workflows_instances_cancel",
        request=CommentSerializer,
        responses={200: InstanceSerializer, **schema.errors(400, 403, 404, 409, 413, 415, 503)},
        examples=[schema.COMMENT_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        instance = self.get_running_instance()
        body = action_body(request, CommentSerializer)
        with explained("cancel", instance=instance):
            instance.cancel(user=request.user, comment=body.get("comment", ""))
        return self.respond(instance)


class InstanceEventEndpoint(WorkflowClassMixin, Endpoint):
    """Send the event ``{name}`` to an instance (permission ``send_event``): its ``Event`` node
    of that name goes on, now if it waits, else when the instance reaches it.

    The body is the node's ``fields`` (validated as a task view's form) and an optional
    ``event_id``; ``Workflow.send_event`` saves the fields, records the event and signals the
    engine in one transaction. An ``event_id`` the instance got before changes nothing (200
    with the earlier event), also once the instance has ended.
    """

    permission_classes = [IsAuthenticated, CanSendEvent]
    serializer_class = EventSerializer

    @schema.document(
        operation_id="workflows_instances_events",
        request=schema.EVENT_BODY,
        responses={
            201: schema.EVENT_SENT,
            200: schema.EVENT_DUPLICATE,
            **schema.errors(400, 403, 404, 409, 413, 415, 503),
        },
        examples=[schema.EVENT_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        instance = self.get_object()
        name = self.kwargs["name"]
        fields = tuple(get_event_node(self.workflow_class, name).fields)
        body = event_serializer(self.workflow_class, fields)(instance, data=request.data)
        body.is_valid(raise_exception=True)
        data = {field: request.data[field] for field in fields if field in request.data}
        try:
            with explained("send_event", instance=instance):
                event = instance.send_event(
                    name,
                    data,
                    user=request.user,
                    event_id=body.validated_data.get("event_id"),
                )
        except FormValidationError as error:  # what the node's form refuses beyond the body's
            raise ValidationError(field_errors(error)) from error
        answer = status.HTTP_200_OK if event.duplicate else status.HTTP_201_CREATED
        return Response(self.get_serializer(event).data, status=answer)


def field_errors(error: FormValidationError) -> dict[str, list[str]]:
    """A form's errors (``message_dict``) as the API words them: ``non_field_errors`` for the
    form's own."""
    return {
        "non_field_errors" if field == NON_FIELD_ERRORS else field: messages
        for field, messages in error.message_dict.items()
    }


# Tasks


class TaskListEndpoint(Endpoint, generics.ListAPIView):
    """The inbox: tasks assigned to the user or to nobody (superusers: all), newest first."""

    serializer_class = TaskSerializer
    filter_backends = [TaskFilter]
    pagination_class = Pagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        if self.request.query_params.get("candidate") == ME:
            # The filter narrows to claimable_by(user), a part of for_user(user): checking
            # both would only double the subqueries of the inbox's count.
            return task_queryset().order_by("-pk")
        return task_queryset().for_user(self.request.user).order_by("-pk")

    @schema.document(responses={200: TaskSerializer(many=True), **schema.errors(400, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class TaskEndpoint(Endpoint):
    """Any task by id: the inbox hides others' tasks, but acting on one must say 403, not 404."""

    serializer_class = TaskDetailSerializer

    def get_queryset(self):
        return task_queryset()

    def respond(self, task) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=task.pk)).data)

    def served_workflow_class(self) -> type[Workflow] | None:
        task = Task.objects.filter(pk=self.kwargs.get("pk"))
        content_type = task.values_list("content_type", flat=True).first()
        model = ContentType.objects.get_for_id(content_type).model_class() if content_type else None
        return model if model is not None and issubclass(model, Workflow) else None


class TaskDetailEndpoint(TaskEndpoint, generics.RetrieveAPIView):
    """One task, with the fields its view edits."""

    @schema.document(responses={200: TaskDetailSerializer, **schema.errors(404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class TaskCompleteEndpoint(TaskEndpoint):
    """Complete a human task: validate as its view's form, save, mark done, signal; one commit.

    ``Task.completing`` locks the row, so of two concurrent completions one wins and the other
    gets a 409; if Temporal is unreachable nothing is written (503).
    """

    permission_classes = [IsAuthenticated, CanComplete]

    @schema.document(
        operation_id="tasks_complete",
        request=schema.FIELDS_BODY,
        responses={
            200: CompletedTaskSerializer,
            **schema.errors(400, 403, 404, 409, 413, 415, 503),
        },
        examples=[schema.COMPLETE_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        task = self.get_object()
        refused = refusals.refuse_completion(task)
        if refused is not None:
            raise refused
        workflow = task.workflow
        body = form_serializer(type(workflow), view_fields(task.node))(workflow, data=request.data)
        body.is_valid(raise_exception=True)
        with explained("complete", task=task), task.completing(request.user):
            body.save()
        task = self.get_queryset().get(pk=task.pk)
        context = {**self.get_serializer_context(), "next_tasks": following(task)}
        return Response(CompletedTaskSerializer(task, context=context).data)


def following(task: Task) -> list[Task]:
    """The tasks the engine mirrored right after ``task``, in creation order."""
    return list(task.child_task_set.select_related("content_type").order_by("pk"))


class TaskRerunEndpoint(TaskEndpoint):
    """Run a failed task again, reusing its row (permission ``rerun``); an optional
    ``comment`` says why."""

    permission_classes = [IsAuthenticated, CanRerun]

    @schema.document(
        operation_id="tasks_rerun",
        request=CommentSerializer,
        responses={200: TaskDetailSerializer, **schema.errors(400, 403, 404, 409, 413, 415, 503)},
        examples=[schema.COMMENT_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        task = self.get_object()
        body = action_body(request, CommentSerializer)
        with explained("rerun", task=task):
            task.rerun(user=request.user, comment=body.get("comment", ""))
        return self.respond(task)


class TaskCancelEndpoint(TaskEndpoint):
    """Cancel a scheduled or failed task: its branch ends there (permission ``cancel``); an
    optional ``comment`` says why."""

    permission_classes = [IsAuthenticated, CanCancel]

    @schema.document(
        operation_id="tasks_cancel",
        request=CommentSerializer,
        responses={200: TaskDetailSerializer, **schema.errors(400, 403, 404, 409, 413, 415, 503)},
        examples=[schema.COMMENT_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        task = self.get_object()
        body = action_body(request, CommentSerializer)
        with explained("cancel", task=task):
            task.cancel(user=request.user, comment=body.get("comment", ""))
        return self.respond(task)


class TaskClaimEndpoint(TaskEndpoint):
    """Become the sole assignee of a scheduled human task (BPMN's claim): allowed to whoever
    may complete it were it unassigned; 409 if someone else has it."""

    @schema.document(
        operation_id="tasks_claim",
        request=None,
        responses={200: TaskDetailSerializer, **schema.errors(400, 403, 404, 409, 413, 415, 503)},
    )
    def post(self, request, *args, **kwargs):
        task = self.get_object()
        action_body(request)
        with explained("claim", task=task):
            task.claim(request.user)
        return self.respond(task)


class TaskUnclaimEndpoint(TaskEndpoint):
    """Give a claimed task back to its candidates (no assignees): allowed to its assignees and
    to users with permission ``assign``; 409 if nobody has it."""

    @schema.document(
        operation_id="tasks_unclaim",
        request=None,
        responses={200: TaskDetailSerializer, **schema.errors(400, 403, 404, 409, 413, 415)},
    )
    def post(self, request, *args, **kwargs):
        task = self.get_object()
        action_body(request)
        with explained("unclaim", task=task):
            task.unclaim(request.user)
        return self.respond(task)


class TaskAssignEndpoint(TaskEndpoint):
    """Set the assignees of a scheduled human task: permission ``assign``, or a current
    assignee delegating. The permission is checked before the body, so who may not assign
    learns nothing about user ids."""

    @schema.document(
        operation_id="tasks_assign",
        request=AssignSerializer,
        responses={200: TaskDetailSerializer, **schema.errors(400, 403, 404, 409, 413, 415, 503)},
        examples=[schema.ASSIGN_EXAMPLE],
    )
    def post(self, request, *args, **kwargs):
        task = self.get_object()
        refused = refusals.refuse_assign(task, request.user)
        if refused is not None:
            raise refused
        body = action_body(request, AssignSerializer)
        with explained("assign", task=task):
            task.assign(body["assignees"], by=request.user)
        return self.respond(task)


class NoEndpoint(Endpoint):
    """Any other path under the API's own prefixes: a JSON 404 like the endpoints' own.

    Without it, an id that is not a number (``tasks/abc/``) or a label with a slash would fall
    through to the project's HTML 404 page.
    """

    schema = None

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise NotFound("No such endpoint.")

    options = http_method_not_allowed


# The OpenAPI document and its Swagger UI page (not part of the document themselves).
# No ReDoc page: drf-spectacular's loads web fonts from Google, and nothing may come from a CDN.


class SchemaEndpoint(Protected, SpectacularAPIView):
    schema = None


class SwaggerUIEndpoint(Protected, SpectacularSwaggerView):
    schema = None
