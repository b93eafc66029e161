#!/usr/bin/env python
"""Benchmark joeflow-temporal against raw temporalio doing the same work, in one run.

    .venv/bin/python benchmarks/run.py [--quick] [--repeat 3] [--json benchmarks/results.json]

Starts its own Temporal dev server (SQLite with WAL pragmas, Temporal's default limits), creates
a fresh database (PostgreSQL from ``DATABASE_URL``, else a local PostgreSQL if one answers, else
SQLite), runs ``manage.py temporal_worker``, a raw temporalio worker and ``manage.py runserver``
as separate processes, and prints one Markdown table with the issue's targets.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/joeflow_benchmark"
JOEFLOW_QUEUE = "benchmark-joeflow"
RAW_QUEUE = "benchmark-raw"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes: a smoke run.")
    parser.add_argument(
        "--repeat", type=int, default=3, help="Runs of each throughput scenario (medians)."
    )
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results.json"))
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="CONN_MAX_AGE of every process (both workers alike). Default: 60.",
    )
    parser.add_argument("--only", help="Comma-separated scenario names (default: all).")
    return parser.parse_args()


def choose_database(tmp: Path) -> str:
    """``DATABASE_URL``, else a local PostgreSQL if one answers, else SQLite; a fresh SQLite
    file in any case, the run never writes to a configured one."""
    os.environ["BENCHMARK_SQLITE_FILE"] = str(tmp / "benchmark.sqlite3")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = (
            DEFAULT_POSTGRES if postgres_answers() else f"sqlite:///{tmp / 'unused.sqlite3'}"
        )
    return os.environ["DATABASE_URL"]


def postgres_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ).close()
    except Exception:
        return False
    return True


def database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    db = settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def describe_database(connection) -> str:
    if connection.vendor == "postgresql":
        version = connection.cursor().connection.info.server_version
        return (
            f"PostgreSQL {version // 10000}.{version % 10000} ({connection.settings_dict['NAME']})"
        )
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version} (WAL, {connection.settings_dict['NAME']})"


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="joeflow-benchmark-") as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        choose_database(tmp)
        from benchmarks.infra import Child, start_dev_server

        server, address = start_dev_server(tmp)
        stack.callback(server.stop)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="benchmarks.settings",
            DJANGO_DEBUG="0",
            LOG_LEVEL="WARNING",
            DATABASE_CONN_MAX_AGE=str(args.conn_max_age),
            JOEFLOW_TEMPORAL_ADDRESS=address,
            JOEFLOW_TEMPORAL_TASK_QUEUE=JOEFLOW_QUEUE,
            PYTHONUNBUFFERED="1",
        )
        import django

        django.setup()
        from django.db import connection, connections
        from django.test.utils import setup_databases, teardown_databases

        old_config = setup_databases(verbosity=0, interactive=False)
        stack.callback(teardown_databases, old_config, verbosity=0)
        stack.callback(connections.close_all)
        database = describe_database(connection)
        print(f"Database: {database}; CONN_MAX_AGE={args.conn_max_age}", file=sys.stderr)

        from benchmarks.infra import Loop, machine_description
        from joeflow_temporal.devserver import wait_for_port
        from joeflow_temporal.testing.ports import free_port

        env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}
        children = []
        for name, command, ready in [
            ("worker", ["manage.py", "temporal_worker"], "Worker polling"),
            ("raw_worker", ["-m", "benchmarks.raw_worker"], "Worker polling"),
        ]:
            child = Child(
                name, [sys.executable, *command], {**env, "RAW_TASK_QUEUE": RAW_QUEUE}, tmp, ready
            )
            stack.callback(child.stop)
            children.append(child)
        web_port = free_port()
        web = Child(
            "web",
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{web_port}", "--noreload"],
            env,
            tmp,
        )
        stack.callback(web.stop)
        wait_for_port(web_port, timeout=60, process=web.process)
        pids = ", ".join(f"{c.name} {c.pid}" for c in [server, *children, web])
        print(f"Processes: {pids}; logs in {tmp}", file=sys.stderr)

        from temporalio.client import Client

        from benchmarks import report, scenarios

        loop = Loop()
        bench = scenarios.Bench(
            loop=loop,
            client=loop.run(Client.connect(address)),
            server=server,
            joeflow_worker=children[0],
            raw_worker=children[1],
            web=web,
            web_port=web_port,
            raw_queue=RAW_QUEUE,
            sizes=scenarios.QUICK if args.quick else scenarios.Sizes(),
        )
        rows = run_scenarios(bench, args)
        machine = machine_description(database, args.conn_max_age)
        found = report.verdicts(rows)
        print_report(machine, rows, found)
        Path(args.json).write_text(
            json.dumps(report.document(machine, asdict(bench.sizes), rows, found), indent=2) + "\n"
        )
        print(f"\nJSON: {args.json}", file=sys.stderr)
    return 0


def run_scenarios(bench, args) -> dict:
    from benchmarks import report, scenarios

    wanted = set(args.only.split(",")) if args.only else None
    chosen = [s for s in scenarios.THROUGHPUT if wanted is None or s.__name__ in wanted]
    singles = [s for s in scenarios.SINGLE if wanted is None or s.__name__ in wanted]
    repeats = defaultdict(list)
    for repeat in range(1, args.repeat + 1):
        for scenario in chosen:
            repeats[scenario.__name__].append(timed(scenario, bench, f" ({repeat}/{args.repeat})"))
    rows = {rs[0].id: report.median_row(rs) for rs in repeats.values()}
    for scenario in singles:
        row = timed(scenario, bench, "")
        rows[row.id] = row
    return rows


def timed(scenario, bench, suffix: str):
    began = time.monotonic()
    row = scenario(bench)
    if row.steps_per_s:
        figure = f"{row.steps_per_s:.0f} steps/s"
    elif row.p50_ms is not None:
        figure = f"p50 {row.p50_ms:.0f} ms"
    else:
        figure = f"{row.events_per_instance:.0f} events"
    print(
        f"  {scenario.__name__}{suffix}: {figure} ({time.monotonic() - began:.1f} s)",
        file=sys.stderr,
    )
    return row


def print_report(machine: dict, rows: dict, found: list) -> None:
    from benchmarks import report

    print()
    for key in ["cpus", "ram", "python", "django", "temporalio", "temporal", "database"]:
        print(f"- {key}: {machine[key]}")
    print(f"- CONN_MAX_AGE: {machine['conn_max_age']} (joeflow worker and raw worker alike)")
    print()
    print(report.table(rows, found))
    print()
    for note in report.notes(rows):
        print(f"- {note}")


if __name__ == "__main__":
    code = main()
    from joeflow_temporal.runtime.client import exit_process  # skips the SDK's finalization crash

    exit_process(code)
