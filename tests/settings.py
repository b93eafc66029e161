"""Test settings: the reference project plus the test app; SQLite file or DATABASE_URL."""

import os
import tempfile
from datetime import timedelta

# The demo's expense workflow escalates after 3 s, reminding every second (read by its models,
# here and in the worker subprocesses, which inherit the environment).
os.environ.setdefault("DEMO_EXPENSE_REVIEW_DUE", "3")
os.environ.setdefault("DEMO_EXPENSE_REMIND_EVERY", "1")

from django_integration.settings import *  # noqa: E402, F403
from django_integration.settings import DATABASES  # noqa: E402

# django-reversion too, so that joeflow_temporal.contrib.reversion is active in every test;
# a worker subprocess of a long scenario leaves it out (JOEFLOW_TEST_REVERSION=0): a revision
# per step doubles the cost of a step, and those scenarios measure the engine.
INSTALLED_APPS = INSTALLED_APPS + [  # noqa: F405
    *(["reversion"] if os.environ.get("JOEFLOW_TEST_REVERSION", "1") == "1" else []),
    "tests.testapp",
    "tests.joeflow_fixture.shop",  # the app of the joeflow 2.0.2 database (import_joeflow)
]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: the worker's threads and the test share it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"joeflow-temporal-test-{os.getpid()}.sqlite3")
    }
else:
    # Persistent connections only where a worker subprocess asks for them (outage tests).
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DATABASE_CONN_MAX_AGE", "0"))

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# E-mail stays in memory, also in the worker subprocesses (tests/processes.py). Django 6.1
# replaces EMAIL_BACKEND with MAILERS; the reference settings chose one.
if "MAILERS" in globals():  # Django 6.1
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

JOEFLOW_TEMPORAL_POLL_INTERVAL = timedelta(milliseconds=200)
JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL = timedelta(seconds=1)
JOEFLOW_TEMPORAL_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
JOEFLOW_TEMPORAL_CONFIRM_TIMEOUT = timedelta(seconds=2)
ROOT_URLCONF = "tests.urls"

CONTINUE_AS_NEW_SUGGESTED_AT = 150
"""History length at which the test server suggests continue-as-new (default: 4,096)."""
JOEFLOW_TEMPORAL_TEST_SERVER_ARGS = [
    "--dynamic-config-value",
    f"limit.historyCount.suggestContinueAsNew={CONTINUE_AS_NEW_SUGGESTED_AT}",
]
