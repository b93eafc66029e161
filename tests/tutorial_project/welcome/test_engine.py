from django.contrib.auth import get_user_model
from django.core import mail
from django.test import TransactionTestCase
from django.urls import reverse

from joeflow_temporal.testing import wait_for_engine

from . import workflows


class WelcomeWorkflowEngineTest(TransactionTestCase):
    def test_start__post_with_user__sends_the_welcome_email(self):
        user = get_user_model().objects.create(
            email="spiderman@avengers.com",
            first_name="Peter",
            last_name="Parker",
            username="spidy",
        )
        self.client.post(reverse("welcomeworkflow:start"), data=dict(user=user.pk))
        workflow = workflows.WelcomeWorkflow.objects.get()

        wait_for_engine(workflow)

        self.assertTrue(workflow.task_set.succeeded().filter(name="send_welcome_email").exists())
        self.assertEqual(mail.outbox[-1].body, "Hello Peter!")
