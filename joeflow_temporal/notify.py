"""The default human-work hooks' e-mail: a link to the task, to whoever may work on it.

Sent only with ``JOEFLOW_TEMPORAL_NOTIFY_EMAIL = True``, through Django's ``send_mail`` (its
``EMAIL_*`` settings and ``DEFAULT_FROM_EMAIL``). The templates
``joeflow_temporal/email/task_<event>_subject.txt`` and ``…_body.txt`` may be overridden.
"""

import logging

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string

from joeflow_temporal import conf

logger = logging.getLogger(__name__)

EVENTS = ("created", "assigned", "reminder")


def recipients(task) -> list[str]:
    """The e-mail addresses of the task's assignees, else of its candidate groups' members
    (active users with an address)."""
    users = task.assignees.all()
    if not users.exists():
        users = get_user_model().objects.filter(groups__in=task.candidate_groups.all())
    return sorted(
        {user.email for user in users.filter(is_active=True).exclude(email="") if user.email}
    )


def task_link(task) -> str | None:
    """The task's page on ``JOEFLOW_TEMPORAL_SITE_URL`` (None for a task without a page)."""
    path = task.get_absolute_url()
    if path is None:
        return None
    return conf.get("JOEFLOW_TEMPORAL_SITE_URL").rstrip("/") + path


def email_task(task, event: str) -> int:
    """E-mail the people who may work on ``task`` that it was ``event`` (``created``,
    ``assigned``, ``reminder``); how many were sent (0 when the setting is off or nobody has
    an address). Raises what ``send_mail`` raises (the hook's activity is retried)."""
    if not conf.get("JOEFLOW_TEMPORAL_NOTIFY_EMAIL"):
        return 0
    to = recipients(task)
    if not to:
        logger.info("Task %s (%s): nobody to e-mail about it being %s", task.pk, task.name, event)
        return 0
    context = {"task": task, "workflow": task.workflow, "event": event, "url": task_link(task)}
    subject = render_to_string(f"joeflow_temporal/email/task_{event}_subject.txt", context)
    body = render_to_string(f"joeflow_temporal/email/task_{event}_body.txt", context)
    return send_mail(" ".join(subject.split()), body, None, to)
