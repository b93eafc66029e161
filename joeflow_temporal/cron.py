"""Schedules of ``tasks.Start(schedule=...)`` as written: what Temporal accepts (system check
E019) and how they read (graphs, ``sync_schedules``' output). No Temporal calls here."""

import re
from datetime import timedelta

from croniter import croniter

CRON_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
"""The cron macros Temporal accepts besides five fields (``@every`` is a ``timedelta`` here)."""
CRON_NAMES = {
    **{
        name: number
        for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])
    },
    **{
        name: number
        for number, name in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
            start=1,
        )
    },
}
CRON_FIELD = re.compile(r"[0-9A-Za-z*,/-]+")
CRON_RANGE = re.compile(r"([0-9A-Za-z]+)-([0-9A-Za-z]+)")
CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week")


def cron_problem(expression: str) -> str | None:
    """What keeps ``expression`` from being a cron string Temporal accepts, or None.

    Five fields (minute, hour, day of month, month, day of week: numbers, ``*``, ranges,
    steps, lists, names such as ``MON`` or ``JAN``) or a macro such as ``@daily``, in UTC.
    croniter checks the fields; what croniter knows beyond Temporal's syntax (``L``, ``W``,
    ``#``, ``?``, seconds, ranges that wrap around such as ``FRI-MON``) is refused.
    """
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() in CRON_MACROS:
            return None
        return f"{text!r} is no cron macro; use one of {', '.join(sorted(CRON_MACROS))}"
    fields = text.split()
    if len(fields) != 5:
        return (
            f"{expression!r} has {len(fields)} fields; a cron string has five "
            f"({', '.join(CRON_FIELDS)})"
        )
    for name, field in zip(CRON_FIELDS, fields, strict=True):
        if not CRON_FIELD.fullmatch(field) or any(
            word.upper() not in CRON_NAMES for word in re.findall("[A-Za-z]+", field)
        ):
            return f"{expression!r}: the {name} field {field!r} is not Temporal's cron syntax"
        for start, end in CRON_RANGE.findall(field):
            if cron_number(start) > cron_number(end):
                return f"{expression!r}: the {name} range {start}-{end} runs backwards"
    if not croniter.is_valid(text):
        return f"{expression!r}: a value is out of range (or a name in the wrong field)"
    return None


def cron_number(value: str) -> int:
    return CRON_NAMES[value.upper()] if value.isalpha() else int(value)


def schedule_problem(schedule: str | timedelta) -> str | None:
    """What is wrong with a ``Start(schedule=...)`` value, or None (system check E019)."""
    if isinstance(schedule, timedelta):
        if schedule < timedelta(seconds=1):
            return f"the interval {schedule!r} is shorter than one second"
        return None
    return cron_problem(schedule)


def describe_schedule(schedule: str | timedelta) -> str:
    """``schedule`` for people: the cron string itself, or ``every 1 day``, ``every 6 hours``."""
    if isinstance(schedule, str):
        return schedule.strip()
    seconds = int(schedule.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return "every " + " ".join(parts or ["0 seconds"])
