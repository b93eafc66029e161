"""The engine stays Django-free and the executions carry the class label for the web UI.

The engine's sources are kept free of Django imports by ruff's banned-api rule (TID251,
pyproject.toml); here a fresh interpreter proves that importing the engine loads no Django.
"""

import subprocess
import sys

from temporalio.common import SearchAttributeKey

from joeflow_temporal.engine import names
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
