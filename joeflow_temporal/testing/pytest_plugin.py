"""The ``joeflow_temporal`` pytest plugin: the test environment of ``TestRunner``, for pytest.

Registered by the package's ``pytest11`` entry point, so installing joeflow-temporal is all it
takes (``-p no:joeflow_temporal`` turns it off). Active whenever pytest-django is, with
Django settings configured; inert otherwise. The first test that can use the database starts
the environment (a dev server of its own and a worker, see ``TestEnvironment``) for the rest of
the session, and every such test's leftover executions are terminated after it, so
``TestCase`` classes and ``django_db(transaction=True)`` tests work without a conftest.

Fixtures:

- ``temporal_server`` (session): the running ``TestEnvironment`` (``address``, ``namespace``,
  ``task_queue``, ``client``); the settings point at it for the whole session.
- ``joeflow_task_queue``: a task queue of the test's own (the setting points at it during the
  test, nothing polls it); what still runs on it afterwards is terminated.
- ``joeflow_worker``: a worker on ``joeflow_task_queue``, with ``transactional_db``: the engine
  runs the test's instances for real, isolated from every other test.
"""

import pytest

DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


def _django_active(config: pytest.Config) -> bool:
    if not config.pluginmanager.hasplugin("django"):
        return False
    from django.conf import settings

    return settings.configured


def _uses_database(request: pytest.FixtureRequest) -> bool:
    if request.node.get_closest_marker("django_db") or DATABASE_FIXTURES & set(
        request.fixturenames
    ):
        return True
    from django.test import TransactionTestCase

    cls = getattr(request.node, "cls", None)
    return cls is not None and issubclass(cls, TransactionTestCase)


@pytest.fixture(scope="session")
def temporal_server(request: pytest.FixtureRequest):
    """The test environment: a dev server and a worker for the session (see module doc)."""
    if not _django_active(request.config):
        pytest.fail(
            "temporal_server needs pytest-django with Django settings "
            "(DJANGO_SETTINGS_MODULE or --ds)."
        )
    from joeflow_temporal.testing.environment import TestEnvironment

    environment = TestEnvironment().start()
    yield environment
    environment.stop()


@pytest.fixture(autouse=True)
def _joeflow_temporal_test(request: pytest.FixtureRequest):
    """For every test that can use the database: the environment runs, and what the test
    left running on its task queue is terminated afterwards (a rolled-back ``TestCase``
    gives its primary keys, hence its instance ids, to the next test)."""
    if not (_django_active(request.config) and _uses_database(request)):
        yield
        return
    environment = request.getfixturevalue("temporal_server")
    yield
    environment.end_open_executions()


@pytest.fixture
def joeflow_task_queue(temporal_server, settings):
    """A task queue of this test's own, named by ``JOEFLOW_TEMPORAL_TASK_QUEUE`` during it."""
    from joeflow_temporal.testing.environment import new_task_queue

    name = new_task_queue()
    settings.JOEFLOW_TEMPORAL_TASK_QUEUE = name
    yield name
    temporal_server.end_open_executions(name)


@pytest.fixture
def joeflow_worker(temporal_server, joeflow_task_queue, transactional_db):
    """A worker for this test only, on its own task queue (a ``RunningWorker``)."""
    from joeflow_temporal.testing.environment import RunningWorker

    worker = RunningWorker(temporal_server.client, joeflow_task_queue).start()
    yield worker
    worker.stop()
