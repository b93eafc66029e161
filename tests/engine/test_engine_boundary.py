"""The engine stays Django-free and the executions carry the class label for the web UI.

The engine's sources are kept free of Django imports by ruff's banned-api rule (TID251,
pyproject.toml); here a fresh interpreter proves that importing the engine loads no Django.
"""

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from temporalio.common import SearchAttributeKey

from joeflow_temporal.engine import names
from joeflow_temporal.testing import RunningWorker
from tests.helpers import ROOT, describe, result
from tests.testapp import models


def test_engine_imports_without_django():
    code = (
        "import sys, joeflow_temporal.engine, joeflow_temporal.engine.walker, "
        "joeflow_temporal.engine.plugin\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_execution_is_named_and_tagged_with_the_workflow_class(worker):
    workflow = models.LinearWorkflow.start()
    result(workflow)

    description = describe(workflow)

    assert description.id == f"testapp.linearworkflow.{workflow.pk}"
    assert description.workflow_type == names.WORKFLOW_TYPE
    key = SearchAttributeKey.for_keyword(names.SEARCH_ATTRIBUTE)
    assert description.typed_search_attributes.get(key) == "testapp.linearworkflow"


ENGINE_DIR = str(ROOT / "joeflow_temporal" / "engine")
ENGINE_RUNS: list[list[str]] = []
"""The recordings under way: each gets the engine's source files whose module code runs."""


def note_engine_module_runs(event: str, args: tuple) -> None:
    """Python raises the ``exec`` audit event with the code object each time an import runs a
    module's code, in Temporal's sandbox too."""
    if event == "exec" and ENGINE_RUNS:
        filename = getattr(args[0], "co_filename", "")
        if filename.startswith(ENGINE_DIR):
            ENGINE_RUNS[-1].append(Path(filename).name)


sys.addaudithook(note_engine_module_runs)


@contextmanager
def engine_module_runs():
    """The engine's modules whose code runs while the block runs."""
    ENGINE_RUNS.append([])
    try:
        yield ENGINE_RUNS[-1]
    finally:
        ENGINE_RUNS.pop()


def test_engine_modules_run_once_per_worker_process_not_once_per_run(
    temporal_server, task_queue, transactional_db
):
    """The engine package passes through the sandbox: a new worker and three runs run the code
    of the plugin, the walker and the pydantic models no more (it ran when first imported)."""
    with engine_module_runs() as runs:
        worker = RunningWorker(temporal_server.client, task_queue).start()
        try:
            for _ in range(3):
                result(models.LinearWorkflow.start())
        finally:
            worker.stop()

    assert runs == []
