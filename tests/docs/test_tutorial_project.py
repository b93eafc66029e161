"""The tutorial as a new user follows it: tests/tutorial_project is a project with only the
settings docs/tutorial.md shows (plus ``TEST_RUNNER``), the seed's "Testing your workflow"
tests verbatim (welcome/tests.py) and the tutorial's engine test (welcome/test_engine.py).
It runs here in a subprocess, from a copy outside this repository (no conftest.py above it),
with ``manage.py test`` and with pytest.

The project uses SQLite only, as a new project does (its test database goes to a temporary
file); the engine's behaviour on PostgreSQL is what this suite's own tests cover.
"""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from temporalio.client import Client

from joeflow_temporal.testing.ports import free_port
from tests.helpers import TESTS

pytestmark = pytest.mark.once  # SQLite only, whatever DATABASE_URL says: one pass is enough

PROJECT = TESTS / "tutorial_project"
RUNNER_SETTING = 'TEST_RUNNER = "joeflow_temporal.testing.TestRunner"'
TIMEOUT = 300


@pytest.fixture
def project(tmp_path) -> Path:
    copy = tmp_path / "tutorial_project"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return copy


def name_address(project: Path, address: str) -> None:
    """Point the project's ``JOEFLOW_TEMPORAL_ADDRESS`` (the tutorial's setting) elsewhere."""
    settings = project / "tutorial" / "settings.py"
    text, count = re.subn(
        r'^JOEFLOW_TEMPORAL_ADDRESS = ".*"$',
        f'JOEFLOW_TEMPORAL_ADDRESS = "{address}"',
        settings.read_text(),
        flags=re.M,
    )
    assert count == 1
    settings.write_text(text)


def environment() -> dict[str, str]:
    """This process's environment without what would point the project at this suite."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH")
        and not name.startswith("JOEFLOW_TEMPORAL_")
    }


def run(project: Path, *command: str) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    completed = subprocess.run(
        [sys.executable, *command],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return completed, time.monotonic() - began


def manage_py_test(project: Path, *options: str) -> str:
    completed, seconds = run(project, "manage.py", "test", *options)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-5000:]
    assert "Ran 7 tests" in output and "\nOK" in output, output[-3000:]
    print(f"manage.py test {' '.join(options)}: {seconds:.1f} s wall")
    return output


def test_manage_py_test_passes_twice_in_a_row(project):
    for _ in range(2):
        output = manage_py_test(project)
        assert "localhost:7233" not in output  # the test server is on a port of its own


def test_manage_py_test_never_touches_the_developers_temporal_dev(project):
    """``temporal_dev`` runs on the address the project's settings name, with its worker: the
    test runs pass and leave that server without a single execution."""
    port = free_port()
    name_address(project, f"127.0.0.1:{port}")
    with DeveloperServer(project, port):
        for _ in range(2):
            manage_py_test(project)
        # Without the runner (the tutorial sets it after `temporal_dev`) the tests fail and
        # say what to set, rather than start instances on the developer's server.
        completed, _ = run(
            project,
            *("manage.py", "test", "welcome.tests.WelcomeWorkflowHumanTest"),
            *("--testrunner", "django.test.runner.DiscoverRunner"),
        )
        output = completed.stdout + completed.stderr
        assert completed.returncode != 0 and RUNNER_SETTING in output, output[-3000:]
        assert executions_on(f"127.0.0.1:{port}") == []


def test_parallel_runs_in_one_process_and_says_why(project):
    output = manage_py_test(project, "--parallel", "2")
    assert "runs the tests in one process (--parallel=2 ignored)" in output


def test_pytest_without_a_conftest(project):
    assert not list(project.rglob("conftest.py"))
    completed, seconds = run(project, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert completed.returncode == 0, completed.stdout[-5000:] + completed.stderr[-3000:]
    assert "8 passed" in completed.stdout, completed.stdout[-2000:]
    print(f"pytest: {seconds:.1f} s wall")


def test_without_the_test_environment_the_failure_names_the_runner_setting(project):
    """Django's own runner (or pytest with the plugin off) and no server: the 503 is logged
    with what to set."""
    name_address(project, f"127.0.0.1:{free_port()}")  # nothing listens there
    post = "welcome.tests.WelcomeWorkflowHumanTest.test_start__post_without_user"
    completed, _ = run(
        project, "manage.py", "test", post, "--testrunner", "django.test.runner.DiscoverRunner"
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    assert "503 != 302" in output and RUNNER_SETTING in output, output[-3000:]

    completed, _ = run(
        project, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:joeflow_temporal",
        "-k", "post_without_user",
    )  # fmt: skip
    assert completed.returncode != 0, completed.stdout
    assert RUNNER_SETTING in completed.stdout, completed.stdout[-3000:]


class DeveloperServer:
    """``manage.py temporal_dev`` (dev server, worker, web server) in the project, headless."""

    def __init__(self, project: Path, port: int):
        self.command = [
            sys.executable,
            "manage.py",
            "temporal_dev",
            f"127.0.0.1:{free_port()}",
            *("--temporal-port", str(port), "--headless"),
            *("--db-file", str(project / "temporal.sqlite3")),
        ]
        self.project = project
        self.lines: list[str] = []

    def __enter__(self) -> "DeveloperServer":
        self.process = subprocess.Popen(
            self.command,
            cwd=self.project,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()
        deadline = time.monotonic() + 120
        while not any("Ready:" in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.2)
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)


def executions_on(address: str) -> list[str]:
    async def list_ids() -> list[str]:
        client = await Client.connect(address)
        return [execution.id async for execution in client.list_workflows()]

    return asyncio.run(list_ids())
