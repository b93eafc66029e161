import signal
import sys
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from joeflow_temporal import conf
from joeflow_temporal.devserver import (
    Processes,
    dev_server_command,
    port_in_use,
    wait_for_port,
)
from joeflow_temporal.management.commands._temporal import TemporalCommand
from joeflow_temporal.tasks.machine import Start

API_URL_NAME = "joeflow_temporal_api:root"
"""The REST API's root, where ``joeflow_temporal.api.urls`` is mounted."""

PAGES = (("Site", None), ("Admin", "admin:index"), ("REST API", API_URL_NAME))
"""The web server's pages ``temporal_dev`` prints: a label and a URL name (None: ``/``)."""

STOPPED_ON_REQUEST = {0, -signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT}


def mounted_path(url_name: str | None) -> str | None:
    """The path of the page ``url_name`` names (None: the site's root ``/``), or None when the
    project's URLconf does not mount it: a URL printed for the user to open must not be a 404."""
    try:
        if url_name is None:
            resolve("/")
            return "/"
        return reverse(url_name)
    except (NoReverseMatch, Resolver404):
        return None


class Command(TemporalCommand):
    """``manage.py temporal_dev [addrport]``: the bundled ``temporal`` dev server (extra
    ``server``), migrations, a worker and ``runserver`` in one process group; Ctrl-C stops all.

    A Temporal server already listening on ``--temporal-port`` is used as it is. Raises
    ``CommandError`` for a ``--demo`` it cannot start, a taken web port, or a server that does
    not start.
    """

    help = (
        "Development environment in one command: the bundled Temporal dev server with its web UI "
        "(persisted to a file), migrations, the worker and the web server. Ctrl-C stops it all."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="Web server.")
        parser.add_argument("--temporal-port", type=int, default=7233)
        parser.add_argument("--ui-port", type=int, default=8233)
        parser.add_argument(
            "--db-file", default=".temporal/dev.sqlite3", help="Temporal's persistence file."
        )
        parser.add_argument("--headless", action="store_true", help="No Temporal web UI.")
        parser.add_argument(
            "--superuser",
            metavar="USERNAME:PASSWORD",
            help="Create this superuser if it does not exist, e.g. admin:admin.",
        )
        parser.add_argument(
            "--demo",
            metavar="APP_LABEL.WORKFLOW",
            help="Start one instance of this workflow (it needs a tasks.Start) and report its end.",
        )

    def handle(self, addrport, temporal_port, ui_port, db_file, headless, superuser, demo, **opts):
        demo_class = self.demo_class(demo) if demo else None
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        processes = Processes()
        address = f"127.0.0.1:{temporal_port}"
        try:
            self.start_temporal(processes, temporal_port, ui_port, db_file, headless)
            settings.JOEFLOW_TEMPORAL_ADDRESS = address
            call_command("migrate", interactive=False, verbosity=0)
            if superuser:
                self.ensure_superuser(superuser)
            manage = [sys.executable, str(Path(sys.argv[0]).resolve())]
            env = {"JOEFLOW_TEMPORAL_ADDRESS": address}
            processes.start([*manage, "temporal_worker"], env=env)
            self.start_web_server(processes, manage, addrport, env)
            self.print_urls(addrport, address, ui_port, headless)
            if demo_class:
                self.run_demo(demo_class)
            self.watch(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the web server, the worker and Temporal…")
        finally:
            processes.stop()
        self.stdout.write(self.style.SUCCESS("Stopped."))

    def demo_class(self, label):
        try:
            workflow = apps.get_model(label)
        except (LookupError, ValueError):
            raise CommandError(f"--demo: no workflow {label!r} is installed.")
        starts = [name for name, node in workflow.get_nodes() if isinstance(node, Start)]
        if not starts:
            raise CommandError(f"--demo: {label} has no tasks.Start() to start it from code.")
        return workflow

    def start_temporal(self, processes, port, ui_port, db_file, headless):
        if port_in_use(port):
            self.stdout.write(f"Using the Temporal server already listening on port {port}.")
            return
        Path(db_file).parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Starting the Temporal dev server (state in {db_file})…")
        # Ctrl-C reaches the worker and the web server; the server stops after them, so the
        # worker's last activities can still report to it.
        server = processes.start(
            dev_server_command(port, ui_port, Path(db_file), headless), own_session=True
        )
        try:
            wait_for_port(port, timeout=60, process=server)
            if not headless:
                wait_for_port(ui_port, timeout=30, process=server)
        except (RuntimeError, TimeoutError) as error:
            raise CommandError(f"The Temporal dev server did not start: {error}")

    def start_web_server(self, processes, manage, addrport, env):
        port = int(addrport.rpartition(":")[2])
        if port_in_use(port):
            raise CommandError(f"Port {port} is taken: give another address, e.g. 127.0.0.1:8001.")
        web = processes.start([*manage, "runserver", addrport, "--noreload"], env=env)
        try:
            wait_for_port(port, timeout=60, process=web)
        except (RuntimeError, TimeoutError) as error:
            raise CommandError(f"The web server did not start: {error}")

    def ensure_superuser(self, credentials):
        username, _, password = credentials.partition(":")
        if not (username and password):
            raise CommandError("--superuser takes USERNAME:PASSWORD, e.g. admin:admin.")
        users = get_user_model()._default_manager
        if not users.filter(username=username).exists():
            users.create_superuser(username=username, password=password, email="")
            self.stdout.write(f"Created superuser {username!r}.")

    def print_urls(self, addrport, address, ui_port, headless):
        site = f"http://{addrport}"
        ui = (
            conf.get("JOEFLOW_TEMPORAL_UI_URL")
            if ui_port == 8233
            else f"http://localhost:{ui_port}"
        )
        lines = [
            f"  {label + ':':<13} {site}{path}"
            for label, url_name in PAGES
            if (path := mounted_path(url_name)) is not None
        ]
        lines.append(f"  Temporal:     {address}")
        if not headless:
            lines.append(f"  Temporal UI:  {ui}/namespaces/default/workflows")
        self.stdout.write(self.style.SUCCESS("Ready:\n") + "\n".join(lines))

    def run_demo(self, workflow_class):
        start = next(n for n, node in workflow_class.get_nodes() if isinstance(node, Start))
        workflow = workflow_class.start_with(start)
        self.stdout.write(f"Started demo instance {workflow.temporal_workflow_id}…")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            workflow.refresh_from_db()
            if workflow.completed:
                mirror = workflow.task_set.order_by("pk").values_list("name", "status")
                tasks = ", ".join(f"{name} {status}" for name, status in mirror)
                self.stdout.write(
                    self.style.SUCCESS(f"Demo instance {workflow.temporal_workflow_id} completed: ")
                    + tasks
                )
                return
            time.sleep(0.5)
        self.stderr.write(f"Demo instance {workflow.temporal_workflow_id} has not completed yet.")

    def watch(self, processes):
        """Serve until Ctrl-C, or until a child stops (then stop the rest too)."""
        while True:
            exited = processes.first_exited()
            if exited is not None:
                name = " ".join(map(str, exited.args[:3]))
                if exited.returncode in STOPPED_ON_REQUEST:  # e.g. Ctrl-C reached the group
                    self.stdout.write(f"{name} stopped; stopping the rest…")
                    return
                raise CommandError(f"{name} exited with code {exited.returncode}.")
            time.sleep(0.5)
