"""System checks report misconfigured workflows with stable ids and a hint."""

from datetime import timedelta

import pytest
from django.core import checks
from django.core.management import call_command
from django.db import models
from django.test.utils import isolate_apps

from joeflow_temporal import checks as joeflow_checks
from joeflow_temporal import tasks
from joeflow_temporal.models import Workflow
from tests.testapp.models import CustomViewsWorkflow


def ids(errors):
    return [error.id for error in errors]


# Django 6.1 runs the model checks against every database (JSONField asks SQLite's JSON support).
@pytest.mark.django_db
def test_the_reference_project_and_test_app_pass():
    call_command("check", fail_level="WARNING")


@isolate_apps("tests.testapp")
def test_edge_to_something_that_is_not_a_task():
    def elsewhere(self):
        pass

    class Broken(Workflow):
        start = tasks.Start()

        edges = [(start, elsewhere), ("start",)]

        class Meta:
            app_label = "testapp"

    errors = joeflow_checks.check_edges(Broken)

    assert ids(errors) == ["joeflow_temporal.E001", "joeflow_temporal.E001"]
    assert "elsewhere" in errors[0].msg and errors[0].hint


@isolate_apps("tests.testapp")
def test_join_naming_a_task_that_is_not_its_parent():
    class Broken(Workflow):
        start = tasks.Start()
        join = tasks.Join("start", "ghost")

        edges = [(start, join)]

        class Meta:
            app_label = "testapp"

    [error] = joeflow_checks.check_joins(Broken)

    assert error.id == "joeflow_temporal.E002" and "ghost" in error.msg


@isolate_apps("tests.testapp")
def test_workflow_without_a_start():
    class Broken(Workflow):
        def a(self):
            pass

        def b(self):
            pass

        edges = [(a, b)]

        class Meta:
            app_label = "testapp"

    [error] = joeflow_checks.check_start(Broken)

    assert error.id == "joeflow_temporal.E003" and "tasks.Start()" in error.hint


@isolate_apps("tests.testapp")
def test_task_named_like_a_model_method():
    class Broken(Workflow):
        start = tasks.Start()

        def delete(self):
            pass

        edges = [(start, delete)]

        class Meta:
            app_label = "testapp"

    [error] = joeflow_checks.check_task_names(Broken)

    assert error.id == "joeflow_temporal.E006" and "delete" in error.msg


def test_human_task_without_url(settings):
    settings.ROOT_URLCONF = "tests.urls_without_workflows"

    warnings = joeflow_checks.check_human_task_urls()

    assert "joeflow_temporal.W004" in ids(warnings)
    assert any("include(ShippingWorkflow.urls())" in w.hint for w in warnings)


def test_checks_are_registered():
    registered = checks.registry.registry.get_checks()
    assert joeflow_checks.check_workflows in registered


def test_task_urls_with_a_path_postfix_are_found(settings):
    """A ``path`` postfix takes arguments the check cannot guess: it looks the name up instead."""
    found = [w for w in joeflow_checks.check_human_task_urls() if w.obj is CustomViewsWorkflow]
    settings.ROOT_URLCONF = "tests.urls_without_workflows"
    missing = [w for w in joeflow_checks.check_human_task_urls() if w.obj is CustomViewsWorkflow]

    assert found == []
    assert sorted(w.msg.split("'")[1] for w in missing) == ["approve", "edit", "start"]


@isolate_apps("tests.testapp")
def test_a_view_editing_a_field_the_model_lacks():
    class Broken(Workflow):
        title = models.CharField(max_length=10)
        start = tasks.StartView(fields=["titel"])
        edit = tasks.UpdateView(fields=["title", "colour"])
        free = tasks.UpdateView(fields="__all__")

        edges = [(start, edit), (edit, free)]

        class Meta:
            app_label = "testapp"

    errors = joeflow_checks.check_view_fields(Broken)

    assert ids(errors) == ["joeflow_temporal.E007", "joeflow_temporal.E007"]
    assert "'titel'" in errors[0].msg and "'colour'" in errors[1].msg
    assert "title" in errors[0].hint


@isolate_apps("tests.testapp")
def test_a_typo_in_edges_is_an_error_not_a_crash_of_the_checks():
    class Broken(Workflow):
        start = tasks.Start()
        edit = tasks.UpdateView(fields=[])

        edges = [(start, edit), (edit, "edn")]

        class Meta:
            app_label = "testapp"

    assert ids(joeflow_checks.check_edges(Broken)) == ["joeflow_temporal.E001"]
    assert joeflow_checks.check_task_urls(Broken) == []


@isolate_apps("tests.testapp")
def test_human_work_options_are_checked():
    class Broken(Workflow):
        form = tasks.StartView(fields=[], due=timedelta(days=1), candidate_groups=["x"])
        review = tasks.UpdateView(
            fields=[],
            due=timedelta(0),
            remind_every=3600,
            on_timeout="ghost",
            candidate_groups="reviewers",
        )
        again = tasks.UpdateView(fields=[], on_timeout="form")
        itself = tasks.UpdateView(fields=[], on_timeout="itself", candidate_groups=["", 1])

        def end(self):
            pass

        edges = [(form, review), (review, end), (again, end), (itself, end)]

        class Meta:
            app_label = "testapp"

    errors = joeflow_checks.check_human_work(Broken)

    assert sorted(ids(errors)) == sorted(
        ["joeflow_temporal.E018"]
        + ["joeflow_temporal.E015"] * 2
        + ["joeflow_temporal.E016"] * 3
        + ["joeflow_temporal.E017"] * 2
    )
    messages = " ".join(error.msg for error in errors)
    assert "due=datetime.timedelta(0)" in messages and "remind_every=3600" in messages
    assert "'ghost', which names no task" in messages
    assert "'form', which names a start task" in messages
    assert "'itself', which names the task itself" in messages
    assert "candidate_groups='reviewers'" in messages
    assert all(error.hint for error in errors)
    assert "joeflow_temporal.E018" in ids(joeflow_checks.check_workflow(Broken))


@isolate_apps("tests.testapp")
def test_on_timeout_may_name_a_method_outside_edges():
    class Escalating(Workflow):
        start = tasks.Start()
        review = tasks.UpdateView(fields=[], due=timedelta(hours=1), on_timeout="escalate")

        def escalate(self):
            pass

        edges = [(start, review)]

        class Meta:
            app_label = "testapp"

    assert joeflow_checks.check_workflow(Escalating) == []
    graph = Escalating.get_graph_spec()
    assert graph.nodes["escalate"].type == "machine"
    assert graph.nodes["review"].on_timeout == "escalate"
    assert graph.nodes["review"].due == timedelta(hours=1)


@isolate_apps("tests.testapp")
def test_process_structure_is_checked():
    class Child(Workflow):
        def a(self):
            pass

        edges = [(a, a)]

        class Meta:
            app_label = "testapp"

    class Twins(Workflow):
        one = tasks.Start()
        two = tasks.Start()

        def a(self):
            pass

        edges = [(one, a), (two, a)]

        class Meta:
            app_label = "testapp"

    class Parent(Workflow):
        amount = models.IntegerField(default=0)
        start = tasks.Start()
        no_start = tasks.Subworkflow(Child)
        two_starts = tasks.Subworkflow(Twins)
        nowhere = tasks.Subworkflow("testapp.Ghost")
        not_a_workflow = tasks.Subworkflow(int)
        paid = tasks.Event("paid", fields=["amount"])
        paid_again = tasks.Event("paid")
        bad_fields = tasks.Event("other", fields=["ghost"])

        edges = [
            (start, no_start),
            (no_start, two_starts),
            (two_starts, nowhere),
            (nowhere, not_a_workflow),
            (not_a_workflow, paid),
            (paid, paid_again),
            (paid_again, bad_fields),
        ]

        class Meta:
            app_label = "testapp"

    errors = joeflow_checks.check_workflow(Parent)
    assert sorted(ids(errors)) == sorted(
        ["joeflow_temporal.E021"] * 4 + ["joeflow_temporal.E022", "joeflow_temporal.E023"]
    )
    messages = " ".join(error.msg for error in errors)
    assert "which has 0 tasks.Start() nodes (none)" in messages
    assert "which has 2 tasks.Start() nodes (one, two)" in messages
    assert "'testapp.Ghost', which is no installed workflow class" in messages
    assert "the event 'paid' is waited for by 2 tasks (paid, paid_again)" in messages
    assert "Parent has no field 'ghost'" in messages
    assert all(error.hint for error in errors)


def test_process_structure_arguments_of_the_wrong_type_raise():
    with pytest.raises(TypeError, match="function of the instance"):
        tasks.Subworkflow("testapp.Child", for_each=[{"a": 1}])
    with pytest.raises(TypeError, match="event's name"):
        tasks.Event(None)  # type: ignore[arg-type]
