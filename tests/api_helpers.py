"""Calling the REST API as a real client would: HTTP basic authentication, JSON bodies."""

import base64

from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.test import APIClient

NS = "joeflow_temporal_api"


def client_for(user=None, password: str = "pw") -> APIClient:
    """A client that sends ``user``'s credentials with every request (anonymous without one)."""
    client = APIClient()
    if user is not None:
        token = base64.b64encode(f"{user.get_username()}:{password}".encode()).decode()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    return client


def make_user(django_user_model, username, *codenames, superuser=False, password: str = "pw"):
    """A user (password ``pw``) holding this app's permissions named by ``codenames``."""
    manager = django_user_model.objects
    create = manager.create_superuser if superuser else manager.create_user
    user = create(username, password=password, email=f"{username}@example.com")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="joeflow_temporal", codename__in=codenames
        )
    )
    return user


def url(name: str, *args) -> str:
    return reverse(f"{NS}:{name}", args=args)


def start_url(workflow_class, task: str) -> str:
    return url("workflow-start", workflow_class.label(), task)


def instance_url(workflow, action: str | None = None) -> str:
    name = f"instance-{action}" if action else "instance-detail"
    return url(name, workflow.label(), workflow.pk)


def task_url(task, action: str | None = None) -> str:
    return url(f"task-{action}" if action else "task-detail", task.pk)


def post(client, path: str, body=None):
    return client.post(path, body if body is not None else {}, format="json")
