"""The package's import graph has no circles, and every module imports on its own.

Circles hide in imports made inside functions as well as at the top, so the check reads every
import statement. One edge is deferred on purpose and allowed: ``runtime.client.connect`` builds
the full plugin, whose activities import ``models``, which imports ``runtime.client``.
"""

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "joeflow_temporal"
DEFERRED = {("joeflow_temporal.runtime.client", "joeflow_temporal.runtime.worker")}


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names[name] = path
    return names


MODULES = module_names()


def package_module(target: str) -> str | None:
    """The package's module ``target`` names (``a.b.name`` may be a name in module ``a.b``)."""
    while target:
        if target in MODULES:
            return target
        target = target.rpartition(".")[0]
    return None


def under_type_checking(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports() -> dict[str, set[str]]:
    """Each module's imports of the package's modules, wherever they are made (at run time)."""
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            if not under_type_checking(node, parents):
                targets |= {package_module(n) for n in names} - {None, name}
        graph[name] = {t for t in targets if (name, t) not in DEFERRED}
    return graph


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle in ``graph``, as the modules along it, or None."""
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module) :] + [module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            if found := visit(target):
                return found
        path.pop()
        done.add(module)
        return None

    return next((found for module in sorted(graph) if (found := visit(module))), None)


def test_no_import_circles():
    assert circle(imports()) is None


def test_models_import_no_urls_views_or_activities():
    """``models`` is imported by everything else (the app registry loads it first)."""
    graph = imports()
    reachable, todo = set(), ["joeflow_temporal.models"]
    while todo:
        for target in graph[todo.pop()] - reachable:
            reachable.add(target)
            todo.append(target)
    assert not reachable & {
        "joeflow_temporal.views",
        "joeflow_temporal.api.views",
        "joeflow_temporal.admin",
        "joeflow_temporal.tasks",
        "joeflow_temporal.runtime.activities",
        "joeflow_temporal.runtime.worker",
    }


def import_alone(module: str) -> subprocess.CompletedProcess:
    code = f"import django, importlib\ndjango.setup()\nimportlib.import_module({module!r})\n"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
    )


@pytest.mark.once
def test_every_module_imports_first_in_a_fresh_interpreter():
    """Imported first after ``django.setup()`` (which imports the models), each module finds
    what it needs: no module works only because another imported something first."""
    modules = sorted(MODULES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        failed = {
            module: process.stderr.strip().splitlines()[-1]
            for module, process in zip(modules, pool.map(import_alone, modules), strict=True)
            if process.returncode
        }
    assert failed == {}
