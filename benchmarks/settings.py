"""Benchmark settings: the reference project plus the benchmark's workflows.

The run passes ``DATABASE_URL`` (the database it created) and ``DATABASE_CONN_MAX_AGE`` to its
worker and web server processes, so joeflow-temporal and the raw baseline share both.
"""

import os
import tempfile

from django_integration.settings import *  # noqa: F403
from django_integration.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = INSTALLED_APPS + ["benchmarks.benchapp"]
ROOT_URLCONF = "benchmarks.urls"

DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Never the configured file: a fresh one the run creates and removes.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get(
            "BENCHMARK_SQLITE_FILE",
            os.path.join(tempfile.gettempdir(), f"joeflow-benchmark-{os.getpid()}.sqlite3"),
        )
    }
