"""Follow "Existing joeflow data" (docs/coming-from-joeflow.md) on a real joeflow 2.0.2 project.

``python tests/joeflow_fixture/check_procedure.py [--postgres URL]``, from the repository root
with the project's virtualenv (it starts the bundled ``temporal`` dev server). In a throwaway
virtualenv holding joeflow 2.0.2 *and* this checkout, it writes the fixture's instances with
joeflow, then takes every documented step as a user would, the project's own migration and the
removal of joeflow included, and checks that the instances go on and new ones start. It needs
network access (pip); with ``--postgres`` it works on a fresh database ``joeflow_procedure`` on
that server instead of SQLite.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from build import HERE, make_project, make_virtualenv

from joeflow_temporal.devserver import dev_server_command, wait_for_port
from joeflow_temporal.testing.ports import free_port

REPOSITORY = HERE.parent.parent

CHECK_INSTANCES = """
import time
from django.contrib.auth.models import User
from joeflow_temporal.models import Task
from shop.models import OrderWorkflow, ReminderWorkflow

def completed(cls, pk):
    deadline = time.monotonic() + 60
    while not cls.objects.get(pk=pk).completed:
        assert time.monotonic() < deadline, f"{cls.__name__} {pk} did not end"
        time.sleep(0.2)
    return cls.objects.get(pk=pk)

alice = User.objects.get(username="alice")
with Task.objects.get(pk=10).completing(alice):
    OrderWorkflow.objects.filter(pk=2).update(approved=True)
for pk in (2, 3):
    order = completed(OrderWorkflow, pk)
    assert (order.packed, order.invoiced, order.shipped) == (1, 1, 1), order.__dict__
assert completed(ReminderWorkflow, 7).reminded == 1
assert Task.objects.get(pk=23).status == "failed"
print("instances 2, 3 and 7 ended, every machine task ran once; 4 is still failed")
"""

PARENT_LINKS = """
from django.db import connection
with connection.cursor() as cursor:
    for table in ("shop_order", "shop_reminder"):
        constraints = connection.introspection.get_constraints(cursor, table).values()
        keys = [c["foreign_key"] for c in constraints if c["foreign_key"]]
        assert keys == [("{table}", "id")], (table, keys)
print("the parent links point at {table}")
"""

START_ONE = """
from shop.models import OrderWorkflow
new = OrderWorkflow.start(customer="after the move")
print("started", new, "with tasks", sorted(new.task_set.values_list("pk", flat=True)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="e.g. postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--venv", type=Path, help="Keep the virtualenv here (reused if there).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="joeflow-procedure-") as tmp:
        tmp = Path(tmp)
        python = make_virtualenv(args.venv or tmp / "venv")
        run([python, "-m", "pip", "install", "-q", "-e", str(REPOSITORY)])
        project = make_project(tmp / "project")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "joeflow_project.settings"}
        env["FIXTURE_DB"] = str(tmp / "db.sqlite3")
        if args.postgres:
            env["FIXTURE_PG"] = fresh_database(args.postgres, "joeflow_procedure")
        port = free_port()
        env["JOEFLOW_TEMPORAL_ADDRESS"] = f"127.0.0.1:{port}"
        server = subprocess.Popen(
            dev_server_command(port, free_port(), tmp / "temporal.sqlite3", headless=True),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        worker = None
        try:
            wait_for_port(port, 60, server)
            worker = procedure(python, project, env)
        finally:
            for process in (worker, server):
                if process is not None:
                    process.terminate()
                    process.wait(30)
    print("The documented procedure works.")


def procedure(python: str, project: Path, env: dict) -> subprocess.Popen:
    def manage(*command: str, **kwargs) -> str:
        return run([python, "-m", "django", *command], cwd=project, env=env, **kwargs)

    step("joeflow 2.0.2 writes its instances")
    manage("makemigrations", "shop")
    manage("migrate", "-v", "0")
    run([python, "-m", "joeflow_project.populate"], cwd=project, env=env)

    step("2. rename the imports; INSTALLED_APPS += rest_framework, joeflow_temporal")
    shutil.copyfile(HERE / "shop" / "models.py", project / "shop" / "models.py")
    env["FIXTURE_STEP"] = "renamed"

    step("3. migrate joeflow_temporal")
    manage("migrate", "joeflow_temporal")

    step("4. import_joeflow --dry-run, import_joeflow")
    manage("import_joeflow", "--dry-run")
    assert "Imported 7 of 7 instances" in manage("import_joeflow")

    step("5. a migration that moves the models to joeflow_temporal's Workflow; migrate")
    manage("shell", "-c", PARENT_LINKS.format(table="joeflow_workflow"))
    manage("makemigrations", "shop", "--empty", "--name", "move_to_joeflow_temporal")
    migration = project / "shop" / "migrations" / "0002_move_to_joeflow_temporal.py"
    text = migration.read_text().replace(
        "from django.db import migrations\n",
        "from django.db import migrations\n\n"
        "from joeflow_temporal.operations import MoveToJoeflowTemporal\n",
    )
    text = text.replace(
        "operations = [\n    ]",
        "operations = [\n"
        "        MoveToJoeflowTemporal('order'),\n"
        "        MoveToJoeflowTemporal('reminder'),\n"
        "    ]",
    )
    migration.write_text(text)
    print(textwrap.indent(text, "   "))
    manage("makemigrations", "--check", "--dry-run")
    manage("migrate")
    manage("shell", "-c", PARENT_LINKS.format(table="joeflow_temporal_workflow"))

    step("6. the worker: the imported instances go on")
    worker = subprocess.Popen([python, "-m", "django", "temporal_worker"], cwd=project, env=env)
    manage("shell", "-c", CHECK_INSTANCES)
    manage("shell", "-c", START_ONE)

    step("7. remove joeflow: edit the migrations, migrate joeflow zero, INSTALLED_APPS -= joeflow")
    for migration in (project / "shop" / "migrations").glob("0*.py"):
        text = migration.read_text()
        text = text.replace("'joeflow.workflow'", "'joeflow_temporal.workflow'")
        text = text.replace("('joeflow', '0001_initial')", "('joeflow_temporal', '0001_initial')")
        migration.write_text(text)
    manage("migrate", "joeflow", "zero")
    env["FIXTURE_STEP"] = "without_joeflow"
    manage("check")
    manage("makemigrations", "--check", "--dry-run")
    manage("migrate", "--check")
    manage("shell", "-c", START_ONE)
    tables = manage("shell", "-c", SHOW_TABLES)
    assert "joeflow_task" not in tables.split(), tables
    return worker


SHOW_TABLES = "from django.db import connection; print(*connection.introspection.table_names())"


def fresh_database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}"


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(command: list[str], **kwargs) -> str:
    done = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)
    print(textwrap.indent(done.stdout + done.stderr, "   "), end="", flush=True)
    if done.returncode:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}")
    return done.stdout


if __name__ == "__main__":
    main()
