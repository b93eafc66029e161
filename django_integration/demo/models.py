"""The demo workflows: the seed tutorial's welcome and shipping workflows, split/join/wait, an
expense approval with candidate groups, a due date, reminders and escalation, and a nightly
report started by a Temporal Schedule."""

import logging
import os
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import models

from joeflow_temporal import tasks
from joeflow_temporal.models import Workflow

logger = logging.getLogger(__name__)


class WelcomeWorkflowState(Workflow):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, blank=True, null=True
    )


class WelcomeWorkflow(WelcomeWorkflowState):
    start = tasks.StartView(fields=["user"])

    def has_user(self):
        if self.user:
            return [self.send_welcome_email]
        return [self.end]

    def send_welcome_email(self):
        self.user.email_user(subject="Welcome", message=f"Hello {self.user.get_short_name()}!")

    def end(self):
        pass

    edges = [
        (start, has_user),
        (has_user, end),
        (has_user, send_welcome_email),
        (send_welcome_email, end),
    ]

    class Meta:
        proxy = True


class Shipment(Workflow):
    email = models.EmailField(blank=True)
    shipping_address = models.TextField()
    tracking_code = models.TextField(blank=True)


class ShippingWorkflow(Shipment):
    checkout = tasks.StartView(fields=["shipping_address", "email"])
    ship = tasks.UpdateView(fields=["tracking_code"])

    def has_email(self, task):
        if self.email:
            return [self.send_tracking_code]

    def send_tracking_code(self):
        send_mail(
            subject="Your tracking code",
            message=self.tracking_code,
            from_email=None,
            recipient_list=[self.email],
        )

    def end(self):
        pass

    edges = [
        (checkout, ship),
        (ship, has_email),
        (has_email, send_tracking_code),
        (has_email, end),
        (send_tracking_code, end),
    ]

    class Meta:
        proxy = True


class Patrol(Workflow):
    batman_rounds = models.PositiveIntegerField(default=0)
    robin_rounds = models.PositiveIntegerField(default=0)


class PatrolWorkflow(Patrol):
    """Split into two concurrent branches, join them, wait a little, and finish."""

    start = tasks.Start()

    def split(self):
        return [self.batman, self.robin]

    def batman(self):
        self.batman_rounds += 1
        self.save(update_fields=["batman_rounds"])

    def robin(self):
        self.robin_rounds += 1
        self.save(update_fields=["robin_rounds"])

    join = tasks.Join("batman", "robin")
    rest = tasks.Wait(timedelta(seconds=3))

    def end(self):
        pass

    edges = [
        (start, split),
        (split, batman),
        (split, robin),
        (batman, join),
        (robin, join),
        (join, rest),
        (rest, end),
    ]

    class Meta:
        proxy = True


REVIEWERS = "expense reviewers"
MANAGERS = "expense managers"
"""The demo's candidate groups (a data migration creates them); add users to them in the admin."""


def seconds_from_environment(name: str, default: timedelta) -> timedelta:
    """``timedelta(seconds=$name)``, else ``default``: short durations for a demo or a test."""
    value = os.environ.get(name)
    return timedelta(seconds=float(value)) if value else default


class Expense(Workflow):
    description = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    approved = models.BooleanField(default=False)


class ExpenseWorkflow(Expense):
    """An expense to approve: offered to the expense reviewers, who get reminded while it waits;
    not decided by its due date, it goes to the expense managers instead.

    ``DEMO_EXPENSE_REVIEW_DUE`` and ``DEMO_EXPENSE_REMIND_EVERY`` (seconds, from the environment)
    shorten the two minutes and the minute.
    """

    submit = tasks.StartView(fields=["description", "amount"])
    review = tasks.UpdateView(
        fields=["approved"],
        candidate_groups=[REVIEWERS],
        due=seconds_from_environment("DEMO_EXPENSE_REVIEW_DUE", timedelta(minutes=2)),
        remind_every=seconds_from_environment("DEMO_EXPENSE_REMIND_EVERY", timedelta(minutes=1)),
        on_timeout="escalate",
    )
    escalate = tasks.UpdateView(fields=["approved"], candidate_groups=[MANAGERS])

    def end(self):
        pass

    edges = [(submit, review), (review, end), (escalate, end)]

    def on_task_reminder(self, task):
        """Log who is waited for (and e-mail them, with ``JOEFLOW_TEMPORAL_NOTIFY_EMAIL``)."""
        super().on_task_reminder(task)
        logger.info(
            "Reminder: %s #%s waits for %s since %s (due %s): %s",
            self._meta.verbose_name,
            self.pk,
            task.name,
            task.created,
            task.due,
            ", ".join(group.name for group in task.candidate_groups.all()) or "anyone",
        )

    class Meta:
        proxy = True


class NightlyReport(Workflow):
    day = models.DateField(null=True, blank=True, editable=False)
    instance_count = models.PositiveIntegerField(default=0, editable=False)


class NightlyReportWorkflow(NightlyReport):
    """Started every night at 02:00 UTC by a Temporal Schedule (``manage.py sync_schedules``,
    which the worker runs at start-up): counts the workflow instances created the day before."""

    start = tasks.Start(schedule="0 2 * * *")

    def count_instances(self):
        self.day = (self.created - timedelta(days=1)).date()
        self.instance_count = Workflow.objects.filter(created__date=self.day).count()
        self.save(update_fields=["day", "instance_count"])

    edges = [(start, count_instances)]

    class Meta:
        proxy = True
