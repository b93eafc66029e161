"""JSON errors of the API, and the one place where domain exceptions become HTTP statuses."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler as drf_exception_handler

from joeflow_temporal.exceptions import (
    InstanceNotRunning,
    Refused,
    TaskNotScheduled,
    TemporalUnavailable,
)

logger = logging.getLogger(__name__)


class Conflict(APIException):
    """The task or instance is not in a state for this action (already done, ended...)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This task or instance is not in a state for this action."
    default_code = "conflict"


class ServiceUnavailable(APIException):
    """Temporal could not be reached: the transaction rolled back, so nothing was written."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The workflow engine cannot be reached; nothing was written. Try again later."
    default_code = "engine_unavailable"


class DatabaseUnavailable(APIException):
    """The database could not be reached (or stayed locked): the transaction rolled back."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database cannot be reached; try again later."
    default_code = "database_unavailable"


class Misconfigured(APIException):
    """The workflow class has system check errors that keep this request from being served:
    the project's definition, not the request, is at fault; nothing was written."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "The workflow class is misconfigured; `manage.py check` names the fix."
    default_code = "misconfigured"


class PayloadTooLarge(APIException):
    """The body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``: refused before anything is read."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this server accepts; nothing was written."
    default_code = "too_large"


ENDED = "This workflow instance has ended; it takes no more changes."


def translate(exc: Exception) -> Exception:
    """The API exception for a domain exception (others pass through unchanged).

    A ``Refused`` keeps its message and status; a bare ``TaskNotScheduled`` or
    ``InstanceNotRunning`` (the views explain the ones they expect) is a 409.
    """
    if isinstance(exc, Refused):
        error = APIException(exc.message, code=exc.code)
        error.status_code = exc.status
        return error
    if isinstance(exc, TaskNotScheduled):
        return Conflict(str(exc), code="task_not_scheduled")
    if isinstance(exc, InstanceNotRunning):
        return Conflict(ENDED, code="instance_not_running")
    if isinstance(exc, TemporalUnavailable):
        logger.warning("Answered 503: %s", exc)
        return ServiceUnavailable()
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("Database unavailable: %s", exc, exc_info=exc)
        return DatabaseUnavailable()
    return exc


def exception_handler(exc, context):
    """DRF's handler, after translating the domain exceptions (409, 503), Django's 413 and
    database outages (503: a transient failure, not the client's fault; logged as an error).

    Django would answer a too large body with its HTML 400 page, and an outage with a 500.
    Any other error, on a workflow class that has system check errors, is answered as a JSON
    500 that lists them (``Misconfigured``, logged as an error); else Django's 500 follows.
    """
    response = drf_exception_handler(translate(exc), context)
    if response is None:
        misconfigured = misconfiguration(context["view"], exc)
        if misconfigured is not None:
            return drf_exception_handler(misconfigured, context)
    return response


def misconfiguration(view, exc: Exception) -> Misconfigured | None:
    """``Misconfigured`` if the class the view serves has system check errors, else None."""
    from joeflow_temporal.checks import errors_of

    workflow_class = getattr(view, "served_workflow_class", lambda: None)()
    errors = errors_of(workflow_class) if workflow_class is not None else []
    if workflow_class is None or not errors:
        return None
    logger.error(
        "Answered 500: %s has system check errors: %s",
        workflow_class._meta.label_lower,
        "; ".join(errors),
        exc_info=exc,
    )
    return Misconfigured(
        f"{workflow_class._meta.label_lower} is misconfigured, so this request cannot be "
        f"served; nothing was written. {' '.join(errors)} Run `manage.py check` for the fix."
    )
