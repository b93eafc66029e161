"""Bad input: the REST API fuzzed from its own OpenAPI document, plus hostile cases by hand.

schemathesis generates requests from the document (valid and invalid bodies, query strings and
path parameters) and sends them to the Django app in-process (WSGI) as a superuser, with real
instances in place: open human tasks, a failed machine task, ended instances. Every answer must
be documented (status code, content type, body schema), and none may be a 5xx. The hand-written
cases add what a generator does not aim at: huge bodies, node names that are attributes of the
model but not nodes, and ids that belong to another workflow.
"""

import base64
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task, Workflow
from tests.helpers import (
    client_for,
    instance_url,
    post,
    scheduled,
    start_url,
    task_url,
    tasks,
    url,
    wait_until,
)
from tests.testapp import models

PASSWORD = "pw"
EXAMPLES_PER_OPERATION_AND_MODE = 40

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def basic_auth(user) -> str:
    token = base64.b64encode(f"{user.get_username()}:{PASSWORD}".encode()).decode()
    return f"Basic {token}"


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def scene(worker, superuser):
    """Instances in every state the API acts on, so that generated ids hit real rows."""
    human = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(human, "edit")
    shipping = ShippingWorkflow.start_with("checkout", {"shipping_address": "1 Main St"})
    ship = scheduled(shipping, "ship")
    failing = models.FailingWorkflow.start(fail=True)
    explode = wait_until(lambda: failing.task_set.failed().filter(name="explode").first())
    split = models.SplitJoinWorkflow.start()
    review = scheduled(split, "review")
    event = models.EventLoopOrderWorkflow.start()
    scheduled(event, "paid")
    return {
        "instances": [human, shipping, failing, split, event],
        "tasks": [edit, ship, explode, review, *Task.objects.filter(name="start")],
    }


def real_path_parameters(scene) -> list[dict]:
    """Path parameters that name existing rows (the generator alone would mostly miss them)."""
    instances = [{"workflow": w.label(), "id": w.pk} for w in scene["instances"]]
    start_views = [
        {"workflow": cls.label(), "task": name}
        for cls in (models.HumanWorkflow, ShippingWorkflow)
        for name, node in cls.get_human_nodes().items()
        if node.node_kind == "start_view"
    ]
    task_ids = [{"id": task.pk} for task in scene["tasks"]]
    events = [
        {"workflow": w.label(), "id": w.pk, "name": "installment"} for w in scene["instances"]
    ]
    return instances + start_views + task_ids + events


def fits(operation, parameters: dict) -> bool:
    names = {parameter.name for parameter in operation.path_parameters}
    return bool(names) and set(parameters) == names


def negatable(operation) -> bool:
    """Whether there is anything to send wrong: a body, a query string or a path parameter."""
    return bool(operation.body or operation.query or operation.path_parameters)


def fuzz(strategy, checks, statuses: Counter) -> None:
    """Send ``EXAMPLES_PER_OPERATION_AND_MODE`` cases, the same ones every run; fail on a check."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def answers_as_documented(case):
        statuses[case.call_and_validate(checks=checks).status_code] += 1

    answers_as_documented()


def test_the_api_answers_fuzzed_requests_as_documented(scene, superuser):
    auth = {"Authorization": basic_auth(superuser)}
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi(f"{url('schema')}?format=json", app, headers=auth)
    real = real_path_parameters(scene)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 17
    failures = []
    statuses = Counter()

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(generation_mode=mode, headers=auth)]
            known = [p for p in real if fits(operation, p)]
            if known:
                strategies.append(
                    st.sampled_from(known).flatmap(
                        lambda p, op=operation, m=mode: op.as_strategy(
                            generation_mode=m, headers=auth, path_parameters=p
                        )
                    )
                )
            negative = mode is GenerationMode.NEGATIVE
            if negative and not negatable(operation):
                continue
            checks = CHECKS + ([negative_data_rejection] if negative else [])
            try:
                fuzz(st.one_of(strategies), checks, statuses)
            except (Exception, BaseExceptionGroup) as error:
                failures.append(f"{operation.label} {mode.value}: {error}")

    assert not failures, "\n\n".join(failures)
    print(f"fuzzed requests by status: {dict(sorted(statuses.items()))}")
    assert {200, 201, 400, 404, 409} <= set(statuses), "the fuzzer reached every kind of answer"


# By hand: what a generator does not aim at


def test_paths_and_queries_outside_the_document_are_json_errors(db, superuser):
    api = client_for(superuser, PASSWORD)

    paths = [
        "/api/tasks/abc/",
        "/api/tasks/-1/complete/",
        "/api/workflows/a/b/c/d/",
        "/api/workflows/a%0Ab/instances/x/override/",  # found by the fuzzer: a newline
    ]
    for path in paths:
        response = api.post(path, {}, format="json")
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json" and response.json()["detail"]
    queries = [
        {"page_size": "0"},
        {"page_size": "x"},
        {"status": ""},
        {"type": ""},
        {"ordering": "-pk"},
        {"candidate": "everyone"},
        {"overdue": "1"},
    ]
    for query in queries:
        response = api.get(url("task-list"), query)
        assert response.status_code == 400 and set(response.json()) == set(query), query
    assert api.get(url("task-list"), {"page": "last"}).status_code == 404


HUGE = "x" * (10 * 1024 * 1024)


def test_a_10_mb_body_is_refused_and_nothing_is_written(scene, superuser, client):
    api = client_for(superuser, PASSWORD)
    human, edit = scene["instances"][0], scene["tasks"][0]
    before = tasks(human)
    workflows = Workflow.objects.count()
    bodies = {
        start_url(ShippingWorkflow, "checkout"): {"shipping_address": HUGE},
        task_url(edit, "complete"): {"count": 1, "choice": HUGE},
        instance_url(human, "override"): {"next_tasks": ["end"], "choice": HUGE},
    }

    for path, body in bodies.items():
        response = post(api, path, body)
        assert response.status_code == 413, (path, response.status_code)
        assert response["Content-Type"] == "application/json" and response.json(), path
    client.force_login(superuser)
    assert client.post(edit.get_absolute_url(), {"count": "1", "x": HUGE}).status_code == 400
    assert client.post(reverse("humanworkflow:start"), {"choice": HUGE}).status_code == 400

    assert tasks(human) == before and Workflow.objects.count() == workflows
    human.refresh_from_db()
    assert (human.choice, human.count) == ("x", 0)


NOT_NODES = ["__class__", "delete", "save", "objects", "_meta", "get_absolute_url", "cancel"]
"""Attributes of every workflow instance that are not nodes of its graph."""


def test_node_names_are_only_looked_up_among_the_graphs_nodes(scene, superuser, client):
    api = client_for(superuser, PASSWORD)
    human = scene["instances"][0]
    before, engine_before = tasks(human), human.get_engine_state()["tasks"]

    for name in NOT_NODES:
        override = post(api, instance_url(human, "override"), {"next_tasks": [name]})
        assert override.status_code == 400, (name, override.json())
        assert set(override.json()) == {"next_tasks"}
        start = post(api, start_url(models.HumanWorkflow, name), {"choice": "y"})
        assert start.status_code == 404, name
    client.force_login(superuser)
    page = client.post(human.get_override_url(), {"next_tasks": NOT_NODES, "choice": "y"})
    assert page.status_code == 200 and "next_tasks" in page.context["form"].errors

    assert tasks(human) == before
    assert human.get_engine_state()["tasks"] == engine_before
    human.refresh_from_db()
    assert human.choice == "x" and Workflow.objects.filter(counter__choice="y").count() == 0


def test_ids_of_another_workflow_are_404_and_change_nothing(scene, superuser, client):
    """Proxies share one table: a pk must only ever be looked up among its own class's rows."""
    api = client_for(superuser, PASSWORD)
    human, _, failing, split = scene["instances"][:4]
    edit, _, _, review = scene["tasks"][:4]
    guarded = models.GuardedWorkflow.start()
    guarded_edit = scheduled(guarded, "edit")  # same task name as HumanWorkflow's
    label = models.HumanWorkflow.label()
    snapshot = {w.pk: tasks(w) for w in (human, failing, split, guarded)}

    for other in (split, failing, guarded):
        for name, method in [
            ("instance-detail", "get"),
            ("instance-override", "post"),
            ("instance-cancel", "post"),
        ]:
            response = getattr(api, method)(
                url(name, label, other.pk), {"next_tasks": ["end"]}, format="json"
            )
            assert response.status_code == 404, (name, other)
    client.force_login(superuser)
    html = [
        (reverse("humanworkflow:edit", args=[guarded_edit.pk]), {"count": "7"}),
        (reverse("humanworkflow:edit", args=[review.pk]), {"count": "7"}),
        (reverse("splitjoinworkflow:review", args=[edit.pk]), {"choice": "z"}),
        (reverse("humanworkflow:detail", args=[split.pk]), None),
        (reverse("humanworkflow:override", args=[split.pk]), {"next_tasks": ["end"]}),
    ]
    for path, form in html:
        assert client.get(path).status_code == 404, path
        if form is not None:
            assert client.post(path, form).status_code == 404, path

    assert {w.pk: tasks(w) for w in (human, failing, split, guarded)} == snapshot
    assert models.Counter.objects.filter(count=7).count() == 0
    assert models.Counter.objects.filter(choice="z").count() == 0


@pytest.mark.parametrize("pk", [2**31, 2**63, 10**30])
def test_ids_beyond_the_databases_integers_are_404_not_500(db, superuser, client, pk):
    """Found by the fuzzer: SQLite's driver raised OverflowError on a workflow model's pk."""
    api = client_for(superuser, PASSWORD)
    client.force_login(superuser)
    label = models.HumanWorkflow.label()

    assert api.get(url("instance-detail", label, pk)).status_code == 404
    assert post(api, url("instance-override", label, pk), {"next_tasks": []}).status_code == 404
    assert post(api, url("instance-cancel", label, pk)).status_code == 404
    assert api.get(url("task-detail", pk)).status_code == 404
    assert post(api, url("task-complete", pk), {"count": 1}).status_code == 404
    assert client.get(reverse("humanworkflow:detail", args=[pk])).status_code == 404
    assert client.get(reverse("humanworkflow:override", args=[pk])).status_code == 404
    assert client.get(reverse("humanworkflow:edit", args=[pk])).status_code == 404
    admin_page = client.get(reverse("admin:demo_shippingworkflow_change", args=[pk]))
    assert admin_page.status_code == 302, "the admin's own 'does not exist' redirect"
