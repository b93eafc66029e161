"""The joeflow 2.0.2 project's settings: SQLite at ``FIXTURE_DB``, PostgreSQL at ``FIXTURE_PG``."""

import os
from urllib.parse import urlsplit

SECRET_KEY = "joeflow-fixture"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "joeflow",
    "shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "joeflow_project.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if os.environ.get("FIXTURE_PG"):
    url = urlsplit(os.environ["FIXTURE_PG"])
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path[1:],
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.hostname or "",
            "PORT": str(url.port or ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["FIXTURE_DB"],
            "OPTIONS": {"timeout": 20},  # the worker writes beside migrate and shell
        }
    }

# joeflow hands machine tasks to this runner; populate.py runs the ones it chooses itself.
JOEFLOW_TASK_RUNNER = "joeflow_project.runner.leave_queued"

# check_procedure.py: the documented move to joeflow_temporal, step 2 and step 7.
if os.environ.get("FIXTURE_STEP") in ("renamed", "without_joeflow"):
    INSTALLED_APPS += ["rest_framework", "joeflow_temporal"]
    JOEFLOW_TEMPORAL_ADDRESS = os.environ["JOEFLOW_TEMPORAL_ADDRESS"]
if os.environ.get("FIXTURE_STEP") == "without_joeflow":
    INSTALLED_APPS.remove("joeflow")
