"""The table, the issue's targets (met / not met) and the JSON document."""

import statistics
from dataclasses import asdict, dataclass, fields

from benchmarks.scenarios import Row

CELERY_STEPS_PER_S = 81
DRAMATIQ_STEPS_PER_S = 171
"""joeflow 2.0.2 on this project's 2-core machine (issue 6): K=10 × N=100, medians of 9 runs."""

OVERVIEW_P50_MS = 1000
"""The overview page of a class at 100,000 Task rows: a staff page, opened now and then, whose
aggregates read every row of the class (measured 0.65-0.8 s on the 2-core reference machine
under load, about 0.5 s of it in the queries)."""

NUMERIC = [f.name for f in fields(Row) if f.type == float | None]


def median_row(rows: list[Row]) -> Row:
    """One row per scenario: the median of every figure over the repeats."""
    merged = Row(**{**asdict(rows[0]), "details": dict(rows[0].details)})
    for name in NUMERIC:
        values = [getattr(row, name) for row in rows if getattr(row, name) is not None]
        setattr(merged, name, statistics.median(values) if values else None)
    if len(rows) > 1:
        merged.details["repeats_steps_per_s"] = [round(row.steps_per_s, 1) for row in rows]
    return merged


def ratio(row: Row, rows: dict[str, Row]) -> float | None:
    baseline = rows.get(row.baseline) if row.baseline else None
    if baseline is None or not baseline.steps_per_s:
        return None
    return row.steps_per_s / baseline.steps_per_s


@dataclass
class Verdict:
    row: str
    target: str
    figure: str
    met: bool

    def __str__(self) -> str:
        return f"{self.target}: {'met' if self.met else 'NOT MET'}"


def verdicts(rows: dict[str, Row]) -> list[Verdict]:
    found = []
    if (row := rows.get("chain")) and (r := ratio(row, rows)) is not None:
        found.append(Verdict("chain", "≥ 0.8× raw", f"{r:.2f}×", r >= 0.8))
    if (row := rows.get("chain_local")) and (r := ratio(row, rows)) is not None:
        found.append(Verdict("chain_local", "≥ 0.7× raw local", f"{r:.2f}×", r >= 0.7))
        found.append(
            Verdict(
                "chain_local",
                f"> {CELERY_STEPS_PER_S} steps/s (joeflow + Celery)",
                f"{row.steps_per_s:.0f} steps/s",
                row.steps_per_s > CELERY_STEPS_PER_S,
            )
        )
        found.append(
            Verdict(
                "chain_local",
                f"aim: ≥ {DRAMATIQ_STEPS_PER_S} steps/s (joeflow + Dramatiq)",
                f"{row.steps_per_s:.0f} steps/s",
                row.steps_per_s >= DRAMATIQ_STEPS_PER_S,
            )
        )
    if row := rows.get("human"):
        found.append(Verdict("human", "p50 ≤ 150 ms", f"{row.p50_ms:.0f} ms", row.p50_ms <= 150))
    if row := rows.get("inbox"):
        found.append(Verdict("inbox", "p50 ≤ 30 ms", f"{row.p50_ms:.0f} ms", row.p50_ms <= 30))
    if row := rows.get("inbox_candidate"):
        found.append(
            Verdict("inbox_candidate", "p50 ≤ 30 ms", f"{row.p50_ms:.0f} ms", row.p50_ms <= 30)
        )
    if row := rows.get("overview_100k"):
        found.append(
            Verdict(
                "overview_100k",
                f"p50 ≤ {OVERVIEW_P50_MS} ms",
                f"{row.p50_ms:.0f} ms",
                row.p50_ms <= OVERVIEW_P50_MS,
            )
        )
    if row := rows.get("loop"):
        longest = row.details["max_events_per_run"]
        found.append(Verdict("loop", "every run < 5,000 events", f"{longest}", longest < 5000))
        growth = (
            row.details["worker_rss_mib_at_end"] - row.details["worker_rss_mib_after_first_fifth"]
        )
        found.append(
            Verdict("loop", "worker RSS flat (< 40 MiB growth)", f"{growth:+.0f} MiB", growth < 40)
        )
    return found


def number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def table(rows: dict[str, Row], found: list[Verdict]) -> str:
    header = [
        "scenario",
        "steps/s",
        "instances/s",
        "p50 ms",
        "p95 ms",
        "events/instance",
        "worker RSS MiB",
        "server CPU share",
        "× raw",
        "target",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows.values():
        r = ratio(row, rows)
        targets = "; ".join(str(v) for v in found if v.row == row.id)
        cells = [
            row.label,
            number(row.steps_per_s),
            number(row.workflows_per_s, 1),
            number(row.p50_ms, 1),
            number(row.p95_ms, 1),
            number(row.events_per_instance),
            number(row.worker_rss_mib),
            "" if row.server_cpu_share is None else f"{row.server_cpu_share:.0%}",
            "" if r is None else f"{r:.2f}×",
            targets,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(rows: dict[str, Row]) -> list[str]:
    found = []
    if row := rows.get("loop"):
        d = row.details
        found.append(
            f"Loop: {d['iterations']:,} iterations in {d['seconds']:.1f} s, {d['runs']} runs "
            f"(continue-as-new), at most {d['max_events_per_run']:,} events per run; worker RSS "
            f"{d['worker_rss_mib_after_first_fifth']:.0f} MiB after the first fifth, "
            f"{d['worker_rss_mib_at_end']:.0f} MiB at the end."
        )
    if row := rows.get("human"):
        d = row.details
        found.append(
            f"Human round trip: the complete request itself answered in "
            f"{d['complete_response_p50_ms']:.0f} ms (p50), {d['complete_response_p95_ms']:.0f} "
            f"ms (p95); the rest is the signal, the confirm activity and the next task's row."
        )
    if row := rows.get("sync"):
        wait, none = row.details["p50_ms"]["wait"], row.details["p50_ms"]["none"]
        found.append(
            f"Synchronous bookkeeping (p50, in-process): `start()` returns in "
            f"{wait['start']:.0f} ms with its next human task mirrored, against "
            f"{none['start']:.0f} ms without waiting (then the task appears after "
            f"{none['start_next']:.0f} ms); a completion returns in {wait['complete']:.0f} ms "
            f"against {none['complete']:.0f} ms (next task after {none['complete_next']:.0f} "
            f"ms). The wait adds {wait['start'] - none['start']:.0f} ms to a start and "
            f"{wait['complete'] - none['complete']:.0f} ms to a completion."
        )
    if row := rows.get("inbox"):
        d = row.details
        found.append(
            f"Inbox: {d['open_tasks']:,} open human tasks inserted in bulk (instances and Task "
            f"rows, no executions behind them); {d['requests']} requests as a non-superuser, "
            f"first page ({d['page_size']} tasks) with the total count."
        )
    if row := rows.get("inbox_candidate"):
        d = row.details
        found.append(
            f"Inbox of candidates: {d['open_tasks']:,} open human tasks offered half to each of "
            f"two groups (inserted in bulk), {d['claimable']:,} claimable by the user with what "
            f"earlier scenarios left; {d['requests']} requests, first page ({d['page_size']} "
            f"tasks) by due date with the total count."
        )
    if row := rows.get("overview_100k"):
        d = row.details
        found.append(
            f"Overview: {d['tasks']:,} Task rows of {d['instances']:,} instances "
            f"({d['running']:,} running), {d['requests']} requests as staff: the page with its "
            f"graph (Graphviz), the counts per node, the medians and the oldest open tasks."
        )
    if row := rows.get("human_timers_history"):
        timers, plain = row.details["events"]["timers"], row.details["events"]["plain"]
        found.append(
            f"Human timers: a task with due date, reminders every second and an escalation, "
            f"open {row.details['waited_s']} s then escalated and completed, made "
            f"{timers['total']} history events ({timers['timers']} timers, "
            f"{timers['activities']} activities); the same task without them, completed after "
            f"the same wait, {plain['total']} ({plain['timers']} timers, "
            f"{plain['activities']} activities)."
        )
    return found


def document(machine: dict, sizes: dict, rows: dict[str, Row], found: list[Verdict]) -> dict:
    return {
        "machine": machine,
        "sizes": sizes,
        "rows": [{**asdict(row), "ratio_to_raw": ratio(row, rows)} for row in rows.values()],
        "targets": [asdict(v) for v in found],
    }
