"""Fixtures of this suite, over the joeflow_temporal pytest plugin (joeflow_temporal.testing).

The plugin starts the dev server (with ``JOEFLOW_TEMPORAL_TEST_SERVER_ARGS`` from
tests/settings.py) and a worker for the session; these names are the ones the tests use.
"""

import pytest

from tests.settings import CONTINUE_AS_NEW_SUGGESTED_AT  # noqa: F401  (tests import it here)

# A project of its own, with its own settings: tests/docs/test_tutorial_project.py runs its tests.
collect_ignore = ["tutorial_project"]


@pytest.fixture(scope="session")
def temporal_client(temporal_server):
    return temporal_server.client


@pytest.fixture
def task_queue(joeflow_task_queue):
    """A task queue of this test's own; what still runs on it is terminated afterwards.

    Workflow ids repeat across tests (SQLite reuses primary keys), so nothing may outlive a test.
    """
    return joeflow_task_queue


@pytest.fixture
def worker(joeflow_worker):
    """A worker for this test only, on the test's own task queue."""
    return joeflow_worker


@pytest.fixture
def superuser_client(client, django_user_model):
    """Django's test client, signed in as a superuser (``root``)."""
    client.force_login(django_user_model.objects.create_superuser("root", "", "pw"))
    return client
