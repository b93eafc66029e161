"""The benchmark's workflows: every machine step is the same row increment as the raw baseline's
activity (``benchmarks.raw_worker.increment``)."""

from datetime import timedelta

from django.db import models

from joeflow_temporal import tasks
from joeflow_temporal.models import Workflow


class Counter(Workflow):
    count = models.IntegerField(default=0)
    target = models.IntegerField(default=0)

    def increment(self):
        self.count += 1
        self.save(update_fields=["count"])


class ChainWorkflow(Counter):
    """Ten machine steps in a row."""

    start = tasks.Start()

    def step1(self):
        self.increment()

    def step2(self):
        self.increment()

    def step3(self):
        self.increment()

    def step4(self):
        self.increment()

    def step5(self):
        self.increment()

    def step6(self):
        self.increment()

    def step7(self):
        self.increment()

    def step8(self):
        self.increment()

    def step9(self):
        self.increment()

    def step10(self):
        self.increment()

    edges = [
        (start, step1),
        (step1, step2),
        (step2, step3),
        (step3, step4),
        (step4, step5),
        (step5, step6),
        (step6, step7),
        (step7, step8),
        (step8, step9),
        (step9, step10),
    ]

    class Meta:
        proxy = True


class OneStepWorkflow(Counter):
    """A start and one machine step: what a start costs."""

    start = tasks.Start()

    def step(self):
        self.increment()

    edges = [(start, step)]

    class Meta:
        proxy = True


class SplitJoinWorkflow(Counter):
    """Eight concurrent branches, a join, one step after it."""

    start = tasks.Start()
    join = tasks.Join()

    def branch1(self):
        self.increment()

    def branch2(self):
        self.increment()

    def branch3(self):
        self.increment()

    def branch4(self):
        self.increment()

    def branch5(self):
        self.increment()

    def branch6(self):
        self.increment()

    def branch7(self):
        self.increment()

    def branch8(self):
        self.increment()

    def end(self):
        self.increment()

    edges = [
        (start, branch1),
        (start, branch2),
        (start, branch3),
        (start, branch4),
        (start, branch5),
        (start, branch6),
        (start, branch7),
        (start, branch8),
        (branch1, join),
        (branch2, join),
        (branch3, join),
        (branch4, join),
        (branch5, join),
        (branch6, join),
        (branch7, join),
        (branch8, join),
        (join, end),
    ]

    class Meta:
        proxy = True


class HumanLoopWorkflow(Counter):
    """One human task after another, for ever (the benchmark cancels it): the round trip."""

    start = tasks.Start()
    review = tasks.UpdateView(fields=["count"])

    edges = [(start, review), (review, review)]

    class Meta:
        proxy = True


class LoopWorkflow(Counter):
    """One machine step per iteration, ``target`` iterations."""

    start = tasks.Start()

    def again(self):
        self.increment()
        return [self.again] if self.count < self.target else [self.done]

    def done(self):
        pass

    edges = [(start, again), (again, again), (again, done)]

    class Meta:
        proxy = True


class ReviewWorkflow(Counter):
    """Human work at scale, for the inbox's ``candidate=me`` and the overview page: rows are
    inserted in bulk (no executions behind them)."""

    start = tasks.Start()
    review = tasks.UpdateView(fields=["count"], due=timedelta(days=2), on_timeout="escalate")
    escalate = tasks.UpdateView(fields=["count"])

    def decide(self):
        pass

    def end(self):
        pass

    edges = [(start, review), (review, decide), (escalate, decide), (decide, end)]

    class Meta:
        proxy = True


class TimedReviewWorkflow(Counter):
    """A human task with a due date, reminders and an escalation, run by the engine: what its
    timers cost in history events (against ``PlainReviewWorkflow``)."""

    start = tasks.Start()
    review = tasks.UpdateView(
        fields=["count"],
        due=timedelta(seconds=3),
        remind_every=timedelta(seconds=1),
        on_timeout="escalate",
    )
    escalate = tasks.UpdateView(fields=["count"])

    def on_task_reminder(self, task):
        pass  # a hook of its own: the engine runs the reminders (no e-mail)

    def end(self):
        pass

    edges = [(start, review), (review, end), (escalate, end)]

    class Meta:
        proxy = True


class PlainReviewWorkflow(Counter):
    """The same human task without due date, reminders or escalation."""

    start = tasks.Start()
    review = tasks.UpdateView(fields=["count"])

    def end(self):
        pass

    edges = [(start, review), (review, end)]

    class Meta:
        proxy = True
