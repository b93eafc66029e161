"""Instances in every state joeflow leaves them in, written by joeflow 2.0.2 itself.

Human tasks are completed through joeflow's views, overrides through its form, cancels through
``Workflow.cancel``; machine tasks run (when this script says so) through joeflow's own Celery
task, executed in this process. A task not run stays ``scheduled``, as in a queue.
"""

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.forms import modelform_factory  # noqa: E402
from django.test import Client  # noqa: E402
from joeflow.forms import OverrideForm  # noqa: E402
from joeflow.runner.celery import _celery_task_runner  # noqa: E402
from shop.models import Order, OrderWorkflow, ReminderWorkflow  # noqa: E402

client = Client()


def run(workflow, *names):
    for name in names:
        task = workflow.task_set.get(name=name, completed=None)
        _celery_task_runner.apply(args=(task.pk, workflow.pk))


def post(user, url, data):
    client.force_login(user)
    response = client.post(url, data)
    assert response.status_code == 302, (url, response.status_code)


def approve(workflow, user):
    task = workflow.task_set.get(name="approve", completed=None)
    post(user, f"/orders/approve/{task.pk}/", {"approved": "on"})


alice = User.objects.create_user("alice", "alice@example.com", "alice")
bob = User.objects.create_user("bob", "bob@example.com", "bob")
admin = User.objects.create_superuser("admin", "admin@example.com", "admin")

# 1. Ended: approved by bob, every machine task ran.
ended = OrderWorkflow.start(customer="Ada")
approve(ended, bob)
run(ended, "split", "pack", "invoice", "join", "ship", "end")

# 2. Started by alice through the start view; the approval waits for her.
post(alice, "/orders/checkout/", {"customer": "Grace"})
waiting = OrderWorkflow.objects.get(pk=Order.objects.latest("pk").pk)
waiting.task_set.get(name="approve").assignees.add(alice)

# 3. Split: pack ran and arrived at the join, invoice is still scheduled.
split = OrderWorkflow.start(customer="Linus")
approve(split, bob)
run(split, "split", "pack")

# 4. Failed: shipping raised.
failed = OrderWorkflow.start(customer="Barbara", fail_shipping=True)
approve(failed, bob)
run(failed, "split", "pack", "invoice", "join", "ship")
assert failed.task_set.get(name="ship").status == "failed"

# 5. Canceled by the admin while it waited for approval.
canceled = OrderWorkflow.start(customer="Edsger")
canceled.cancel(admin)

# 6. Overridden: split was scheduled, the admin sent it back to approval.
overridden = OrderWorkflow.start(customer="Margaret")
approve(overridden, bob)
form = modelform_factory(OrderWorkflow, form=OverrideForm, fields=[])(
    data={"next_tasks": ["approve"]}, instance=overridden
)
assert form.is_valid(), form.errors
form.save()
form.start_next_tasks(admin)

# 7. A reminder whose Wait has not been run yet.
ReminderWorkflow.start()

for cls in (OrderWorkflow, ReminderWorkflow):
    for instance in cls.objects.order_by("pk"):
        print(instance, list(instance.task_set.order_by("pk").values_list("name", "status")))
