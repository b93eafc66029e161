"""Testing workflows: a Temporal environment for the test run, and waiting for the engine.

``TEST_RUNNER = "joeflow_temporal.testing.TestRunner"`` for ``manage.py test``; for pytest the
``joeflow_temporal`` plugin (``joeflow_temporal.testing.pytest_plugin``) does the same. See
DESIGN.md "Testing your workflows" and docs/tutorial.md.

The names are imported on first use: pytest loads the plugin module (and so this package)
before Django is set up, and the worker needs the app's models.
"""

from importlib import import_module

_EXPORTS = {
    "EngineTimeout": "joeflow_temporal.testing.waiting",
    "RunningWorker": "joeflow_temporal.testing.environment",
    "TestEnvironment": "joeflow_temporal.testing.environment",
    "TestRunner": "joeflow_temporal.testing.runner",
    "wait_for_engine": "joeflow_temporal.testing.waiting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
