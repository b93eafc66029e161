"""What the benchmark runs on: its own Temporal dev server, worker and web server processes,
their CPU time and memory from /proc, and a description of the machine."""

import asyncio
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from joeflow_temporal.devserver import (
    dev_server_command,
    temporal_binary,
    wait_for_port,
)
from joeflow_temporal.testing.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Child:
    """A subprocess with its output in a log file; ready when ``ready`` appears in the log."""

    def __init__(self, name: str, command: list[str], env: dict, log_dir: Path, ready: str = ""):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        if ready:
            self.wait_for(lambda: ready in self.log(), what=repr(ready))

    def wait_for(self, predicate, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start ({what}):\n{self.log()[-3000:]}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_dev_server(log_dir: Path) -> tuple[Child, str]:
    """The bundled dev server with the WAL pragmas and Temporal's default limits."""
    port = free_port()
    command = dev_server_command(port, free_port(), log_dir / "temporal.db", headless=True)
    server = Child("temporal", command, dict(os.environ), log_dir)
    wait_for_port(port, timeout=60, process=server.process)
    return server, f"127.0.0.1:{port}"


@dataclass
class Usage:
    """CPU seconds and peak memory of each child while one scenario ran."""

    cpu: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)

    def server_share(self, worker: str) -> float:
        """The Temporal server's share of the CPU the server and the worker used together."""
        total = self.cpu["temporal"] + self.cpu[worker]
        return self.cpu["temporal"] / total if total else 0.0


class Measure:
    """``with Measure(children) as usage:`` samples memory every 0.2 s, CPU time at both ends."""

    INTERVAL = 0.2

    def __init__(self, children: list[Child]):
        self.children = children
        self.usage = Usage()
        self._stop = threading.Event()

    def __enter__(self) -> Usage:
        self._cpu_before = {child.name: child.cpu_seconds() for child in self.children}
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self.usage

    def _sample(self) -> None:
        while True:
            for child in self.children:
                peak = self.usage.peak_rss.get(child.name, 0)
                self.usage.peak_rss[child.name] = max(peak, child.rss_bytes())
            if self._stop.wait(self.INTERVAL):
                return

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        for child in self.children:
            self.usage.cpu[child.name] = child.cpu_seconds() - self._cpu_before[child.name]


class Loop:
    """An event loop on a thread of its own, for the benchmark's Temporal client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="benchmark-loop", daemon=True).start()

    def submit(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine, timeout: float | None = 300):
        return self.submit(coroutine).result(timeout)


def machine_description(database: str, conn_max_age: int) -> dict[str, str]:
    from django import get_version as django_version
    from temporalio import __version__ as temporalio_version

    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text().split()
    ram_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    temporal = subprocess.run(
        [temporal_binary(), "--version"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpus": f"{os.cpu_count()} × {cpu}",
        "ram": f"{ram_gib:.1f} GiB",
        "python": platform.python_version(),
        "django": django_version(),
        "temporalio": temporalio_version,
        "temporal": temporal,
        "database": database,
        "conn_max_age": str(conn_max_age),
        "platform": platform.platform(),
        "argv": " ".join(sys.argv[1:]),
    }
