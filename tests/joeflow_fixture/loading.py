"""Put the joeflow 2.0.2 fixture into the test database, SQLite or PostgreSQL.

joeflow's tables are created by the SQL its migration produces on that database (written by
``build.py`` with ``sqlmigrate``), then filled with the rows of ``joeflow-2.0.2.sqlite3``. Users
and content types exist in the test database already under other ids: they are mapped by name.
"""

import sqlite3
from contextlib import closing
from datetime import UTC
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from tests.joeflow_fixture.shop.models import Order, Reminder

HERE = Path(__file__).resolve().parent
DATABASE = HERE / "joeflow-2.0.2.sqlite3"
TABLES = [
    "joeflow_workflow",
    "joeflow_task",
    "joeflow_task_parent_task_set",
    "joeflow_task_assignees",
]


def rows(query: str) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(f"file:{DATABASE}?mode=ro", uri=True)) as source:
        source.row_factory = sqlite3.Row
        return source.execute(query).fetchall()


def when(text: str | None):
    """A stored SQLite datetime (naive UTC text) as the test database takes it."""
    if text is None:
        return None
    return connection.ops.adapt_datetimefield_value(parse_datetime(text).replace(tzinfo=UTC))


def create_joeflow_tables() -> None:
    script = (HERE / f"joeflow-2.0.2.{connection.vendor}.sql").read_text()
    lines = [line for line in script.splitlines() if line and not line.startswith("--")]
    statements = [
        s for s in "\n".join(lines).split(";\n") if s.strip(" ;") not in ("BEGIN", "COMMIT")
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.rstrip(";"))


def drop_joeflow_tables() -> None:
    drop_tables(*reversed(TABLES))


def drop_tables(*tables: str) -> None:
    """Tables a test made beside the models' (the test database's flush does not know them)."""
    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}{cascade}")


def load_joeflow_rows() -> dict[str, int]:
    """Copy the fixture's users and joeflow rows; return the users' new ids by username."""
    users = {}
    for user in rows("SELECT * FROM auth_user ORDER BY id"):
        users[user["id"]] = get_user_model().objects.create(
            username=user["username"],
            email=user["email"],
            is_staff=user["is_staff"],
            is_superuser=user["is_superuser"],
        )
    ContentType.objects.clear_cache()
    content_types = {
        row["id"]: ContentType.objects.get_by_natural_key(row["app_label"], row["model"]).pk
        for row in rows("SELECT * FROM django_content_type WHERE app_label = 'shop'")
    }
    user_id = {old: user.pk for old, user in users.items()}
    inserts = {
        "joeflow_workflow": [
            (r["id"], when(r["created"]), when(r["modified"]))
            for r in rows("SELECT * FROM joeflow_workflow")
        ],
        "joeflow_task": [
            (
                r["id"],
                r["workflow_id"],
                content_types[r["content_type_id"]],
                r["name"],
                r["type"],
                r["status"],
                when(r["created"]),
                when(r["modified"]),
                when(r["completed"]),
                r["exception"],
                r["stacktrace"],
                user_id.get(r["completed_by_user_id"]),
            )
            for r in rows("SELECT * FROM joeflow_task")
        ],
        "joeflow_task_parent_task_set": [
            (r["from_task_id"], r["to_task_id"])
            for r in rows("SELECT * FROM joeflow_task_parent_task_set")
        ],
        "joeflow_task_assignees": [
            (r["task_id"], user_id[r["user_id"]])
            for r in rows("SELECT * FROM joeflow_task_assignees")
        ],
    }
    columns = {
        "joeflow_workflow": "id, created, modified",
        "joeflow_task": "id, workflow_id, content_type_id, name, type, status, created, "
        "modified, completed, exception, stacktrace, completed_by_user_id",
        "joeflow_task_parent_task_set": "from_task_id, to_task_id",
        "joeflow_task_assignees": "task_id, user_id",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for table in TABLES:
            marks = ", ".join(["%s"] * len(columns[table].split(",")))
            cursor.executemany(
                f"INSERT INTO {table} ({columns[table]}) VALUES ({marks})", inserts[table]
            )
    return {user.username: user.pk for user in users.values()}


def load_shop_rows() -> None:
    """The project's own rows (its tables extend our Workflow: the rows must be there first)."""
    for model, table in ((Order, "shop_order"), (Reminder, "shop_reminder")):
        for row in rows(f"SELECT * FROM {table}"):
            model(**dict(row)).save_base(raw=True)
