"""Security: CSRF on every form, who may call what (one table), and no business data in Temporal.

The permission matrix is the policy at a glance: every HTML page and REST endpoint against every
role, compared with the real answers in one assertion. The calls that act are made so that a
permitted caller is stopped just after the permission check (an invalid body: 400; a task or
instance not in a state for the action: 409), so the whole table runs on one set of instances
and nothing changes.

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
    instance_url,
    make_user,
    post,
    result,
    scheduled,
    start_url,
    task_url,
    tasks,
    url,
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
            {"action": "cancel", "_selected_action": [explode.pk]},
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


# Who may call what


ROLES = ["anonymous", "plain", "assignee", "override", "rerun", "cancel", "superuser"]

# What each role gets, in ROLES order. A permitted call that acts is stopped just after the
# permission check: 400 (the invalid body sent) or 409 (a target not in a state for it). A page
# answering 200 to a POST re-rendered the form with its errors. 302 on a page: to the login page
# (anonymous, or not staff for the admin). 401: the API's basic-auth challenge.
POLICY = {
    "page   GET  start view": (200, 200, 200, 200, 200, 200, 200),
    "page   POST start view (invalid form)": (200, 200, 200, 200, 200, 200, 200),
    "page   GET  assigned task": (403, 403, 200, 403, 403, 403, 200),
    "page   POST assigned task (invalid form)": (403, 403, 200, 403, 403, 403, 200),
    "page   GET  unassigned task": (200, 200, 200, 200, 200, 200, 200),
    "page   GET  instance detail": (200, 200, 200, 200, 200, 200, 200),
    "page   GET  override": (302, 403, 403, 200, 403, 403, 200),
    "page   POST override (invalid form)": (302, 403, 403, 200, 403, 403, 200),
    "admin  GET  task list": (302, 302, 302, 302, 302, 302, 200),
    "admin  GET  workflow change page": (302, 302, 302, 302, 302, 302, 200),
    "api    GET  workflows/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  workflows/{label}/": (401, 200, 200, 200, 200, 200, 200),
    "api    POST start (invalid body)": (401, 400, 400, 400, 400, 400, 400),
    "api    GET  instances/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  instances/{id}/": (401, 200, 200, 200, 200, 200, 200),
    "api    POST override (invalid body)": (401, 403, 403, 400, 403, 403, 400),
    "api    POST cancel instance (ended)": (401, 403, 403, 403, 403, 409, 409),
    "api    GET  tasks/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  tasks/{id}/ (assigned)": (401, 200, 200, 200, 200, 200, 200),
    "api    POST complete assigned task (invalid body)": (401, 403, 400, 403, 403, 403, 400),
    "api    POST rerun (scheduled task)": (401, 403, 403, 403, 409, 403, 409),
    "api    POST cancel task (succeeded)": (401, 403, 403, 403, 403, 409, 409),
    "api    GET  schema/": (401, 200, 200, 200, 200, 200, 200),
    "api    GET  schema/swagger-ui/": (401, 200, 200, 200, 200, 200, 200),
}


def calls(human, assigned, unassigned, ended, shipping):
    """Each row of the policy as a call: ``(page_client, api_client) -> response``."""
    start_page = reverse("humanworkflow:start")
    too_long = {"choice": "x" * 51}
    override_page = human.get_override_url()
    admin_change = reverse("admin:demo_shippingworkflow_change", args=[shipping.pk])
    succeeded = human.task_set.get(name="start")
    return {
        "page   GET  start view": lambda page, api: page.get(start_page),
        "page   POST start view (invalid form)": lambda page, api: page.post(start_page, too_long),
        "page   GET  assigned task": lambda page, api: page.get(assigned.get_absolute_url()),
        "page   POST assigned task (invalid form)": lambda page, api: page.post(
            assigned.get_absolute_url(), {"count": "many"}
        ),
        "page   GET  unassigned task": lambda page, api: page.get(unassigned.get_absolute_url()),
        "page   GET  instance detail": lambda page, api: page.get(human.get_absolute_url()),
        "page   GET  override": lambda page, api: page.get(override_page),
        "page   POST override (invalid form)": lambda page, api: page.post(
            override_page, {"next_tasks": ["nowhere"]}
        ),
        "admin  GET  task list": lambda page, api: page.get(
            reverse("admin:joeflow_temporal_task_changelist")
        ),
        "admin  GET  workflow change page": lambda page, api: page.get(admin_change),
        "api    GET  workflows/": lambda page, api: api.get(url("workflow-list")),
        "api    GET  workflows/{label}/": lambda page, api: api.get(
            url("workflow-detail", human.label())
        ),
        "api    POST start (invalid body)": lambda page, api: post(
            api, start_url(models.HumanWorkflow, "start"), too_long
        ),
        "api    GET  instances/": lambda page, api: api.get(url("instance-list", human.label())),
        "api    GET  instances/{id}/": lambda page, api: api.get(instance_url(human)),
        "api    POST override (invalid body)": lambda page, api: post(
            api, instance_url(human, "override"), {"next_tasks": ["nowhere"]}
        ),
        "api    POST cancel instance (ended)": lambda page, api: post(
            api, instance_url(ended, "cancel")
        ),
        "api    GET  tasks/": lambda page, api: api.get(url("task-list")),
        "api    GET  tasks/{id}/ (assigned)": lambda page, api: api.get(task_url(assigned)),
        "api    POST complete assigned task (invalid body)": lambda page, api: post(
            api, task_url(assigned, "complete"), {"count": "many"}
        ),
        "api    POST rerun (scheduled task)": lambda page, api: post(
            api, task_url(assigned, "rerun")
        ),
        "api    POST cancel task (succeeded)": lambda page, api: post(
            api, task_url(succeeded, "cancel")
        ),
        "api    GET  schema/": lambda page, api: api.get(url("schema")),
        "api    GET  schema/swagger-ui/": lambda page, api: api.get(url("swagger-ui")),
    }


def test_permission_matrix_of_every_page_and_endpoint(worker, django_user_model):
    users = {
        "anonymous": None,
        "plain": make_user(django_user_model, "plain"),
        "assignee": make_user(django_user_model, "assignee"),
        "override": make_user(django_user_model, "overrider", "override"),
        "rerun": make_user(django_user_model, "rerunner", "rerun"),
        "cancel": make_user(django_user_model, "canceler", "cancel"),
        "superuser": make_user(django_user_model, "root", superuser=True),
    }
    human = models.HumanWorkflow.start_with("start", {"choice": "x"})
    assigned = scheduled(human, "edit")
    assigned.assignees.add(users["assignee"])
    other = models.HumanWorkflow.start_with("start", {"choice": "y"})
    unassigned = scheduled(other, "edit")
    ended = models.LinearWorkflow.start()
    result(ended)
    shipping = ShippingWorkflow.start_with("checkout", {"shipping_address": "Gotham"})
    scheduled(shipping, "ship")
    before = {w.pk: tasks(w) for w in (human, other, ended, shipping)}
    rows = calls(human, assigned, unassigned, ended, shipping)

    actual = {}
    for row, call in rows.items():
        codes = []
        for role in ROLES:
            page = Client()
            if users[role] is not None:
                page.force_login(users[role])
            codes.append(call(page, client_for(users[role], PASSWORD)).status_code)
        actual[row] = tuple(codes)

    assert actual == POLICY
    assert {w.pk: tasks(w) for w in (human, other, ended, shipping)} == before
    human.refresh_from_db()
    assert (human.choice, human.count) == ("x", 0)


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
