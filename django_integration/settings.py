"""Settings of the reference project: SQLite by default, PostgreSQL with DATABASE_URL.

Every Temporal setting can be overridden from the environment variable of the same name.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import django

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-development-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "joeflow_temporal",
    "django_integration.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "django_integration.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "django_integration.wsgi.application"


def database_from_url(url: str) -> dict:
    """A DATABASES entry from ``postgres://user:password@host:port/name`` or ``sqlite:///path``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return sqlite_database(parts.path[1:] or ":memory:")
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} (postgres or sqlite)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path[1:]),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
        # PostgreSQL's JIT compiles queries it estimates as costly; for the inbox's counts it
        # spends most of a second compiling what runs in milliseconds (docs/performance.md).
        "OPTIONS": {"options": "-c jit=off"},
    }


def sqlite_database(name) -> dict:
    """SQLite tuned for a worker and a web server writing at once: WAL, immediate transactions."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {
    "default": database_from_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else sqlite_database(BASE_DIR / "db.sqlite3")
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Pages that need a signed-in user (the REST API's pages in a browser, the override page, task
# pages) send anonymous visitors to this login page, which takes every user (the admin's takes
# staff only).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# The demo sends e-mail (welcome, tracking code): print it unless an SMTP server is configured.
# Django 6.1 replaces EMAIL_BACKEND (deprecated) with MAILERS.
_email_backend = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": _email_backend}}
else:
    EMAIL_BACKEND = _email_backend

# The REST API's OpenAPI document and its Swagger UI / ReDoc pages, served from local static
# files (drf-spectacular-sidecar): no CDN at runtime.
SPECTACULAR_SETTINGS = {
    "TITLE": "joeflow-temporal",
    "DESCRIPTION": "Start workflow instances, work the task inbox, override and cancel.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's default gives its logger a console handler of its own: each line came twice.
    "loggers": {"django": {"handlers": [], "level": "INFO"}},
}


def seconds(name: str, default: timedelta) -> timedelta:
    value = os.environ.get(name)
    return timedelta(seconds=float(value)) if value else default


JOEFLOW_TEMPORAL_ADDRESS = os.environ.get("JOEFLOW_TEMPORAL_ADDRESS", "localhost:7233")
JOEFLOW_TEMPORAL_NAMESPACE = os.environ.get("JOEFLOW_TEMPORAL_NAMESPACE", "default")
JOEFLOW_TEMPORAL_TASK_QUEUE = os.environ.get("JOEFLOW_TEMPORAL_TASK_QUEUE", "joeflow")
JOEFLOW_TEMPORAL_UI_URL = os.environ.get("JOEFLOW_TEMPORAL_UI_URL", "http://localhost:8233")
JOEFLOW_TEMPORAL_POLL_INTERVAL = seconds("JOEFLOW_TEMPORAL_POLL_INTERVAL", timedelta(seconds=10))
JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL = seconds(
    "JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL", timedelta(minutes=10)
)
JOEFLOW_TEMPORAL_SYNC_TIMEOUT = seconds("JOEFLOW_TEMPORAL_SYNC_TIMEOUT", timedelta(seconds=5))
JOEFLOW_TEMPORAL_NOTIFY_EMAIL = os.environ.get("JOEFLOW_TEMPORAL_NOTIFY_EMAIL", "0") == "1"
JOEFLOW_TEMPORAL_SITE_URL = os.environ.get("JOEFLOW_TEMPORAL_SITE_URL", "http://localhost:8000")

# `manage.py test` gets a Temporal dev server and a worker of its own (pytest: the plugin does).
TEST_RUNNER = "joeflow_temporal.testing.TestRunner"
