"""Settings of joeflow-temporal, with their defaults. Only the Django layer reads them."""

from datetime import timedelta

from django.conf import settings

DEFAULTS = {
    # host:port of the Temporal frontend.
    "JOEFLOW_TEMPORAL_ADDRESS": "localhost:7233",
    # Temporal namespace the instances run in.
    "JOEFLOW_TEMPORAL_NAMESPACE": "default",
    # Task queue the walker and its activities run on; every worker polls it.
    "JOEFLOW_TEMPORAL_TASK_QUEUE": "joeflow",
    # The Temporal web UI, linked from the admin and the detail pages.
    "JOEFLOW_TEMPORAL_UI_URL": "http://localhost:8233",
    # First re-run of a machine task that returned False; doubles up to the maximum below.
    "JOEFLOW_TEMPORAL_POLL_INTERVAL": timedelta(seconds=10),
    "JOEFLOW_TEMPORAL_POLL_MAX_INTERVAL": timedelta(minutes=10),
    # Longest run of one machine task before Temporal retries it on another worker.
    "JOEFLOW_TEMPORAL_TASK_TIMEOUT": timedelta(minutes=30),
    # A machine task whose worker stops heartbeating for this long is retried elsewhere.
    "JOEFLOW_TEMPORAL_HEARTBEAT_TIMEOUT": timedelta(seconds=30),
    # How long a worker looks for the commit a signal announced before ignoring the signal.
    "JOEFLOW_TEMPORAL_CONFIRM_TIMEOUT": timedelta(seconds=30),
    # Run machine tasks as local activities (in the walker's worker, no task-queue round trip):
    # several times the throughput, for workflows whose machine tasks all take seconds at most.
    "JOEFLOW_TEMPORAL_LOCAL_ACTIVITIES": False,
    # Timeout of the calls Django makes to Temporal (start, signal) while a user waits.
    "JOEFLOW_TEMPORAL_RPC_TIMEOUT": timedelta(seconds=5),
    # After a start, completion, override, rerun or cancel commits, wait up to this long for
    # the engine to mirror the tasks that directly follow (joeflow creates them in the request).
    # A timedelta or seconds; 0 does not wait. Inside an outer transaction nothing waits.
    "JOEFLOW_TEMPORAL_SYNC_TIMEOUT": timedelta(seconds=5),
    # Human work: the default on_task_created/assigned/reminder hooks e-mail the assignees
    # (else the candidate groups' members) a link to the task, on SITE_URL.
    "JOEFLOW_TEMPORAL_NOTIFY_EMAIL": False,
    "JOEFLOW_TEMPORAL_SITE_URL": "http://localhost:8000",
    # Extra arguments of `temporal server start-dev` for the server joeflow_temporal.testing
    # starts for a test run, e.g. ["--dynamic-config-value", "limit.blobSize.error=..."].
    "JOEFLOW_TEMPORAL_TEST_SERVER_ARGS": (),
}


def get(name: str):
    """Read a setting at call time (never at import), falling back to its default."""
    return getattr(settings, name, DEFAULTS[name])
