"""The benchmark script runs end to end: ``benchmarks/run.py --quick`` as a real subprocess
(its own dev server, database, workers and web server) prints every scenario in its table and
writes them to its JSON document. What the figures are is the benchmark's business, not a test's.
"""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.helpers import ROOT

SCENARIOS = {
    "raw_chain": "raw temporalio: K=10",
    "raw_chain_local": "local activities",
    "chain": "linear chain K=10",
    "chain_local": "LOCAL_ACTIVITIES",
    "raw_start_heavy": "raw temporalio: K=1",
    "start_heavy": "start-heavy K=1",
    "raw_split": "raw temporalio: 8 concurrent",
    "split_join": "split/join 8 branches",
    "human": "human round trip",
    "sync": "synchronous bookkeeping",
    "loop": "-iteration loop",
    "inbox": "inbox GET /api/tasks/?status",
    "inbox_candidate": "inbox GET /api/tasks/?candidate=me",
    "overview_100k": "overview page",
    "human_timers_history": "due + remind_every + on_timeout",
}


def benchmark_database_url(tmp_path) -> str:
    """A database of the benchmark's own, never the suite's: the run creates and drops it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'configured.sqlite3'}"  # the run uses a fresh file
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/"
        f"{db['NAME']}_benchmark"
    )


@pytest.mark.slow
@pytest.mark.once
def test_the_quick_benchmark_reports_every_scenario(tmp_path):
    output = tmp_path / "results.json"
    finished = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--quick", "--repeat", "1", "--json", str(output)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": benchmark_database_url(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-5000:]

    table = [line for line in finished.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| scenario | steps/s |")
    document = json.loads(output.read_text())
    assert [row["id"] for row in document["rows"]] == list(SCENARIOS)
    for row, (_, label) in zip(table[1:], SCENARIOS.items(), strict=True):
        assert label in row
    assert {target["row"] for target in document["targets"]} == {
        "chain",
        "chain_local",
        "human",
        "inbox",
        "inbox_candidate",
        "overview_100k",
        "loop",
    }
    assert all(
        row["steps_per_s"] or row["p50_ms"] or row["events_per_instance"]
        for row in document["rows"]
    )
    assert document["machine"]["database"].startswith(
        "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    )
