"""Free loopback ports for the servers a test starts (the test environment's dev server, and
the servers this project's own tests and benchmark start)."""

import random
import socket
from pathlib import Path


def free_port() -> int:
    """A free port below the ephemeral range: a port the OS hands out itself (to the dev
    server's internal listeners, say) could be taken again before the caller binds it."""
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    first_ephemeral = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    while True:
        port = random.randrange(10_000, first_ephemeral)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
