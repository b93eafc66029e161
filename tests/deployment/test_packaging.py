"""pyproject.toml says what is tested: every pass of bin/test runs a Python and a Django that its
classifiers list, and the extras split what a user installs from what this project's suite needs."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import django

from tests.helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

FAKE_PYTHON = """#!/usr/bin/env bash
# python3 -m venv DIR: a venv whose python only logs what it is asked to do.
mkdir -p "$3/bin"
echo "home = /fake" >"$3/pyvenv.cfg"
printf '#!/usr/bin/env bash\necho "python $*" >>"$LOG"\n' >"$3/bin/python"
chmod +x "$3/bin/python"
"""


def test_the_classifiers_name_the_python_and_the_django_of_this_run():
    python = "Programming Language :: Python :: {}.{}".format(*sys.version_info[:2])
    framework = "Framework :: Django :: {}.{}".format(*django.VERSION[:2])
    classifiers = PROJECT["classifiers"]
    assert python in classifiers, f"tested on {python!r}: add it to pyproject.toml's classifiers"
    assert framework in classifiers, (
        f"tested on {framework!r}: add it to pyproject.toml's classifiers (and drop the one it "
        "replaces if no pass of bin/test runs that any more)"
    )


def test_the_test_extra_is_what_a_user_needs_and_dev_adds_our_tools():
    extras = PROJECT["optional-dependencies"]
    names = {requirement.split(">")[0].split("[")[0] for requirement in extras["test"]}
    # The dev server, pytest and pytest-django; none of this project's lint, docs or fuzz tools.
    assert names == {"joeflow-temporal", "pytest", "pytest-django"}
    assert "joeflow-temporal[server]" in extras["test"]
    assert extras["dev"][0] == "joeflow-temporal[test,postgres,reference]"


class FreshMachine:
    """A checkout of bin/setup on a machine with no Graphviz, no Chromium and no .venv, whose
    apt-get and python only log what they are asked to install (``commands()``)."""

    TOOLS = ("bash", "cat", "sha256sum", "cut", "id", "mkdir", "chmod", "dirname", "printf")

    def __init__(self, tmp_path: Path):
        self.project, self.tools = tmp_path / "project", tmp_path / "bin"
        self.log = tmp_path / "log"
        (self.project / "bin").mkdir(parents=True)
        shutil.copy(ROOT / "bin/setup", self.project / "bin/setup")
        shutil.copy(ROOT / "pyproject.toml", self.project / "pyproject.toml")
        self.tools.mkdir()
        for tool in self.TOOLS:
            (self.tools / tool).symlink_to(shutil.which(tool))
        self.add_tool("apt-get", 'echo "apt-get $*" >>"$LOG"')
        self.add_tool("sudo", '"$@"')
        (self.tools / "python3").write_text(FAKE_PYTHON)
        (self.tools / "python3").chmod(0o755)

    def add_tool(self, name: str, body: str) -> None:
        (self.tools / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
        (self.tools / name).chmod(0o755)

    def setup(self, mode: str) -> list[str]:
        """Run ``bin/setup MODE``; the commands it ran, in order."""
        self.log.write_text("")
        env = {"PATH": str(self.tools), "HOME": str(self.project), "LOG": str(self.log)}
        subprocess.run(["bash", "bin/setup", mode], cwd=self.project, env=env, check=True)
        return self.log.read_text().splitlines()


def test_bin_run_sets_up_what_running_needs_and_no_browser_nor_test_tools(tmp_path):
    setup_calls = [line.split() for line in (ROOT / "bin/run").read_text().splitlines()]
    assert [call for call in setup_calls if "bin/setup" in call] == [["bin/setup", "run"]]
    machine = FreshMachine(tmp_path)

    commands = machine.setup("run")

    pip = "python -m pip install -q --disable-pip-version-check"
    assert commands == [
        "apt-get update -qq",
        "apt-get install -y -qq graphviz",
        f"{pip} --upgrade pip",
        f"{pip} -e .[server,reference]",
    ]
    extras = PROJECT["optional-dependencies"]
    running = " ".join(extras["server"] + extras["reference"])
    for tool in ("pytest", "playwright", "schemathesis", "ruff", "mkdocs"):
        assert tool not in running

    machine.add_tool("dot", "true")  # Graphviz is there now
    assert machine.setup("run") == [], "a second start installs nothing"


def test_bin_setup_test_adds_the_browser_and_the_development_set(tmp_path):
    commands = FreshMachine(tmp_path).setup("test")

    assert "apt-get install -y -qq graphviz chromium chromium-driver" in commands
    assert commands[-1] == "python -m pip install -q --disable-pip-version-check -e .[dev]"
    assert not any("[server,reference]" in command for command in commands)
