"""The demo workflows: the seed tutorial's welcome and shipping workflows, and split/join/wait."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import models

from joeflow_temporal import tasks
from joeflow_temporal.models import Workflow


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
