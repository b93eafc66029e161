"""Write the fixture database with real joeflow 2.0.2: ``python tests/joeflow_fixture/build.py``.

In a throwaway virtualenv with joeflow 2.0.2 (and Celery, whose task joeflow runs machine tasks
with), it runs ``joeflow_project`` with the ``shop`` app of this directory, its imports renamed
back from ``joeflow_temporal`` to ``joeflow``: ``makemigrations``, ``migrate``, then
``populate.py``, which leaves instances in every state joeflow knows. It writes

- ``joeflow-2.0.2.sqlite3``: that database, the data the tests import;
- ``joeflow-2.0.2.sqlite.sql`` and ``joeflow-2.0.2.postgresql.sql``: joeflow's tables as its
  migration creates them on each database (``sqlmigrate joeflow 0001``), so a test creates
  them in its own database, SQLite or PostgreSQL, and loads the rows there.

Needs network access (pip) and, for the PostgreSQL schema, a server: ``--postgres URL``
(default ``postgres://postgres@127.0.0.1:5432/postgres``; only read).
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATABASE = HERE / "joeflow-2.0.2.sqlite3"
REQUIREMENTS = ["joeflow[celery]==2.0.2", "django>=5.2,<5.3", "psycopg[binary]>=3.1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--venv", type=Path, help="Keep the virtualenv here (reused if there).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="joeflow-fixture-") as tmp:
        tmp = Path(tmp)
        python = make_virtualenv(args.venv or tmp / "venv")
        project = make_project(tmp / "project")
        db = tmp / "db.sqlite3"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "joeflow_project.settings"}
        env["FIXTURE_DB"] = str(db)
        for command in (["makemigrations", "shop"], ["migrate", "-v", "0"]):
            subprocess.run([python, "-m", "django", *command], cwd=project, env=env, check=True)
        subprocess.run([python, "-m", "joeflow_project.populate"], cwd=project, env=env, check=True)
        schema(python, project, env, HERE / "joeflow-2.0.2.sqlite.sql")
        schema(
            python,
            project,
            {**env, "FIXTURE_PG": args.postgres},
            HERE / "joeflow-2.0.2.postgresql.sql",
        )
        with sqlite3.connect(db) as connection:
            connection.execute("VACUUM")
        shutil.copyfile(db, DATABASE)
    print(f"Wrote {DATABASE.relative_to(Path.cwd())}")


def make_virtualenv(path: Path) -> str:
    python = str(path / "bin" / "python")
    if Path(python).exists():
        return python
    venv.create(path, with_pip=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    return python


def make_project(path: Path) -> Path:
    """The project, and the shop app as its joeflow author wrote it (imports from ``joeflow``)."""
    shutil.copytree(HERE / "joeflow_project", path / "joeflow_project")
    shop = path / "shop"
    (shop / "migrations").mkdir(parents=True)
    (shop / "migrations" / "__init__.py").touch()
    for name in ("__init__.py", "models.py"):
        text = (HERE / "shop" / name).read_text()
        (shop / name).write_text(text.replace("joeflow_temporal", "joeflow"))
    return path


def schema(python: str, project: Path, env: dict, target: Path) -> None:
    sql = subprocess.run(
        [python, "-m", "django", "sqlmigrate", "joeflow", "0001"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    target.write_text(sql)


if __name__ == "__main__":
    sys.exit(main())
