"""The README's first command, run as a new user would: it serves, runs the demo, and stops."""

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from io import StringIO

import pytest
from django.test import Client

from joeflow_temporal.devserver import port_in_use
from joeflow_temporal.management.commands.temporal_dev import Command
from joeflow_temporal.testing.ports import free_port
from tests.helpers import ROOT


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_bin_run_serves_the_site_and_the_temporal_ui_and_stops_cleanly(tmp_path):
    web, temporal, ui = free_port(), free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the reference project's own settings
    command = [
        "bin/run",
        f"127.0.0.1:{web}",
        *("--temporal-port", str(temporal), "--ui-port", str(ui)),
        *("--db-file", str(tmp_path / "temporal.sqlite3")),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while not any("completed:" in line for line in lines):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.5)
        output = "".join(lines)
        assert f"Site:         http://127.0.0.1:{web}/" in output
        assert f"Admin:        http://127.0.0.1:{web}/admin/" in output
        api = f"http://127.0.0.1:{web}/api/"
        assert f"REST API:     {api}" in output and status(api) == 401  # the root: not a 404
        assert "end succeeded" in output, output

        assert status(f"http://127.0.0.1:{web}/") == 200
        assert status(f"http://127.0.0.1:{web}/admin/login/") == 200
        assert status(f"http://127.0.0.1:{ui}/") == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        reader.join(timeout=10)
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert not port_in_use(temporal), "the dev server (in a session of its own) stopped too"


def printed_urls(**options) -> str:
    out = StringIO()
    command = Command(stdout=out)
    command.print_urls("127.0.0.1:8000", "127.0.0.1:7233", ui_port=8233, headless=True, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    "urlconf, pages",
    [
        (
            "tests.urls",
            {"Site": "/", "Admin": "/admin/", "REST API": "/api/"},
        ),
        ("tests.urls_api_only", {"REST API": "/backend/api/"}),
        ("tests.urls_without_workflows", {}),
    ],
)
def test_temporal_dev_prints_the_pages_the_project_mounts_and_only_those(
    db, settings, urlconf, pages
):
    settings.ROOT_URLCONF = urlconf

    printed = printed_urls()

    lines = [line.strip().partition(": ") for line in printed.splitlines()[1:]]
    site = {label: url.strip() for label, _, url in lines if label != "Temporal"}
    assert site == {label: f"http://127.0.0.1:8000{path}" for label, path in pages.items()}
    for path in pages.values():  # each answers (the API's root asks to sign in), none is a 404
        assert Client().get(path).status_code in (200, 302, 401), path
