"""Definitions that `manage.py check` passed and the engine or a page then failed on (issue #11).

Each kind of definition is a system check error with a stable id naming the class, the task and
the fix; no check and no URLconf crashes on any class; the API answers a class with check
errors in JSON (the errors listed), never with Django's HTML 500.
"""

import inspect
import logging
import re

import pytest
from django import forms
from django.db import models
from django.urls import reverse
from django.views import generic

from joeflow_temporal import checks, tasks
from joeflow_temporal.models import Task, Workflow
from joeflow_temporal.views import TaskViewMixin
from tests.helpers import (
    ROOT,
    client_for,
    instance_url,
    make_user,
    post,
    start_url,
    task_url,
    temporary_models,
    url,
)
from tests.testapp.models import Counter, CountForm

DOCS = ROOT / "docs"


def ids(errors):
    return [error.id for error in errors]


def errors_of(cls):
    return [error for error in checks.check_workflows() if error.obj is cls]


def proxy_meta():
    return type("Meta", (), {"proxy": True, "app_label": "testapp"})


@pytest.fixture
def api(django_user_model):
    api = client_for(make_user(django_user_model, "root", superuser=True))
    api.raise_request_exception = False  # a Django 500 is an answer here, not a test error
    return api


def misconfigured(response, *check_ids):
    body = response.json()
    assert response.status_code == 500 and body["detail"].count("misconfigured") == 1, body
    assert all(check_id in body["detail"] for check_id in check_ids), body
    assert "manage.py check" in body["detail"]


# A view's fields the model does not have (E007)


@pytest.mark.django_db
def test_a_view_editing_a_field_the_model_lacks_is_an_error_and_a_json_answer(api):
    with temporary_models():

        class ColourWorkflow(Counter):
            start = tasks.Start()
            edit = tasks.UpdateView(fields=["colour"])
            edges = [(start, edit)]
            Meta = proxy_meta()

        workflow = ColourWorkflow.objects.create()
        edit = workflow.task_set.create(name="edit", type=Task.HUMAN, workflow=workflow)

        [error] = errors_of(ColourWorkflow)
        detail = api.get(task_url(edit))
        complete = post(api, task_url(edit, "complete"), {"colour": "red"})
        listing = api.get(url("workflow-list"))

    assert error.id == "joeflow_temporal.E007" and "'edit'" in error.msg
    assert "'colour'" in error.msg and "count" in error.hint
    misconfigured(detail, "joeflow_temporal.E007")
    misconfigured(complete, "joeflow_temporal.E007")
    edit.refresh_from_db()
    assert edit.status == Task.SCHEDULED
    types = {item["label"]: item for item in listing.json()}
    assert types["testapp.colourworkflow"]["errors"][0].startswith("joeflow_temporal.E007: ")
    assert types["testapp.colourworkflow"]["nodes"] == []
    human = types["testapp.humanworkflow"]
    assert human["errors"] == [] and human["nodes"]


@pytest.mark.django_db
def test_a_start_view_editing_a_field_the_model_lacks(api):
    with temporary_models():

        class ColourStartWorkflow(Counter):
            start = tasks.StartView(fields=["colour"])

            def end(self):
                pass

            edges = [(start, end)]
            Meta = proxy_meta()

        [error] = errors_of(ColourStartWorkflow)
        started = post(api, start_url(ColourStartWorkflow, "start"), {"colour": "red"})

    assert error.id == "joeflow_temporal.E007" and "'start'" in error.msg
    misconfigured(started, "joeflow_temporal.E007")
    assert not Counter.objects.exists()


class EditView(TaskViewMixin, generic.UpdateView):
    """A project's own view on the mixins."""


def test_every_way_a_views_form_cannot_be_built():
    with temporary_models():

        class Unrelated(models.Model):  # noqa: DJ008
            colour = models.CharField(max_length=10)

            class Meta:
                app_label = "testapp"

        class UnrelatedForm(forms.ModelForm):
            class Meta:
                model = Unrelated
                fields = ["colour"]

        class FormsWorkflow(Counter):
            start = tasks.Start()
            own = EditView(fields=["colour"])
            both = tasks.UpdateView(fields=["count"], form_class=CountForm)
            neither = tasks.UpdateView()
            other_model = tasks.UpdateView(form_class=UnrelatedForm)
            not_editable = tasks.UpdateView(fields=["created"])
            a_string = tasks.UpdateView(fields="count")
            good_form = tasks.UpdateView(form_class=CountForm)
            everything = tasks.UpdateView(fields="__all__")
            edges = [
                (start, own),
                (own, both),
                (both, neither),
                (neither, other_model),
                (other_model, not_editable),
                (not_editable, a_string),
                (a_string, good_form),
                (good_form, everything),
            ]
            Meta = proxy_meta()

        errors = errors_of(FormsWorkflow)

    assert set(ids(errors)) == {"joeflow_temporal.E007"}
    problems = {re.search(r"task '(\w+)'", e.msg).group(1): e.msg for e in errors}
    assert sorted(problems) == [
        "a_string",
        "both",
        "neither",
        "not_editable",
        "other_model",
        "own",
    ]
    assert "both fields and form_class" in problems["both"]
    assert "edits Unrelated" in problems["other_model"]
    assert "non-editable" in problems["not_editable"]


# Names the app uses (E006 for tasks, E008 for fields)


@pytest.mark.django_db
def test_a_machine_task_named_cancel_is_an_error_and_the_cancel_endpoint_says_so(api):
    with temporary_models():

        class CancelWorkflow(Counter):
            start = tasks.Start()

            def cancel(self):
                pass

            edges = [(start, cancel)]
            Meta = proxy_meta()

        [error] = errors_of(CancelWorkflow)
        workflow = CancelWorkflow.objects.create()
        workflow.task_set.create(
            name="start", type=Task.MACHINE, workflow=workflow, status=Task.SUCCEEDED
        )
        canceled = post(api, instance_url(workflow, "cancel"))

    assert error.id == "joeflow_temporal.E006"
    assert "'cancel'" in error.msg and "Workflow.cancel" in error.msg
    assert "cancel_task" in error.hint and "Reserved names" in error.hint
    misconfigured(canceled, "joeflow_temporal.E006")
    assert list(workflow.task_set.values_list("name", flat=True)) == ["start"], "nothing written"


@pytest.mark.parametrize(
    "name",
    [
        "cancel",
        "start_engine",
        "record_action",
        "urls",
        "get_graph",
        "label",
        "instances",
        "task_set",
        "temporal_workflow_id",
        "get_absolute_url",
        "get_override_url",
        "override",
        "detail",
        "check",
        "save",
        "objects",
        "pk",
        "count",  # a field of the model
    ],
)
def test_a_task_named_like_a_name_the_app_uses(name):
    def method(self):
        pass

    with temporary_models():
        start = tasks.Start()
        attrs = {"__module__": __name__, "start": start, "Meta": proxy_meta()}
        attrs |= {name: method, "edges": [(start, method)]}
        cls = type(f"Reserved{name.title().replace('_', '')}Workflow", (Counter,), attrs)

        errors = checks.check_task_names(cls)

    assert ids(errors) == ["joeflow_temporal.E006"] and f"'{name}'" in errors[0].msg


def test_reserved_names_come_from_the_code():
    """Workflow's own names and Django Model's, the forms' own fields, the pages' URL names."""
    reserved = checks.reserved_names()
    subclass_links = {
        relation.get_accessor_name()
        for relation in Workflow._meta.related_objects
        if relation.related_model is not Task
    }
    workflow_names = {name for name in vars(Workflow) if not name.startswith("__")}
    workflow_names -= subclass_links  # instance.counter, instance.shipment…: not ours
    model_names = {name for name in dir(models.Model) if not name.startswith("__")}

    assert workflow_names | model_names | {"next_tasks", "start_at", "detail"} <= set(reserved)
    assert reserved["cancel"] == "Workflow.cancel" and reserved["save"] == "Model.save"
    assert not {"start", "end", "edit", "review"} & set(reserved)


def test_the_reserved_names_are_documented():
    """docs/components.md lists every name the app itself adds (not Django's Model's, which
    it names by reference), and nothing else."""
    section = (DOCS / "components.md").read_text().split("### Reserved names")[1]
    listed = section.split("**Names of joeflow-temporal:**")[1].split("\n\n")[0]
    documented = set(re.findall(r"`(\w+)`", listed))
    ours = {
        name
        for name, used_by in checks.reserved_names().items()
        if not name.startswith("_")
        and not used_by.startswith("Model.")
        and not inspect.isclass(getattr(Workflow, name, None))
    }

    assert ours - documented == set(), "add these to docs/components.md, Reserved names"
    assert documented - ours == set(), "these are no reserved names any more"


def test_a_field_named_label_is_an_error_not_a_crash(api, db):
    with temporary_models():

        class Labelled(Workflow):
            workflow_ptr = models.OneToOneField(
                Workflow, models.CASCADE, parent_link=True, primary_key=True, related_name="+"
            )
            label = models.CharField(max_length=10)
            start = tasks.Start()

            def end(self):
                pass

            edges = [(start, end)]

            class Meta:
                app_label = "testapp"

        errors = checks.check_workflows()
        listing = api.get(url("workflow-list"))
        schema = api.get(url("schema"), {"format": "json"})
        instance = Labelled(pk=7, label="mine")

        assert instance.temporal_workflow_id == "testapp.labelled.7"
        assert Labelled.get_graph_spec().label == "testapp.labelled"

    [error] = [e for e in errors if e.obj is Labelled]
    assert error.id == "joeflow_temporal.E008" and "'label'" in error.msg
    assert "Workflow.label" in error.msg and "db_column='label'" in error.hint
    assert listing.status_code == 200 and schema.status_code == 200
    types = {item["label"]: item for item in listing.json()}
    assert types["testapp.labelled"]["errors"] == [f"joeflow_temporal.E008: {error.msg}"]


def test_a_check_that_fails_on_a_class_is_an_error_naming_it():
    def fragile(workflow):
        raise RuntimeError("unexpected")

    [error] = checks.guarded(fragile, Counter)

    assert error.id == "joeflow_temporal.E009"
    assert "testapp.counter" in error.msg and "fragile" in error.msg and "unexpected" in error.msg


# The graph


def test_edges_that_can_be_read_once_only():
    with temporary_models():

        class OnceWorkflow(Counter):
            start = tasks.Start()

            def end(self):
                pass

            edges = ((a, b) for a, b in [(start, end)])
            Meta = proxy_meta()

        [error] = errors_of(OnceWorkflow)

    assert error.id == "joeflow_temporal.E001" and "generator" in error.msg


def test_tasks_without_edges():
    """No workflow (nothing runs or lists it), unless a workflow subclass gives the edges."""
    with temporary_models():

        class Forgotten(Counter):
            start = tasks.Start()
            Meta = proxy_meta()

        class Base(Counter):
            start = tasks.Start()
            Meta = proxy_meta()

        class Derived(Base):
            def end(self):
                pass

            edges = [(Base.start, end)]
            Meta = proxy_meta()

        forgotten, base = errors_of(Forgotten), errors_of(Base)

    assert ids(forgotten) == ["joeflow_temporal.E010"] and "start" in forgotten[0].msg
    assert base == []


def test_an_edge_into_a_start_task():
    """A Start reached mid-way would wait forever; a start view's page makes new instances."""
    with temporary_models():

        class BackToStart(Counter):
            start = tasks.Start()
            again = tasks.StartView(fields=["count"])

            def step(self):
                pass

            edges = [(start, step), (step, again), (again, start)]
            Meta = proxy_meta()

        errors = errors_of(BackToStart)

    assert ids(errors) == ["joeflow_temporal.E012"] * 2
    assert {"(step, again)", "(again, start)"} == {
        re.search(r"\(\w+, \w+\)", e.msg).group(0) for e in errors
    }


def test_a_join_given_tasks_instead_of_names():
    with temporary_models():

        class JoinObjects(Counter):
            start = tasks.Start()

            def a(self):
                pass

            def b(self):
                pass

            join = tasks.Join(a, b)
            edges = [(start, a), (start, b), (a, join), (b, join)]
            Meta = proxy_meta()

        [error] = errors_of(JoinObjects)

    assert error.id == "joeflow_temporal.E002" and 'Join("a", "b")' in error.hint


def test_one_task_under_two_names_or_a_base_class_task_of_the_same_name():
    with temporary_models():

        class Aliased(Counter):
            start = tasks.Start()
            edit = tasks.UpdateView(fields=["count"])
            again = edit
            edges = [(start, edit), (edit, again)]
            Meta = proxy_meta()

        class Parent(Counter):
            start = tasks.Start()
            review = tasks.UpdateView(fields=["count"])
            edges = [(start, review)]
            Meta = proxy_meta()

        class Child(Parent):
            def review(self):
                pass

            edges = [(Parent.start, review)]
            Meta = proxy_meta()

        aliased, child = errors_of(Aliased), errors_of(Child)

    assert ids(aliased) == ["joeflow_temporal.E011"] and "'again'" in aliased[0].msg
    assert ids(child) == ["joeflow_temporal.E011"] and "base class" in child[0].msg


def test_machine_tasks_the_engine_cannot_call():
    with temporary_models():

        class Calls(Counter):
            start = tasks.Start()

            def two(self, task, other):
                pass

            def keyword(self, *, task):
                pass

            async def coroutine(self):
                pass

            def generator(self):
                yield

            def plain(self):
                pass

            def with_task(self, task):
                pass

            def optional(self, task=None, more=1):
                pass

            @staticmethod
            def static(task):
                pass

            lam = lambda self: None  # noqa: E731

            edges = [
                (start, two),
                (two, keyword),
                (keyword, coroutine),
                (coroutine, generator),
                (generator, plain),
                (plain, with_task),
                (with_task, optional),
                (optional, static),
                (static, lam),
            ]
            Meta = proxy_meta()

        errors = errors_of(Calls)

    assert set(ids(errors)) == {"joeflow_temporal.E014"}
    named = [re.search(r"task '(\w+)'", e.msg).group(1) for e in errors]
    assert named == ["two", "keyword", "coroutine", "generator"]


class StrictView(tasks.UpdateView):
    """A project's view that takes no arguments it does not know (``model``, say)."""

    def __init__(self, fields):
        super().__init__(fields=fields)


def test_a_view_or_path_that_cannot_be_built_is_an_error_and_leaves_the_urlconf_up(caplog):
    with temporary_models():

        class BadPages(Counter):
            start = tasks.StartView(fields=["count"], bogus=1)
            edit = tasks.UpdateView(fields=["count"], path="<int:pk>/")
            unclosed = tasks.UpdateView(fields=["count"], path="<int:section/")
            strict = StrictView(fields=["count"])
            fine = tasks.UpdateView(fields=["count"])
            edges = [(start, edit), (edit, unclosed), (unclosed, strict), (strict, fine)]
            Meta = proxy_meta()

        errors = errors_of(BadPages)
        with caplog.at_level(logging.ERROR, logger="joeflow_temporal"):
            patterns, namespace = BadPages.urls()

    assert ids(errors) == ["joeflow_temporal.E013"] * 4
    assert "'bogus'" in errors[0].msg and "'pk'" in errors[1].msg
    assert "unmatched '<'" in errors[2].msg and "'model'" in errors[3].msg
    assert [p.name for p in patterns] == ["unclosed", "strict", "fine", "detail", "override"]
    assert "joeflow_temporal.E013" in caplog.text and "'edit'" in caplog.text


# The reference project passes, and the API of a healthy class is unchanged


def test_the_reference_classes_have_no_errors(db):
    assert [e for e in checks.check_workflows() if e.is_serious()] == []
    assert reverse("joeflow_temporal_api:workflow-list")
