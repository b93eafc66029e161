"""Real ``manage.py temporal_worker`` subprocesses against the test database, for tests that
kill, restart or redeploy workers."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.db import connection

from tests.helpers import ROOT, wait_until


def database_url() -> str:
    """The test database (not the configured one) as a ``DATABASE_URL`` for a subprocess."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def worker_env(address: str, task_queue: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "JOEFLOW_TEMPORAL_ADDRESS": address,
        "JOEFLOW_TEMPORAL_TASK_QUEUE": task_queue,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class WorkerProcess:
    """One worker subprocess, its output in ``log_path``; started polling, or the test fails."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "temporal_worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: not self.alive or "Worker polling" in self.log())
        assert self.alive, self.log()[-3000:]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text()

    def rss_bytes(self) -> int:
        """Resident memory of the worker process, from /proc."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    def kill(self) -> None:
        """SIGKILL: the worker dies wherever it is, as in a crash or an OOM kill."""
        assert self.alive, self.log()[-3000:]
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """SIGTERM: a graceful stop, as in a deploy."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        assert self.process.returncode == 0, self.log()[-3000:]

    def __enter__(self) -> "WorkerProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.alive:
            self.stop()
