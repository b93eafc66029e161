"""Workflows that exercise one engine semantic each."""

import json
import os
import time
from datetime import timedelta
from typing import Any

from django import forms as django_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import Group
from django.db import OperationalError, models, transaction

from joeflow_temporal import tasks
from joeflow_temporal.models import Workflow
from tests.testapp import views

CRASHED_AFTER_COMMIT: set[int] = set()
FLAKY_CALLS: dict[int, int] = {}
CREATE_TASK_CALLS: list[tuple[str, str]] = []


class Counter(Workflow):
    count = models.IntegerField(default=0)
    target = models.IntegerField(default=0)
    choice = models.CharField(max_length=50, blank=True)
    flag = models.BooleanField(default=False)
    fail = models.BooleanField(default=False)


class LinearWorkflow(Counter):
    start = tasks.Start()

    def first(self):
        self.count += 1
        self.save(update_fields=["count"])

    def second(self, task):
        self.choice = task.name
        self.save(update_fields=["choice"])
        return True

    def end(self):
        pass

    edges = [(start, first), (first, second), (second, end)]

    class Meta:
        proxy = True


class GatewayWorkflow(Counter):
    start = tasks.Start()

    def choose(self):
        return {
            "method": [self.left],
            "name": ["right"],
            "both": [self.left, "right"],
            "none": [],
            "unknown": ["nowhere"],
            "all": None,
        }[self.choice]

    def left(self):
        pass

    def right(self):
        pass

    edges = [(start, choose), (choose, left), (choose, right)]

    class Meta:
        proxy = True


class PollWorkflow(Counter):
    start = tasks.Start()

    def ready(self):
        self.count += 1
        self.save(update_fields=["count"])
        return self.flag

    def done(self):
        pass

    edges = [(start, ready), (ready, done)]

    class Meta:
        proxy = True


class FailingWorkflow(Counter):
    start = tasks.Start()

    def explode(self):
        self.count += 1
        self.save(update_fields=["count"])
        if self.fail:
            raise ValueError("boom")

    def end(self):
        pass

    edges = [(start, explode), (explode, end)]

    class Meta:
        proxy = True


class FlakyDatabaseWorkflow(Counter):
    start = tasks.Start()

    def flaky(self):
        FLAKY_CALLS[self.pk] = FLAKY_CALLS.get(self.pk, 0) + 1
        if FLAKY_CALLS[self.pk] <= self.target:
            raise OperationalError("server closed the connection unexpectedly")
        self.count += 1
        self.save(update_fields=["count"])

    def end(self):
        pass

    edges = [(start, flaky), (flaky, end)]

    class Meta:
        proxy = True


def crash_once(pk):
    """Fail the activity after its transaction committed, as a connection lost there would
    (a database outage: retried; any other error is recorded as the task's failure)."""
    if pk not in CRASHED_AFTER_COMMIT:
        CRASHED_AFTER_COMMIT.add(pk)
        raise OperationalError("connection lost after commit")


class ExactlyOnceWorkflow(Counter):
    start = tasks.Start()

    def charge(self):
        self.count += 1
        self.save(update_fields=["count"])
        transaction.on_commit(lambda: crash_once(self.pk))

    def end(self):
        pass

    edges = [(start, charge), (charge, end)]

    class Meta:
        proxy = True


class SplitJoinWorkflow(Counter):
    start = tasks.Start()
    review = tasks.UpdateView(fields=["choice"])
    approve = tasks.UpdateView(fields=["flag"])

    def split(self):
        return [self.count_up, self.review, self.approve]

    def count_up(self):
        self.count += 1
        self.save(update_fields=["count"])

    join = tasks.Join("count_up", "review", "approve")

    def end(self):
        pass

    edges = [
        (start, split),
        (split, count_up),
        (split, review),
        (split, approve),
        (count_up, join),
        (review, join),
        (approve, join),
        (join, end),
    ]

    class Meta:
        proxy = True


class WaitWorkflow(Counter):
    start = tasks.Start()
    wait = tasks.Wait(timedelta(seconds=2))

    def end(self):
        pass

    edges = [(start, wait), (wait, end)]

    class Meta:
        proxy = True


class LoopWorkflow(Counter):
    """Loops ``target`` times."""

    start = tasks.Start()

    def increment(self):
        self.count += 1
        self.save(update_fields=["count"])

    def again(self):
        return [self.increment] if self.count < self.target else [self.done]

    def done(self):
        pass

    edges = [(start, increment), (increment, again), (again, increment), (again, done)]

    class Meta:
        proxy = True


class LongLoopWorkflow(LoopWorkflow):
    """The loop, with a human task and a timer running beside it; all three must finish."""

    approve = tasks.UpdateView(fields=["flag"])
    pause = tasks.Wait(timedelta(seconds=3))
    join = tasks.Join()

    def split(self):
        pass

    edges = [
        (LoopWorkflow.start, split),
        (split, LoopWorkflow.increment),
        (split, approve),
        (split, pause),
        (LoopWorkflow.increment, LoopWorkflow.again),
        (LoopWorkflow.again, LoopWorkflow.increment),
        (LoopWorkflow.again, LoopWorkflow.done),
        (LoopWorkflow.done, join),
        (approve, join),
        (pause, join),
    ]

    class Meta:
        proxy = True


class HumanWorkflow(Counter):
    start = tasks.StartView(fields=["choice"])
    edit = tasks.UpdateView(fields=["count"])

    def end(self):
        pass

    edges = [(start, edit), (edit, end)]

    class Meta:
        proxy = True


class LoginRequiredUpdateView(LoginRequiredMixin, tasks.UpdateView):
    """A project's own task view: Django's permission mixins work as on any view.

    It assigns the task to the user named in ``choice`` (joeflow's ``create_task`` hook).
    """

    def create_task(self, workflow, prev_task):
        task = super().create_task(workflow, prev_task)
        task.assignees.set(get_user_model().objects.filter(username=workflow.choice))
        CREATE_TASK_CALLS.append((task.name, prev_task.name))
        return task


class GuardedWorkflow(Counter):
    start = tasks.Start()
    edit = LoginRequiredUpdateView(fields=["count"])

    def end(self):
        pass

    edges = [(start, edit), (edit, end)]

    class Meta:
        proxy = True


CHAOS_EFFECT_SECONDS = 0.2
"""How long a chaos machine task holds its transaction open, so that kills land mid-task."""
CHAOS_POLLS_BEFORE_READY = 3


class Chaos(Workflow):
    """An instance whose machine tasks leave each effect twice: a counter and an Effect row."""

    effects = models.IntegerField(default=0)
    polls = models.IntegerField(default=0)
    note = models.CharField(max_length=50, blank=True)

    def apply_effect(self, task):
        """The database effect of one machine task run, written while the method runs."""
        time.sleep(CHAOS_EFFECT_SECONDS)
        Effect.objects.create(workflow=self, task=task, task_name=task.name)
        self.effects += 1
        self.save(update_fields=["effects"])


class Effect(models.Model):
    """One application of a machine task's effect; not unique, so that a double shows as 2."""

    workflow = models.ForeignKey(Chaos, on_delete=models.CASCADE, related_name="effect_set")
    task = models.ForeignKey("joeflow_temporal.Task", on_delete=models.CASCADE, related_name="+")
    task_name = models.CharField(max_length=255)

    def __str__(self):
        return f"{self.task_name} of {self.workflow_id}"


class ChaosMachineWorkflow(Chaos):
    start = tasks.Start()

    def prepare(self, task):
        self.apply_effect(task)

    def charge(self, task):
        self.apply_effect(task)

    def end(self, task):
        self.apply_effect(task)

    edges = [(start, prepare), (prepare, charge), (charge, end)]

    class Meta:
        proxy = True


class ChaosPollWorkflow(Chaos):
    start = tasks.Start()

    def ready(self, task):
        self.polls += 1
        self.save(update_fields=["polls"])
        if self.polls < CHAOS_POLLS_BEFORE_READY:
            return False
        self.apply_effect(task)

    def end(self, task):
        self.apply_effect(task)

    edges = [(start, ready), (ready, end)]

    class Meta:
        proxy = True


class ChaosWaitWorkflow(Chaos):
    start = tasks.Start()
    pause = tasks.Wait(timedelta(seconds=1))

    def before(self, task):
        self.apply_effect(task)

    def after(self, task):
        self.apply_effect(task)

    edges = [(start, before), (before, pause), (pause, after)]

    class Meta:
        proxy = True


class ChaosHumanWorkflow(Chaos):
    start = tasks.Start()
    review = tasks.UpdateView(fields=["note"])

    def prepare(self, task):
        self.apply_effect(task)

    def end(self, task):
        self.apply_effect(task)

    edges = [(start, prepare), (prepare, review), (review, end)]

    class Meta:
        proxy = True


class ChaosSplitWorkflow(Chaos):
    start = tasks.Start()
    join = tasks.Join("left", "right")

    def split(self, task):
        self.apply_effect(task)

    def left(self, task):
        self.apply_effect(task)

    def right(self, task):
        self.apply_effect(task)

    def end(self, task):
        self.apply_effect(task)

    edges = [
        (start, split),
        (split, left),
        (split, right),
        (left, join),
        (right, join),
        (join, end),
    ]

    class Meta:
        proxy = True


class SelfLoopWorkflow(Counter):
    """One machine task per iteration, ``target`` iterations: the long-loop scenario."""

    start = tasks.Start()

    def increment(self):
        self.count += 1
        self.save(update_fields=["count"])
        return [self.increment] if self.count < self.target else [self.done]

    def done(self):
        pass

    edges = [(start, increment), (increment, increment), (increment, done)]

    class Meta:
        proxy = True


class LongPollWorkflow(Counter):
    """``arrived`` returns False until it has run ``target`` times."""

    start = tasks.Start()

    def arrived(self):
        self.count += 1
        self.save(update_fields=["count"])
        return self.count >= self.target

    def done(self):
        pass

    edges = [(start, arrived), (arrived, done)]

    class Meta:
        proxy = True


class DeployWorkflow(Counter):
    """A class that a deploy changes while instances run (see ``deploy_v2``)."""

    start = tasks.Start()
    approve = tasks.UpdateView(fields=["flag"])

    def notify(self):
        self.choice += "notify,"
        self.save(update_fields=["choice"])

    def legacy(self):
        self.choice += "legacy,"
        self.save(update_fields=["choice"])

    def end(self):
        pass

    edges = [(start, approve), (approve, notify), (notify, legacy), (legacy, end)]

    class Meta:
        proxy = True


def audit(self):
    self.choice += "audit,"
    self.save(update_fields=["choice"])


def deploy_v2_changes(cls=DeployWorkflow) -> dict:
    """The second deploy of ``DeployWorkflow``: ``legacy`` removed, ``audit`` added, rewired."""
    nodes = vars(cls)
    start, approve, notify, end = (nodes[name] for name in ["start", "approve", "notify", "end"])
    return {
        "legacy": None,
        "audit": audit,
        "edges": [(start, approve), (approve, audit), (audit, notify), (notify, end)],
    }


def deploy_v2(cls=DeployWorkflow) -> None:
    for name, value in deploy_v2_changes(cls).items():
        if value is None:
            delattr(cls, name)
        else:
            setattr(cls, name, value)


if os.environ.get("JOEFLOW_TEST_DEPLOY") == "2":
    deploy_v2()


class LocalStepWorkflow(Counter):
    """``quick`` is marked to run as a local activity; ``thorough`` is a regular activity."""

    start = tasks.Start()

    @tasks.local_activity
    def quick(self):
        self.count += 1
        self.save(update_fields=["count"])

    def thorough(self):
        self.count += 10
        self.save(update_fields=["count"])

    edges = [(start, quick), (quick, thorough)]

    class Meta:
        proxy = True


class SlowWorkflow(Counter):
    """``crunch`` takes longer than a heartbeat timeout: only heartbeats keep it from a retry."""

    start = tasks.Start()

    def crunch(self):
        time.sleep(2.5)
        self.count += 1
        self.save(update_fields=["count"])

    edges = [(start, crunch)]

    class Meta:
        proxy = True


class CountForm(django_forms.ModelForm):
    """A task view's own ``form_class``: counts are at most 10."""

    class Meta:
        model = Counter
        fields = ["count"]

    def clean_count(self):
        if self.cleaned_data["count"] > 10:
            raise django_forms.ValidationError("At most 10.")
        return self.cleaned_data["count"]


class CustomViewsWorkflow(Counter):
    """A project's own task views, with URL postfixes, and no override page."""

    start = views.QuickStartView(path="<slug:choice>/")
    edit = tasks.UpdateView(
        form_class=CountForm,
        template_name="testapp/count_form.html",
        path="<slug:section>/",
        success_url="/custom-views/{id}/?edited",
    )
    approve = views.ApproveView()

    def end(self):
        pass

    edges = [(start, edit), (edit, approve), (approve, end)]
    override_view = None

    class Meta:
        proxy = True


class CustomPagesWorkflow(Counter):
    """Its own override page (by dotted path) and no detail page."""

    start = tasks.Start()
    review = tasks.UpdateView(fields=["choice"])

    def end(self):
        pass

    edges = [(start, review), (review, end)]
    override_view = "tests.testapp.views.NotingOverrideView"
    detail_view = None

    def get_absolute_url(self):
        return self.get_override_url()

    class Meta:
        proxy = True


class JoeflowHookUpdateView(tasks.UpdateView):
    """A ``create_task`` hook exactly as joeflow's docs write it, plus assignees."""

    def create_task(self, workflow, prev_task):
        task = workflow.task_set.create(name=self.name, type=self.type, workflow=workflow)
        task.assignees.add(*get_user_model().objects.filter(username=workflow.choice))
        return task


class JoeflowHookWorkflow(Counter):
    start = tasks.Start()
    review = JoeflowHookUpdateView(fields=["count"])

    def end(self):
        pass

    edges = [(start, review), (review, end)]

    class Meta:
        proxy = True


def add_one(self):
    self.count += 1
    self.save(update_fields=["count"])


class CallableNamesWorkflow(Counter):
    """Machine tasks that are lambdas or a function bound to another name: each is its attribute."""

    start = tasks.Start()
    increment = add_one
    add_ten = lambda self: self.add(10)  # noqa: E731
    choose = lambda self: [self.done]  # noqa: E731

    def add(self, amount):
        self.count += amount
        self.save(update_fields=["count"])

    def done(self):
        pass

    def skipped(self):
        pass

    edges = [
        (start, increment),
        (increment, add_ten),
        (add_ten, choose),
        (choose, done),
        (choose, skipped),
    ]

    class Meta:
        proxy = True


class ReviewersUpdateView(tasks.UpdateView):
    """The issue's example: a ``create_task`` hook that assigns a group that may not exist.

    It writes before it looks the group up (the row and a count), so a failing run shows
    whether its writes were rolled back; on an instance with ``flag`` it returns no Task.
    """

    def create_task(self, workflow, prev_task):
        task = super().create_task(workflow, prev_task)
        Counter.objects.filter(pk=workflow.pk).update(count=models.F("count") + 1)
        task.assignees.set(Group.objects.get(name="reviewers").user_set.all())
        return None if Counter.objects.get(pk=workflow.pk).flag else task


class ReviewWorkflow(Counter):
    start = tasks.Start()
    review = ReviewersUpdateView(fields=["choice"])

    def end(self):
        pass

    edges = [(start, review), (review, end)]

    class Meta:
        proxy = True


class DanglingWorkflow(Counter):
    """A machine task whose write breaks a foreign key, which the database checks at commit."""

    start = tasks.Start()

    def dangle(self, task):
        if self.fail:
            Effect.objects.create(workflow_id=0, task=task, task_name=task.name)

    def end(self):
        pass

    edges = [(start, dangle), (dangle, end)]

    class Meta:
        proxy = True


# Human work (DESIGN "Human work")

HOOK_CALLS: list[tuple[str, int, str]] = []
"""(hook, task id, assignees) of every call of HookedWorkflow's hooks, in the worker's order."""


class Approval(Workflow):
    approved = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    hook_log = models.TextField(blank=True)
    """Written by the hooks in their activity's transaction: one line per call."""


class ApprovalWorkflow(Approval):
    """Offered to the group ``reviewers``; escalates to ``escalate`` at its due date."""

    start = tasks.Start()
    review = tasks.UpdateView(
        fields=["approved"],
        candidate_groups=["reviewers"],
        due=timedelta(seconds=float(os.environ.get("APPROVAL_DUE_SECONDS", "3"))),
        on_timeout="escalate",
    )
    escalate = tasks.UpdateView(fields=["approved"], candidate_groups=["managers"])

    def end(self):
        pass

    edges = [(start, review), (review, end), (escalate, end)]

    class Meta:
        proxy = True


class InboxWorkflow(Approval):
    """Human tasks with groups and a far due date, for the inbox, claiming and the API."""

    start = tasks.Start()
    review = tasks.UpdateView(
        fields=["approved"], candidate_groups=["reviewers"], due=timedelta(days=2)
    )
    sign = tasks.UpdateView(fields=["note"])

    def end(self):
        pass

    edges = [(start, review), (review, sign), (sign, end)]

    class Meta:
        proxy = True


class HookedWorkflow(Approval):
    """Every hook, reminders each second, no timeout."""

    start = tasks.Start()
    review = tasks.UpdateView(fields=["approved"], remind_every=timedelta(seconds=1))

    def on_task_created(self, task):
        self.log_hook("on_task_created", task)

    def on_task_assigned(self, task):
        self.log_hook("on_task_assigned", task)

    def on_task_reminder(self, task):
        self.log_hook("on_task_reminder", task)

    def log_hook(self, hook, task):
        assignees = ",".join(sorted(u.get_username() for u in task.assignees.all()))
        HOOK_CALLS.append((hook, task.pk, assignees))
        type(self).objects.filter(pk=self.pk).update(
            hook_log=models.functions.Concat(
                "hook_log", models.Value(f"{hook} {task.pk} {assignees}\n")
            )
        )

    def end(self):
        pass

    edges = [(start, review), (review, end)]

    class Meta:
        proxy = True


class RemindedWorkflow(HookedWorkflow):
    """A reminder every four seconds: long enough to kill a worker while its timer is pending."""

    review = tasks.UpdateView(fields=["approved"], remind_every=timedelta(seconds=4))

    edges = [(HookedWorkflow.start, review), (review, HookedWorkflow.end)]

    class Meta:
        proxy = True


class DueFromHookView(tasks.UpdateView):
    """Sets ``due`` in ``create_task``, without ``due=`` on the view: the row is the truth."""

    def create_task(self, workflow, prev_task):
        task = super().create_task(workflow, prev_task)
        task.due = task.created + timedelta(seconds=1)
        task.priority = 5
        task.save(update_fields=["due", "priority"])
        return task


class DueFromHookWorkflow(Approval):
    start = tasks.Start()
    review = DueFromHookView(fields=["approved"], on_timeout="escalate")

    def escalate(self):
        pass

    edges = [(start, review)]

    class Meta:
        proxy = True


class DeadlineLoopWorkflow(LoopWorkflow):
    """The loop (continue-as-new) beside a human task whose due timer and reminders must
    outlive the runs."""

    approve = tasks.UpdateView(
        fields=["flag"],
        due=timedelta(seconds=8),
        remind_every=timedelta(seconds=3),
        on_timeout="late",
    )

    def split(self):
        pass

    def late(self):
        pass

    def on_task_reminder(self, task):
        HOOK_CALLS.append(("on_task_reminder", task.pk, ""))

    edges = [
        (LoopWorkflow.start, split),
        (split, LoopWorkflow.increment),
        (split, approve),
        (LoopWorkflow.increment, LoopWorkflow.again),
        (LoopWorkflow.again, LoopWorkflow.increment),
        (LoopWorkflow.again, LoopWorkflow.done),
    ]

    class Meta:
        proxy = True


# Process structure: subworkflows and events


class Purchase(Workflow):
    total = models.IntegerField(default=0)
    items = models.JSONField(default=list, blank=True)
    paid_amount = models.IntegerField(null=True, blank=True)
    note = models.CharField(max_length=100, blank=True)
    log = models.TextField(blank=True)

    def record(self, line: str) -> None:
        """Append a line to ``log`` (under the walker's row lock: a machine task's effect)."""
        self.log += f"{line}\n"
        self.save(update_fields=["log"])


class Payment(Workflow):
    amount = models.IntegerField(default=0)
    approved = models.BooleanField(default=False)
    charged = models.IntegerField(default=0)


class PaymentWorkflow(Payment):
    start = tasks.Start()

    def charge(self):
        self.charged += 1
        self.save(update_fields=["charged"])

    edges = [(start, charge)]

    class Meta:
        proxy = True


class ApprovedPaymentWorkflow(Payment):
    """A child that waits for a person: it runs until someone approves (or it is canceled)."""

    start = tasks.Start()
    approve = tasks.UpdateView(fields=["approved"])

    edges = [(start, approve)]

    class Meta:
        proxy = True


class PackItem(Workflow):
    item = models.CharField(max_length=100)
    packed = models.IntegerField(default=0)


class PackItemWorkflow(PackItem):
    start = tasks.Start()

    def pack(self):
        if self.item == "broken":
            raise ValueError(f"cannot pack {self.item}")
        self.packed += 1
        self.save(update_fields=["packed"])

    edges = [(start, pack)]

    class Meta:
        proxy = True


class SubworkflowOrderWorkflow(Purchase):
    start = tasks.Start()
    pay = tasks.Subworkflow(PaymentWorkflow, fields=lambda order: {"amount": order.total})
    pack = tasks.Subworkflow(
        "testapp.PackItemWorkflow", for_each=lambda order: [{"item": i} for i in order.items]
    )

    def ship(self):
        self.record("shipped")

    edges = [(start, pay), (pay, pack), (pack, ship)]

    class Meta:
        proxy = True


class WaitingChildrenOrderWorkflow(Purchase):
    """Children that wait for a person, for cancel and continue-as-new while they run."""

    start = tasks.Start()
    approvals = tasks.Subworkflow(
        ApprovedPaymentWorkflow,
        for_each=lambda order: [{"amount": amount} for amount in order.items],
    )

    def done(self):
        self.record("done")

    edges = [(start, approvals), (approvals, done)]

    class Meta:
        proxy = True


def bad_items(note: str) -> Any:
    """What a mistaken ``for_each`` gives: ``note`` as is, or parsed when it looks like JSON."""
    return json.loads(note) if note.startswith("[") else note


class BadFanOutOrderWorkflow(Purchase):
    start = tasks.Start()
    pack = tasks.Subworkflow(PackItemWorkflow, for_each=lambda order: bad_items(order.note))

    edges = [(start, pack)]

    class Meta:
        proxy = True


class EventOrderWorkflow(Purchase):
    start = tasks.Start()
    paid = tasks.Event("payment_received", fields=["paid_amount"])

    def ship(self):
        self.record(f"shipped after {self.paid_amount}")

    edges = [(start, paid), (paid, ship)]

    class Meta:
        proxy = True


class EventLoopOrderWorkflow(Purchase):
    """An event task reached again and again: each event is consumed by one of its tasks."""

    start = tasks.Start()
    paid = tasks.Event("installment", fields=["paid_amount"])

    def add(self):
        self.total += self.paid_amount or 0
        self.save(update_fields=["total"])

    def again(self):
        return [] if self.total >= 30 else [self.paid]

    edges = [(start, paid), (paid, add), (add, again), (again, paid)]

    class Meta:
        proxy = True


class ScheduledWorkflow(Counter):
    """Started by Temporal Schedules (tests trigger them): at 00:00 UTC on 1 January, and every
    365 days; ``manual`` is a plain start."""

    start = tasks.Start(schedule="0 0 1 1 *")
    yearly = tasks.Start(schedule=timedelta(days=365))
    manual = tasks.Start()

    def count_up(self):
        self.count += 1
        self.save(update_fields=["count"])

    edges = [(start, count_up), (yearly, count_up), (manual, count_up)]

    class Meta:
        proxy = True
