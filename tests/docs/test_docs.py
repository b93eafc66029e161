"""The user documentation (docs/, MkDocs): it builds with warnings as errors, and the pages
that list settings and command options stay complete as the code changes."""

import re
import subprocess
import sys
from datetime import timedelta

import pytest
import yaml
from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand

from joeflow_temporal import conf
from tests.helpers import ROOT, settings_env_names

DOCS = ROOT / "docs"
OUR_COMMANDS = [
    "render_workflow_graph",
    "temporal_worker",
    "temporal_dev",
    "import_joeflow",
    "sync_schedules",
]


def page(name: str) -> str:
    return (DOCS / name).read_text()


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row that is not a header separator."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.fullmatch(r"\|[\s:|-]+\|", line):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def settings_table() -> dict[str, list[str]]:
    return {
        row[0].strip("`"): row[1:]
        for row in table_rows(page("settings.md"))
        if row[0].startswith("`JOEFLOW_TEMPORAL_")
    }


def test_settings_page_lists_every_setting():
    missing = set(conf.DEFAULTS) - set(settings_table())
    assert not missing, f"docs/settings.md does not document {sorted(missing)}"


def test_settings_page_lists_no_setting_that_does_not_exist():
    unknown = set(settings_table()) - set(conf.DEFAULTS)
    assert not unknown, f"docs/settings.md documents settings conf.py lacks: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(conf.DEFAULTS))
def test_settings_page_gives_the_real_default(name):
    default, *_ = settings_table()[name]
    assert default.startswith("`") and default.endswith("`"), default
    assert eval(default.strip("`"), {"timedelta": timedelta}) == conf.DEFAULTS[name]


@pytest.mark.parametrize("name", sorted(conf.DEFAULTS))
def test_settings_page_says_which_settings_come_from_the_environment(name):
    _, environment, *_ = settings_table()[name]
    documented = environment.startswith("yes")
    assert documented == (name in settings_env_names()), (
        f"docs/settings.md says {name} is {'' if documented else 'not '}read from the "
        "environment by django_integration/settings.py; it is the other way round"
    )


def test_every_setting_named_in_the_docs_exists():
    named = set()
    for path in DOCS.glob("*.md"):
        named |= set(re.findall(r"\bJOEFLOW_TEMPORAL_[A-Z_]*[A-Z]\b", path.read_text()))
    assert named - set(conf.DEFAULTS) == set()


def test_every_management_command_named_in_the_docs_exists():
    named = set()
    for path in DOCS.glob("*.md"):
        named |= set(re.findall(r"manage\.py ([a-z_]+)", path.read_text()))
    assert named, "the docs name no management command at all?"
    assert named - set(get_commands()) == set()


@pytest.mark.parametrize("name", OUR_COMMANDS)
def test_commands_page_documents_every_option(name):
    text = page("commands.md")
    assert f"## {name}" in text
    section = text.split(f"## {name}", 1)[1].split("\n## ", 1)[0]
    parser = load_command_class("joeflow_temporal", name).create_parser("manage.py", name)
    base = {
        option
        for action in BaseCommand().create_parser("manage.py", "base")._actions
        for option in action.option_strings
    }
    for action in parser._actions:
        options = [option for option in action.option_strings if option not in base]
        for option in options:
            assert option in section, f"docs/commands.md: {name} {option} is not documented"
        if not action.option_strings:
            assert action.dest in section, f"docs/commands.md: {name} {action.dest} missing"


def test_commands_page_gives_the_real_defaults():
    worker = load_command_class("joeflow_temporal", "temporal_worker").create_parser("m", "w")
    dev = load_command_class("joeflow_temporal", "temporal_dev").create_parser("m", "d")
    text = page("commands.md")
    assert f"Default: {worker.get_default('max_concurrent_activities')}." in text
    assert f"Default: `{dev.get_default('addrport')}`." in text
    assert f"Default: {dev.get_default('temporal_port')}." in text
    assert f"Default: {dev.get_default('ui_port')}." in text
    assert f"`{dev.get_default('db_file')}`" in text


def test_nav_lists_every_page_and_only_existing_ones():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True
    nav = [next(iter(entry.values())) for entry in config["nav"]]
    pages = sorted(path.name for path in DOCS.glob("*.md"))
    assert sorted(nav) == pages


def test_mkdocs_build_is_clean(tmp_path):
    """`mkdocs build --strict`: broken links, missing anchors and stray pages fail the build."""
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Coming from joeflow" in index
    for html in (tmp_path / "site").rglob("*.html"):
        remote = re.findall(
            r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', html.read_text()
        )
        assert not remote, f"{html.name} loads from a CDN: {remote}"


def code_blocks(name: str, language: str = "python") -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page(name), re.S)


def without_imports(code: str) -> str:
    return "\n".join(
        line for line in code.splitlines() if not line.startswith(("import ", "from "))
    ).strip()


def test_the_docs_test_examples_are_the_tutorial_projects():
    """Every test the tutorial and the testing page show is in tests/tutorial_project, which
    docs/test_tutorial_project.py runs with ``manage.py test`` and pytest; so is the pytest.ini."""
    project = ROOT / "tests" / "tutorial_project"
    modules = "\n".join(path.read_text() for path in (project / "welcome").glob("test*.py"))
    examples = [
        block
        for name in ("tutorial.md", "testing.md")
        for block in code_blocks(name)
        if re.search(r"^(class \w+Test\(|def test_)", block, re.M)
    ]
    assert len(examples) == 4, "machine tests, human tests, the engine test, the pytest one"
    for example in examples:
        assert without_imports(example) in modules, example
    (ini,) = code_blocks("tutorial.md", "ini")
    assert ini == (project / "pytest.ini").read_text()
    assert 'TEST_RUNNER = "joeflow_temporal.testing.TestRunner"' in "".join(
        code_blocks("tutorial.md")
    )
