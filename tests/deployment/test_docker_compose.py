"""docker-compose.yml and the Dockerfile, checked against what the project actually reads.

Docker does not run here, so these tests read the files and compare them with the code: the
environment variables the reference settings read, the settings of ``joeflow_temporal.conf``,
the management commands, the WSGI module and the extras of pyproject.toml. A change on either
side (a renamed variable, a new setting read from the environment, a renamed command) fails here.
"""

import ast
import json
import re
import runpy
import shlex
import tomllib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import get_commands

from django_integration.settings import database_from_url
from joeflow_temporal import conf
from joeflow_temporal.runtime import worker
from tests.helpers import ROOT, settings_env_names

SETTINGS_FILE = ROOT / "django_integration" / "settings.py"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DJANGO_SERVICES = ["migrate", "web", "worker"]

CONNECTION_SETTINGS = [
    "JOEFLOW_TEMPORAL_ADDRESS",
    "JOEFLOW_TEMPORAL_NAMESPACE",
    "JOEFLOW_TEMPORAL_TASK_QUEUE",
]
"""Web (which starts and signals instances) and worker must agree on these."""

LEFT_AT_DEFAULT = {
    "JOEFLOW_TEMPORAL_POLL_INTERVAL": "tuning; the default suits a deployment",
    "JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL": "tuning; the default suits a deployment",
    "JOEFLOW_TEMPORAL_SYNC_TIMEOUT": "web process only; the default suits a deployment",
}
"""Settings the reference project reads from the environment that compose may leave unset."""


# Reading the files


def interpolate(value):
    """Compose's variable substitution, with every variable unset: the file's own defaults."""
    if not isinstance(value, str):
        return value

    def substitute(match):
        if match.group(0) == "$$":
            return "$"
        name, operator, default = match.group("name", "op", "default")
        if operator in (":-", "-"):
            return default
        if operator in (":?", "?"):
            pytest.fail(f"${{{name}}} is required by docker-compose.yml; give it a default.")
        return ""

    pattern = r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}"
    return re.sub(pattern, substitute, value)


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(interpolate(value)) for name, value in env.items()}


def depends_on(service: str) -> dict[str, str]:
    deps = SERVICES[service].get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def published_ports(service: str) -> list[tuple[int, int]]:
    """``(host, container)`` pairs of the short ``"HOST:CONTAINER"`` syntax."""
    pairs = []
    for port in SERVICES[service].get("ports") or []:
        host, _, container = str(interpolate(port)).rpartition(":")
        pairs.append((int(host.rpartition(":")[2]), int(container.split("/")[0])))
    return pairs


def healthcheck(service: str) -> str:
    test = SERVICES[service].get("healthcheck", {}).get("test")
    assert test, f"{service} has no health check"
    if isinstance(test, str):
        return test
    assert test[0] in ("CMD", "CMD-SHELL"), test
    return " ".join(test[1:])


def dockerfile() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            instructions.append((keyword.upper(), " ".join(args.split())))
    return instructions


def dockerfile_args(keyword: str) -> list[str]:
    return [args for kw, args in dockerfile() if kw == keyword]


def image_command() -> list[str]:
    (cmd,) = dockerfile_args("CMD")[-1:] or [None]
    assert cmd and cmd.startswith("["), "CMD must use the exec (JSON) form, so signals reach it"
    return json.loads(cmd)


def command(service: str) -> list[str]:
    """What the service runs: its ``command``, or the image's CMD."""
    cmd = SERVICES[service].get("command")
    if cmd is None:
        return image_command()
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def settings_with(env: dict[str, str], monkeypatch) -> dict:
    """The reference settings module, executed with exactly ``env`` for what it reads."""
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


# The services


def test_every_service_is_there():
    assert {"postgres", "temporal", "temporal-ui", "migrate", "web", "worker"} <= set(SERVICES)


def test_django_services_run_the_projects_image():
    for name in DJANGO_SERVICES:
        service = SERVICES[name]
        assert service.get("build") in (".", {"context": "."}), name
        assert service.get("image") == SERVICES["web"].get("image"), name


def test_postgres_keeps_its_data_and_reports_health():
    postgres = SERVICES["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in healthcheck("postgres")
    volumes = [str(volume) for volume in postgres.get("volumes", [])]
    data = [v for v in volumes if v.endswith(":/var/lib/postgresql/data")]
    assert data, "PostgreSQL's data directory must be on a volume"
    volume_name = data[0].split(":")[0]
    assert volume_name in (COMPOSE.get("volumes") or {}), "a named volume, declared at the top"


def test_temporal_persists_to_the_same_postgres():
    temporal = SERVICES["temporal"]
    env = environment("temporal")
    db = environment("postgres")
    assert temporal["image"].startswith("temporalio/auto-setup:")
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert env["DB_PORT"] == "5432"
    assert env["POSTGRES_USER"] == db["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == db["POSTGRES_PASSWORD"]
    # auto-setup creates its own databases next to the project's; the names must not collide.
    assert db["POSTGRES_DB"] not in ("temporal", "temporal_visibility")
    assert depends_on("temporal") == {"postgres": "service_healthy"}


def test_temporal_health_check_asks_the_cluster_the_app_uses():
    check = healthcheck("temporal")
    assert "temporal operator cluster health" in check
    assert f"--address {environment('web')['JOEFLOW_TEMPORAL_ADDRESS']}" in check
    assert SERVICES["temporal"]["healthcheck"].get("retries", 0) >= 5


def test_temporal_namespace_is_the_one_the_app_uses():
    namespace = environment("temporal").get("DEFAULT_NAMESPACE", "default")
    for name in ("web", "worker"):
        assert environment(name)["JOEFLOW_TEMPORAL_NAMESPACE"] == namespace


def test_temporal_ui_shows_the_apps_cluster_where_the_app_links():
    ui = environment("temporal-ui")
    assert SERVICES["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert ui["TEMPORAL_ADDRESS"] == environment("web")["JOEFLOW_TEMPORAL_ADDRESS"]
    link = urlsplit(environment("web")["JOEFLOW_TEMPORAL_UI_URL"])
    assert (link.port, 8080) in published_ports("temporal-ui")


def test_temporal_address_points_at_the_temporal_service():
    host, _, port = environment("web")["JOEFLOW_TEMPORAL_ADDRESS"].rpartition(":")
    assert host == "temporal"
    assert port == "7233"
    assert (7233, 7233) in published_ports("temporal")


def test_startup_order():
    assert depends_on("migrate") == {"postgres": "service_healthy"}
    for name in ("web", "worker"):
        deps = depends_on(name)
        assert deps["migrate"] == "service_completed_successfully", name
        assert deps["temporal"] == "service_healthy", name
    assert depends_on("temporal-ui")["temporal"] in ("service_healthy", "service_started")
    for name in SERVICES:
        for dependency, condition in depends_on(name).items():
            assert dependency in SERVICES, f"{name} depends on a missing {dependency}"
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{dependency} has no health check"


def test_migrate_runs_once():
    assert command("migrate")[2:] == ["migrate", "--noinput"]
    assert str(SERVICES["migrate"].get("restart", "no")) in ("no", "False", "false")
    assert not SERVICES["migrate"].get("ports")


def test_web_publishes_the_port_gunicorn_binds():
    cmd = command("web")
    assert cmd[0] == "gunicorn"
    bind = cmd[cmd.index("--bind") + 1] if "--bind" in cmd else "127.0.0.1:8000"
    host, _, port = bind.rpartition(":")
    assert host == "0.0.0.0", "gunicorn must listen beyond the container's loopback"
    assert (8000, int(port)) in published_ports("web")
    assert str(port) in " ".join(dockerfile_args("EXPOSE")).split()


def test_workers_can_be_scaled():
    worker_service = SERVICES["worker"]
    assert not worker_service.get("ports"), "published ports collide when scaled"
    assert "container_name" not in worker_service, "a fixed name prevents --scale worker=N"


def test_worker_gets_time_to_stop_gracefully():
    value = str(SERVICES["worker"].get("stop_grace_period", "10s"))
    match = re.fullmatch(r"(\d+)s", value)
    assert match, f"stop_grace_period {value!r}: write it in seconds, e.g. 30s"
    assert timedelta(seconds=int(match[1])) > worker.GRACEFUL_SHUTDOWN


# The environment against the settings


def test_settings_reader_finds_the_temporal_settings():
    names = settings_env_names()
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"} <= names
    assert set(CONNECTION_SETTINGS) <= names


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_every_variable_set_is_read_by_the_settings(service):
    unread = set(environment(service)) - settings_env_names()
    assert not unread, f"{service} sets variables the project never reads: {sorted(unread)}"


@pytest.mark.parametrize("service", ["web", "worker"])
def test_connection_settings_are_set_and_agree(service):
    env = environment(service)
    for name in CONNECTION_SETTINGS:
        assert name in conf.DEFAULTS
        assert env.get(name), f"{service} must set {name}"
        assert env[name] == environment("web")[name], f"web and worker disagree on {name}"


def test_web_links_to_the_temporal_ui():
    assert environment("web").get("JOEFLOW_TEMPORAL_UI_URL")


def test_every_temporal_setting_read_from_the_environment_is_decided():
    read = settings_env_names() & set(conf.DEFAULTS)
    set_by_both = set(environment("web")) & set(environment("worker"))
    undecided = read - set_by_both - set(LEFT_AT_DEFAULT)
    assert not undecided, (
        f"settings.py reads {sorted(undecided)} from the environment: set them in "
        "docker-compose.yml (web and worker) or list them in LEFT_AT_DEFAULT"
    )
    assert set(LEFT_AT_DEFAULT) <= set(conf.DEFAULTS), "LEFT_AT_DEFAULT names a stale setting"


def test_production_settings():
    env = environment("web")
    assert env["DJANGO_DEBUG"] == "0"
    assert env["DJANGO_SECRET_KEY"]
    assert env["DJANGO_ALLOWED_HOSTS"]


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_settings_module_under_the_compose_environment(service, monkeypatch):
    env = environment(service)
    settings = settings_with(env, monkeypatch)
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY"] == env["DJANGO_SECRET_KEY"]
    assert "localhost" in settings["ALLOWED_HOSTS"]
    db = settings["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    for name in CONNECTION_SETTINGS + ["JOEFLOW_TEMPORAL_UI_URL"]:
        assert settings[name] == env[name], name


def test_database_url_points_at_the_postgres_service():
    postgres = environment("postgres")
    for name in DJANGO_SERVICES:
        db = database_from_url(environment(name)["DATABASE_URL"])
        assert db["ENGINE"] == "django.db.backends.postgresql"
        assert db["HOST"] == "postgres"
        assert db["PORT"] == "5432"
        assert db["NAME"] == postgres["POSTGRES_DB"]
        assert db["USER"] == postgres["POSTGRES_USER"]
        assert db["PASSWORD"] == postgres["POSTGRES_PASSWORD"]


# Commands and the image


@pytest.mark.parametrize("service", ["migrate", "worker"])
def test_management_commands_exist(service):
    cmd = command(service)
    assert cmd[:2] == ["python", "manage.py"], cmd
    assert (ROOT / "manage.py").exists()
    assert cmd[2] in get_commands(), f"no management command {cmd[2]!r}"


def test_worker_runs_the_temporal_worker():
    assert command("worker")[2] == "temporal_worker"


def test_gunicorn_serves_the_projects_wsgi_application():
    cmd = command("web")
    app = next(arg for arg in cmd[1:] if not arg.startswith("-") and "wsgi" in arg)
    module, _, attribute = app.partition(":")
    assert module == "django_integration.wsgi"
    assert (ROOT / (module.replace(".", "/") + ".py")).exists()
    # gunicorn's default attribute is ``application``; it must be what the settings name.
    settings = runpy.run_path(str(SETTINGS_FILE))
    assert settings["WSGI_APPLICATION"] == f"{module}.{attribute or 'application'}"
    wsgi = ast.parse((ROOT / "django_integration" / "wsgi.py").read_text())
    assigned = {
        t.id for node in ast.walk(wsgi) if isinstance(node, ast.Assign) for t in node.targets
    }
    assert (attribute or "application") in assigned


def test_dockerfile_base_and_system_packages():
    (base,) = dockerfile_args("FROM")
    assert base == "python:3.11-slim"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"
    run = " ".join(dockerfile_args("RUN"))
    assert re.search(r"apt-get install [^&]*\bgraphviz\b", run), "Graphviz renders the graphs"


def test_dockerfile_installs_the_project_with_its_extras():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    installs = [args for args in dockerfile_args("RUN") if "pip install" in args]
    assert installs, "the Dockerfile must pip install the project"
    words = shlex.split(" ".join(installs))
    project = [word for word in words if word.startswith(".[") or word == "."]
    assert project, "pip install the project itself (.[postgres])"
    requested = re.findall(r"\[([^\]]*)\]", project[0])
    requested = {extra.strip() for group in requested for extra in group.split(",")}
    assert "postgres" in requested
    assert requested <= set(extras), f"unknown extras {requested - set(extras)}"
    assert "gunicorn" in words


def test_dockerfile_copies_what_exists_and_collects_static():
    for args in dockerfile_args("COPY"):
        *sources, _destination = args.split()
        for source in sources:
            if not source.startswith("--"):
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
    assert any("manage.py collectstatic" in args for args in dockerfile_args("RUN"))


def test_dockerfile_runs_as_a_non_root_user():
    users = dockerfile_args("USER")
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_docker_build_context_leaves_out_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", ".git", "db.sqlite3*", ".temporal"):
        assert entry in ignored, entry
