"""``Start(schedule=...)`` as written: a wrong type fails at once, a wrong value is a system
check error (E019), a model a bare ``create()`` cannot save is E020, and the graphs show it."""

from datetime import timedelta

import pytest
from django.db import models
from django.test.utils import isolate_apps

from joeflow_temporal import checks as joeflow_checks
from joeflow_temporal import tasks
from joeflow_temporal.cron import cron_problem, describe_schedule
from joeflow_temporal.models import Workflow
from tests.testapp.models import ScheduledWorkflow

TEMPORAL_ACCEPTS = [
    "0 9 * * MON",
    "0 2 * * *",
    "*/15 * * * *",
    "30 8 1 1,4,7,10 *",
    "0 9 * * mon-fri",
    "0 12 * * MON-WED,FRI",
    "0 2 * * 1-5/2",
    "0 0 * * 7",
    "0 0 1 JAN *",
    "@daily",
    "@hourly",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
    "@midnight",
]
TEMPORAL_REFUSES = [
    "",
    "hello",
    "0 2 * *",  # four fields
    "0 0 2 * * *",  # six: seconds or years, not in this project's syntax
    "61 2 * * *",
    "0 24 * * *",
    "0 2 0 * *",
    "0 2 * 13 *",
    "0 2 * * 8",
    "0 2 * * JAN",  # a month name as a weekday
    "0 2 L * *",
    "0 2 ? * *",
    "0 2 1W * *",
    "0 2 * * MON#1",
    "0 2 * * FRI-MON",
    "H 2 * * *",
    "@every 1h",  # an interval is a timedelta here
    "@sometimes",
    "CRON_TZ=Europe/Paris 0 2 * * *",  # schedules are UTC
]


@pytest.mark.parametrize("expression", TEMPORAL_ACCEPTS)
def test_cron_strings_temporal_accepts_pass(expression):
    assert cron_problem(expression) is None


@pytest.mark.parametrize("expression", TEMPORAL_REFUSES)
def test_cron_strings_temporal_refuses_or_reads_otherwise_are_refused(expression):
    assert cron_problem(expression)


@pytest.mark.parametrize("schedule", [42, ["0 2 * * *"], 3.5, b"0 2 * * *"])
def test_a_schedule_of_another_type_is_a_type_error(schedule):
    with pytest.raises(TypeError, match="cron string or a datetime.timedelta"):
        tasks.Start(schedule=schedule)


def scheduled_class(schedule, **fields):
    class Scheduled(Workflow):
        start = tasks.Start(schedule="@daily")

        def work(self):
            pass

        edges = [(start, work)]

        class Meta:
            app_label = "testapp"

    Scheduled.__dict__["start"].schedule = schedule
    return Scheduled


@isolate_apps("tests.testapp")
@pytest.mark.parametrize(
    "schedule, message",
    [
        ("0 2 * * FRI-MON", "runs backwards"),
        ("61 2 * * *", "out of range"),
        ("0 2 * *", "has 4 fields"),
        ("0 2 L * *", "not Temporal's cron syntax"),
        (timedelta(0), "shorter than one second"),
        (timedelta(hours=-1), "shorter than one second"),
        (12, "it is a int"),
    ],
)
def test_a_wrong_schedule_is_e019_with_a_hint(schedule, message):
    [error] = joeflow_checks.check_workflow(scheduled_class(schedule))
    assert error.id == "joeflow_temporal.E019"
    assert "'start'" in error.msg and message in error.msg
    assert "timedelta" in error.hint and "0 9 * * MON" in error.hint


@isolate_apps("tests.testapp")
def test_a_field_a_scheduled_start_cannot_fill_is_e020():
    class Report(Workflow):
        day = models.DateField()
        total = models.IntegerField()
        title = models.CharField(max_length=20)  # "" does
        note = models.DateField(null=True)
        counted = models.IntegerField(default=0)
        start = tasks.Start(schedule=timedelta(hours=6))

        def work(self):
            pass

        edges = [(start, work)]

        class Meta:
            app_label = "testapp"

    [error] = joeflow_checks.check_workflow(Report)
    assert error.id == "joeflow_temporal.E020"
    assert "every 6 hours" in error.msg and "day, total has none" in error.msg
    assert "default" in error.hint


def test_the_test_classes_pass():
    assert joeflow_checks.check_workflow(ScheduledWorkflow) == []


@pytest.mark.parametrize(
    "schedule, text",
    [
        (" 0 9 * * MON ", "0 9 * * MON"),
        (timedelta(days=1), "every 1 day"),
        (timedelta(hours=6), "every 6 hours"),
        (timedelta(minutes=90), "every 1 hour 30 minutes"),
        (timedelta(days=2, seconds=1), "every 2 days 1 second"),
    ],
)
def test_schedules_for_people(schedule, text):
    assert describe_schedule(schedule) == text


def test_graphs_draw_a_scheduled_start_with_its_schedule():
    source = ScheduledWorkflow.get_graph().source
    assert "start<BR/>" in source and "0 0 1 1 *" in source
    assert "every 365 days" in source
    assert "manual [label=manual" in source  # a plain start: no line under it
    mermaid = ScheduledWorkflow.get_graph_mermaid()
    assert "start<br/>0 0 1 1 *" in mermaid and "yearly<br/>every 365 days" in mermaid
