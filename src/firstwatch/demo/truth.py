"""What really happened in the demo, run by run: the answers the signals should find.

`demo-truth.jsonl`, next to the store: one line per run (`"record": "run"`) and a last line with
the counts (`"record": "summary"`). The runs come from the runner (ids, status, input) and from
what the fake services saw of each trace (429s, slow calls, wrong answers, lost updates).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from firstwatch.demo.plan import Job
from firstwatch.demo.world import TraceFacts

FILENAME: Final = "demo-truth.jsonl"
TIMEOUT_ERRORS: Final = frozenset(
    {"httpx.ReadTimeout", "httpx.ConnectTimeout", "httpx.WriteTimeout", "httpx.PoolTimeout"}
)
COUNTED: Final = (
    "errors",
    "silent_wrong_outputs",
    "retried",
    "racing",
    "lost_updates",
    "date_format_drift",
    "slow",
    "timed_out",
)


@dataclass(frozen=True)
class RunTruth:
    """The truth about one run."""

    trace_id: str
    span_id: str
    agent: str
    version: str
    environment: str
    start: str
    status: str
    error_type: str | None
    error_step: str | None
    input_kind: str
    input_language: str
    input_file: str
    peak: bool
    wrong_output: bool
    mistake: str | None
    retried: bool
    rate_limited: int
    rate_limited_waits_ms: float
    racing: bool
    lost_update: bool
    crm_keys: list[str]
    date_format_drift: bool
    slow: bool
    registry_ms: list[float]
    timed_out: bool


def iso_time(ns: int) -> str:
    """RFC 3339 (UTC, milliseconds) of nanoseconds since the epoch."""
    moment = dt.datetime.fromtimestamp(ns / 1e9, tz=dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_truth(job: Job, facts: TraceFacts, version: str, registry_step: str | None) -> RunTruth:
    """The truth about one finished job, given what the services saw of its trace.

    Args:
        job: The job, after it ran.
        facts: What the fake services saw of its trace.
        version: Its agent's version.
        registry_step: The step of its agent that calls the registry (where timeouts happen).

    Returns:
        The run's truth.
    """
    ok = job.status == "ok"
    timed_out = not ok and job.error_type in TIMEOUT_ERRORS
    drift_failed = not ok and facts.date_format_drift and job.error_type == "ValueError"
    document = job.document
    return RunTruth(
        trace_id=job.trace_id,
        span_id=job.span_id,
        agent=job.agent,
        version=version,
        environment=job.environment,
        start=iso_time(job.started_ns or job.sim_start_ns),
        status=job.status,
        error_type=job.error_type,
        error_step=registry_step if timed_out else ("normalise" if drift_failed else None),
        input_kind=job.spec.kind,
        input_language=job.spec.language,
        input_file=str(document.path) if document is not None else "",
        peak=job.peak,
        wrong_output=ok and facts.wrong_output,
        mistake=facts.mistake,
        retried=facts.rate_limited > 0,
        rate_limited=facts.rate_limited,
        rate_limited_waits_ms=round(facts.retry_after_ms, 1),
        racing=facts.stale_writes > 0 or facts.lost_updates > 0,
        lost_update=facts.lost_updates > 0,
        crm_keys=sorted(f"crm:{k}" for k in facts.crm_keys),
        date_format_drift=facts.date_format_drift,
        slow=facts.slow_calls > 0,
        registry_ms=facts.registry_ms,
        timed_out=timed_out,
    )


_COUNTERS: Final[dict[str, Callable[[RunTruth], bool]]] = {
    "errors": lambda r: r.status == "error",
    "silent_wrong_outputs": lambda r: r.wrong_output,
    "retried": lambda r: r.retried,
    "racing": lambda r: r.racing,
    "lost_updates": lambda r: r.lost_update,
    "date_format_drift": lambda r: r.date_format_drift,
    "slow": lambda r: r.slow,
    "timed_out": lambda r: r.timed_out,
}


def summarise(runs: Iterable[RunTruth]) -> dict[str, Any]:
    """Counts per agent and environment: runs, errors and each injected failure."""
    groups: dict[tuple[str, str, str], dict[str, int]] = {}
    for run in runs:
        counts = groups.setdefault(
            (run.agent, run.version, run.environment), {"runs": 0, **dict.fromkeys(COUNTED, 0)}
        )
        counts["runs"] += 1
        for name, counter in _COUNTERS.items():
            counts[name] += counter(run)
    return {
        "groups": [
            {"agent": agent, "version": version, "environment": environment, **counts}
            for (agent, version, environment), counts in sorted(groups.items())
        ]
    }


def write_truth(path: Path, runs: list[RunTruth], about: dict[str, Any]) -> dict[str, Any]:
    """Write the truth file.

    Args:
        path: Where (`<store dir>/demo-truth.jsonl`).
        runs: Every run's truth.
        about: What else the summary line says (history window, peak, settings).

    Returns:
        The summary.
    """
    summary = {**about, **summarise(runs)}
    with path.open("w", encoding="utf-8") as out:
        for run in runs:
            out.write(json.dumps({"record": "run", **asdict(run)}, ensure_ascii=False) + "\n")
        out.write(json.dumps({"record": "summary", **summary}, ensure_ascii=False) + "\n")
    return summary


def read_truth(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Read a truth file back: the runs, and the summary.

    Args:
        path: The file.

    Returns:
        The runs' records and the summary record.
    """
    runs: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("record") == "run":
            runs.append(record)
        elif record.get("record") == "summary":
            summary = record
    return runs, summary
