"""Orders and reminders: human start and approval, a split, a join, a failure and a wait."""

from datetime import timedelta

from django.db import models

from joeflow_temporal import tasks
from joeflow_temporal.models import Workflow


class Order(Workflow):
    customer = models.CharField(max_length=100, blank=True)
    approved = models.BooleanField(default=False)
    packed = models.PositiveIntegerField(default=0)
    invoiced = models.PositiveIntegerField(default=0)
    shipped = models.PositiveIntegerField(default=0)
    fail_shipping = models.BooleanField(default=False)


class OrderWorkflow(Order):
    checkout = tasks.StartView(fields=["customer"])
    start = tasks.Start()
    approve = tasks.UpdateView(fields=["approved"])

    def split(self):
        pass

    def pack(self):
        self.packed += 1
        self.save(update_fields=["packed"])

    def invoice(self):
        self.invoiced += 1
        self.save(update_fields=["invoiced"])

    join = tasks.Join("pack", "invoice")

    def ship(self):
        if self.fail_shipping:
            raise RuntimeError("The carrier is unreachable.")
        self.shipped += 1
        self.save(update_fields=["shipped"])

    def end(self):
        pass

    edges = [
        (checkout, approve),
        (start, approve),
        (approve, split),
        (split, pack),
        (split, invoice),
        (pack, join),
        (invoice, join),
        (join, ship),
        (ship, end),
    ]

    class Meta:
        proxy = True


class Reminder(Workflow):
    reminded = models.PositiveIntegerField(default=0)


class ReminderWorkflow(Reminder):
    start = tasks.Start()
    wait = tasks.Wait(timedelta(seconds=1))

    def remind(self):
        self.reminded += 1
        self.save(update_fields=["reminded"])

    edges = [(start, wait), (wait, remind)]

    class Meta:
        proxy = True
