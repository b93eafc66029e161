"""The ``joeflow_temporal`` pytest plugin: the test environment of ``TestRunner``, for pytest.

Registered by the package's ``pytest11`` entry point, so installing joeflow-temporal is all it
takes (``-p no:joeflow_temporal`` turns it off). Active whenever pytest-django is, with
Django settings configured; inert otherwise. The first test that can use the database starts
the environment (a dev server of its own and a worker, see ``TestEnvironment``) for the rest of
the session, and every such test's leftover executions are terminated after it, so
``TestCase`` classes and ``django_db(transaction=True)`` tests work without a conftest.
SQLite test databases go to a temporary file instead of memory, as with ``TestRunner``.

Fixtures:

- ``temporal_server`` (session): the running ``TestEnvironment`` (``address``, ``namespace``,
  ``task_queue``, ``client``); the settings point at it for the whole session.
- ``joeflow_task_queue``: a task queue of the test's own (the setting points at it during the
  test, nothing polls it); what still runs on it afterwards is terminated.
- ``joeflow_worker``: a worker on ``joeflow_task_queue``, with ``transactional_db``: the engine
  runs the test's instances for real, isolated from every other test.
"""

import pytest

TRANSACTIONAL_FIXTURES = {
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


def _commits_are_real(request: pytest.FixtureRequest) -> bool | None:
    """Like ``runner.commits_are_real``: yes when the test's commits are real (the engine sees
    them), no when it runs in a transaction that is rolled back, ``None`` without a database."""
    if TRANSACTIONAL_FIXTURES & set(request.fixturenames):
        return True
    cls = getattr(request.node, "cls", None)
    if cls is not None:
        from joeflow_temporal.testing.runner import commits_are_real

        if (commits := commits_are_real(cls)) is not None:
            return commits
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        transaction = marker.kwargs.get("transaction", marker.args[0] if marker.args else False)
        return bool(transaction or marker.kwargs.get("reset_sequences"))
    return False if "db" in request.fixturenames else None


@pytest.fixture(scope="session", autouse=True)
def _joeflow_temporal_sqlite_files(request: pytest.FixtureRequest):
    """Before pytest-django creates the test databases: SQLite ones in files, not in memory
    (``sqlite_test_databases_in_files``)."""
    if _django_active(request.config):
        from joeflow_temporal.testing.environment import sqlite_test_databases_in_files

        sqlite_test_databases_in_files()


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
    """For every test that can use the database: the environment runs, the test's instances go
    to the served queue if its commits are real and to the unserved one if they are rolled
    back, and what the test left running is terminated afterwards (a rolled-back ``TestCase``
    gives its primary keys, hence its instance ids, to the next test)."""
    commits = _commits_are_real(request) if _django_active(request.config) else None
    if commits is None:
        yield
        return
    environment = request.getfixturevalue("temporal_server")
    queue = environment.task_queue_for(commits)
    request.getfixturevalue("settings").JOEFLOW_TEMPORAL_TASK_QUEUE = queue
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
