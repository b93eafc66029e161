"""Security: CSRF on every form, and no business data in Temporal (who may call what:
test_permissions.py).

Temporal's visibility store and histories are read by operators who may not see business data:
an execution carries ids, names and the graph, never the workflow's field values.
"""

import json

from django.test import Client
from django.urls import reverse

from django_integration.demo.models import ShippingWorkflow
from joeflow_temporal.models import Task
from tests.helpers import (
    client_for,
    describe,
    history,
    make_user,
    post,
    result,
    scheduled,
    start_url,
    task_url,
    wait_until,
)
from tests.testapp import models

PASSWORD = "pw"


# CSRF


def csrf_token(client, path) -> str:
    assert client.get(path).status_code == 200, path
    return client.cookies["csrftoken"].value


def test_every_form_refuses_a_post_without_the_csrf_token(worker, django_user_model):
    """Without the token: 403 and nothing written; with it, the same post works."""
    root = make_user(django_user_model, "root", superuser=True)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(root)
    human = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(human, "edit")
    failing = models.FailingWorkflow.start(fail=True)
    explode = wait_until(lambda: failing.task_set.failed().filter(name="explode").first())
    split = models.SplitJoinWorkflow.start()
    scheduled(split, "review")
    shipping = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    ship = scheduled(shipping, "ship")
    admin_tasks = reverse("admin:joeflow_temporal_task_changelist")
    admin_shipping = reverse("admin:demo_shippingworkflow_change", args=[shipping.pk])
    forms = [  # (page to get the token from, where the form posts, form, what it changed)
        (
            reverse("joeflow_temporal:inbox") + "?section=claimable",
            reverse("joeflow_temporal:claim", args=[edit.pk]),
            {},
            lambda: list(Task.objects.get(pk=edit.pk).assignees.all()) == [root],
        ),
        (
            reverse("humanworkflow:start"),
            reverse("humanworkflow:start"),
            {"choice": "csrf"},
            lambda: models.HumanWorkflow.objects.filter(choice="csrf").exists(),
        ),
        (
            edit.get_absolute_url(),
            edit.get_absolute_url(),
            {"count": "4"},
            lambda: Task.objects.get(pk=edit.pk).status == Task.SUCCEEDED,
        ),
        (
            split.get_override_url(),
            split.get_override_url(),
            {"next_tasks": ["end"], "count": "0", "target": "0", "choice": ""},
            lambda: split.task_set.filter(name="override").exists(),
        ),
        (
            admin_tasks,
            admin_tasks,
            {"action": "cancel", "_selected_action": [explode.pk], "post": "yes"},
            lambda: Task.objects.get(pk=explode.pk).status == Task.CANCELED,
        ),
        (
            admin_shipping,
            admin_shipping,
            {
                "email": "",
                "shipping_address": "Metropolis",
                "tracking_code": "",
                "next_tasks": ["end"],
                "task_set-TOTAL_FORMS": "0",
                "task_set-INITIAL_FORMS": "0",
            },
            lambda: Task.objects.get(pk=ship.pk).status == Task.CANCELED,
        ),
    ]

    for _page, action, form, changed in forms:
        assert strict.post(action, form).status_code == 403, action
        assert not changed(), action
    for page, action, form, changed in forms:
        token = csrf_token(strict, page)
        response = strict.post(action, {**form, "csrfmiddlewaretoken": token})
        assert response.status_code == 302, (action, response.status_code)
        assert wait_until(changed), action


def test_the_api_with_a_session_needs_the_csrf_header(worker, django_user_model):
    """Basic auth carries its own proof; a session cookie alone does not (DRF enforces CSRF)."""
    user = make_user(django_user_model, "ada")
    human = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = scheduled(human, "edit")
    session = Client(enforce_csrf_checks=True)
    session.force_login(user)
    path = task_url(edit, "complete")

    refused = session.post(path, {"count": 2}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert Task.objects.get(pk=edit.pk).status == Task.SCHEDULED

    token = csrf_token(session, reverse("humanworkflow:start"))
    accepted = session.post(
        path, {"count": 2}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.json()
    result(human)


# No business data in Temporal

SECRETS = {
    "email": "ada.lovelace.private@example.org",
    "shipping_address": "sk_live_51HsecretADDRESSxyz 221B Baker St",
    "tracking_code": "ghp_TOKENtrackingSECRET0123456789",
}

TEMPORALS_OWN = {"BuildIds", "TemporalChangeVersion"}
"""Search attributes the server and the SDK set themselves (worker build, patch ids)."""


def test_search_attributes_memo_and_history_carry_no_field_values(worker, django_user_model):
    """An e-mail address and secret-looking values go through start and completion."""
    user = make_user(django_user_model, "ada")
    api = client_for(user, PASSWORD)
    checkout = {k: SECRETS[k] for k in ("email", "shipping_address")}
    started = post(api, start_url(ShippingWorkflow, "checkout"), checkout)
    assert started.status_code == 201, started.json()
    workflow = ShippingWorkflow.objects.get(pk=started.json()["id"])
    ship = scheduled(workflow, "ship")
    completed = post(api, task_url(ship, "complete"), {"tracking_code": SECRETS["tracking_code"]})
    assert completed.status_code == 200, completed.json()
    result(workflow)

    info = describe(workflow).raw_description.workflow_execution_info
    attributes = {
        name: json.loads(payload.data)
        for name, payload in info.search_attributes.indexed_fields.items()
    }
    ours = {name: value for name, value in attributes.items() if name not in TEMPORALS_OWN}
    assert ours == {"JoeflowWorkflow": ShippingWorkflow.label()}
    assert not [v for v in SECRETS.values() if v in json.dumps(attributes)]
    assert dict(info.memo.fields) == {}
    events = history(workflow).events
    walker_input = [
        json.loads(payload.data)
        for payload in events[0].workflow_execution_started_event_attributes.input.payloads
    ]
    assert json.dumps(walker_input)  # ids, the graph, the config: decoded, and nothing else
    assert ShippingWorkflow.label().encode() in events[0].SerializeToString(), "the scan sees data"
    for value in SECRETS.values():
        assert value not in json.dumps(walker_input)
        # Payloads are stored verbatim in the serialized events: no event carries the values.
        assert not [e.event_type for e in events if value.encode() in e.SerializeToString()]
    workflow.refresh_from_db()
    assert (workflow.email, workflow.tracking_code) == (SECRETS["email"], SECRETS["tracking_code"])
