"""pyproject.toml says what is tested: every pass of bin/test runs a Python and a Django that its
classifiers list, and the extras split what a user installs from what this project's suite needs."""

import sys
import tomllib
from pathlib import Path

import django

PYPROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


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
