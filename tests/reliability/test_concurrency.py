"""Many users at once: one completion wins, no start is lost, nobody sees a 500.

Twenty users complete the same human task through the REST API at the same moment (threads
behind a barrier): one gets 200, the others 409, and the instance goes on exactly once. A hundred
instances are started through the API from sixteen threads at once: every one is created, has
its start task and its running execution. Both run on SQLite (one writer at a time: the
reference settings' ``IMMEDIATE`` transactions and busy timeout make writers queue instead of
failing with "database is locked") and on PostgreSQL.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from django.db import connections
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from joeflow_temporal.models import Task
from tests.helpers import (
    client_for,
    describe,
    history,
    post,
    result,
    start_url,
    task_url,
    tasks,
    wait_until,
)
from tests.testapp import models

COMPLETERS = 20
STARTS = 100
STARTING_THREADS = 16


def in_thread(call):
    """Run ``call`` as a request thread does: its own database connection, closed after."""

    def run(*args):
        try:
            return call(*args)
        finally:
            connections.close_all()

    return run


def test_twenty_concurrent_completions_one_wins_the_others_are_409(worker, django_user_model):
    workflow = models.HumanWorkflow.start_with("start", {"choice": "x"})
    edit = wait_until(lambda: workflow.task_set.scheduled().filter(name="edit").first())
    users = [
        django_user_model.objects.create_user(f"user{n}", password="pw")
        for n in range(1, COMPLETERS + 1)
    ]
    barrier = threading.Barrier(COMPLETERS)
    responses = {}

    @in_thread
    def complete(count, user):
        client = client_for(user)
        barrier.wait(timeout=30)
        responses[count] = post(client, task_url(edit, "complete"), {"count": count})

    threads = [
        threading.Thread(target=complete, args=(count, user)) for count, user in enumerate(users, 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    bodies = {count: response.json() for count, response in responses.items()}
    statuses = Counter(response.status_code for response in responses.values())
    assert statuses == {200: 1, 409: COMPLETERS - 1}, bodies
    (winner,) = [count for count, response in responses.items() if response.status_code == 200]
    assert all("detail" in body for count, body in bodies.items() if count != winner), bodies
    final = result(workflow)
    assert final["steps"] == 3, "start, edit and end: each once"
    assert tasks(workflow) == [("start", "succeeded"), ("edit", "succeeded"), ("end", "succeeded")]
    signals = [
        event
        for event in history(workflow).events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 1, "the losers signalled nothing"
    workflow.refresh_from_db()
    assert workflow.count == winner
    edit.refresh_from_db()
    assert edit.completed_by_user == users[winner - 1]


def test_a_hundred_concurrent_starts_are_all_created_and_running(worker, admin_user):
    barrier = threading.Barrier(STARTING_THREADS)

    @in_thread
    def start(number):
        return post(
            client_for(admin_user, "password"),
            start_url(models.HumanWorkflow, "start"),
            {"choice": f"c{number}"},
        )

    with ThreadPoolExecutor(STARTING_THREADS, initializer=barrier.wait, initargs=(30,)) as pool:
        responses = list(pool.map(start, range(STARTS)))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: STARTS}, [r.json() for r in responses if r.status_code != 201][:5]
    pks = {response.json()["id"] for response in responses}
    assert len(pks) == STARTS
    instances = models.HumanWorkflow.instances().filter(pk__in=pks)
    assert sorted(instances.values_list("choice", flat=True)) == sorted(
        f"c{number}" for number in range(STARTS)
    )
    assert Task.objects.filter(_workflow__in=pks, name="start", status="succeeded").count() == (
        STARTS
    )
    # Every execution confirmed its start and went on to its human task.
    wait_until(
        lambda: Task.objects.filter(_workflow__in=pks, name="edit").scheduled().count() == STARTS,
        timeout=120,
    )
    assert {describe(workflow).status for workflow in instances} == {
        WorkflowExecutionStatus.RUNNING
    }
