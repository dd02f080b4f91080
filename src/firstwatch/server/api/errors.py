"""`/api/v1/errors`: error classes, message groups and their course over time; agent status.

Errors are counted on runs (a run failed when its status is `error`; silent failures, runs that
ended OK but failed an output check, are counted beside them), or, with `step`, on the steps of
that name. A class is `new` for an agent when its baseline — by default the agent's staging runs —
never had it (design.md §4.2).

The status of each agent (`healthy`, `degraded`, `failing`, `silent`) is judged here too, for
`/api/v1/agents`: `StatusBoard` gathers the window's counts and each agent's usual gap between
runs, and `firstwatch.analytics.status` decides.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from firstwatch.analytics.cohorts import parse_cohort
from firstwatch.analytics.status import AgentWindow, Status, Thresholds, agent_status
from firstwatch.errors import ERROR_CLASS_DESCRIPTIONS, mask_message
from firstwatch.server.api.deps import UntilParam, reader, state_of, window
from firstwatch.server.auth import Principal
from firstwatch.server.timeparse import iso, parse_time
from firstwatch.settings import Settings
from firstwatch.store.base import Row, RunFilter, Store

router = APIRouter(prefix="/api/v1", tags=["errors"])

STATUS_SINCE: Final = "1h"
"""The window an agent's status is judged over when a request gives none."""
HISTORY_RUNS: Final = 200
"""How many of an agent's latest runs its usual gap between runs is learnt from."""
MAX_BUCKETS: Final = 10_000
"""Most time buckets in one answer."""
MAX_FINGERPRINTS: Final = 1000
DEFAULT_BASELINE: Final = "env=staging"
NOT_WATCHED_FOR_SILENCE: Final = frozenset({"staging"})

_BUCKET = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
_UNIT_NS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

Key = tuple[str | None, str | None, str | None]
"""An agent, version and environment."""


# --- status -------------------------------------------------------------------------------------


def thresholds(settings: Settings) -> Thresholds:
    """The status thresholds the server's settings declare."""
    return Thresholds(
        degraded_error_rate=settings.status_degraded_error_rate,
        failing_error_rate=settings.status_failing_error_rate,
        degraded_silent_rate=settings.status_degraded_silent_rate,
        min_runs=settings.status_min_runs,
        silence_gaps=settings.status_silence_gaps,
        min_silence_s=settings.status_min_silence_s,
    )


@dataclass
class Counts:
    """Runs (or steps), errors, silent failures and error classes of one agent version."""

    runs: int = 0
    errors: int = 0
    silent_failures: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    first_ns: int | None = None
    last_ns: int | None = None

    def add(self, row: Row) -> None:
        """Count one row of `Store.error_counts`."""
        self.runs += int(row["runs"])
        self.errors += int(row["errors"])
        self.silent_failures += int(row["silent_failures"])
        if row["error_class"] is not None:
            self.classes[row["error_class"]] = (
                self.classes.get(row["error_class"], 0) + row["errors"]
            )
        first, last = row["first_ns"], row["last_ns"]
        self.first_ns = first if self.first_ns is None else min(self.first_ns, first)
        self.last_ns = last if self.last_ns is None else max(self.last_ns, last)


def counts_by_agent(rows: Iterable[Row]) -> dict[Key, Counts]:
    """Fold `Store.error_counts` rows per agent, version and environment."""
    folded: dict[Key, Counts] = defaultdict(Counts)
    for row in rows:
        folded[(row["agent"], row["version"], row["environment"])].add(row)
    return dict(folded)


@dataclass(frozen=True)
class AgentHealth:
    """The status of one agent version in one environment, and the counts behind it."""

    status: Status
    reason: str
    counts: Counts


class StatusBoard:
    """The status of every agent version and environment for one window.

    A version is judged on its own runs in the window; silence is judged on its agent and
    environment (the usual gap between runs of every version), and shown on the version that
    ran last, so a version replaced by a newer one is not called silent.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        project: str,
        since_ns: int | None,
        until_ns: int | None,
        now_ns: int | None = None,
    ) -> None:
        now = time.time_ns() if now_ns is None else now_ns
        self.until_ns = until_ns
        self.now_ns = until_ns if until_ns is not None else now
        self.since_ns = (
            since_ns if since_ns is not None else parse_time(STATUS_SINCE, now_ns=self.now_ns)
        )
        self._limits = thresholds(settings)
        self._store = store
        self._project = project
        self._asked = (since_ns, until_ns)
        self._counts = counts_by_agent(
            store.error_counts(RunFilter(project, since_ns=self.since_ns, until_ns=until_ns))
        )
        self._cadence = {
            (r["agent"], r["environment"]): r
            for r in store.run_cadence(project, until_ns, HISTORY_RUNS)
        }
        self._listed: dict[Key, Counts] | None = None

    def health(
        self, agent: str | None, version: str | None, environment: str | None
    ) -> AgentHealth:
        """The status of one agent version in one environment."""
        counts = self._counts.get((agent, version, environment), Counts())
        cadence = self._cadence.get((agent, environment))
        # Staging runs come in bursts (a test pass, then nothing): quiet there is not silence.
        latest = (
            cadence is not None
            and cadence["last_version"] == version
            and environment not in NOT_WATCHED_FOR_SILENCE
        )
        gap_ns = cadence["usual_gap_ns"] if cadence is not None and latest else None
        judged = AgentWindow(
            runs=counts.runs,
            errors=counts.errors,
            silent_failures=counts.silent_failures,
            error_classes=counts.classes,
            last_run_ns=cadence["last_run_ns"] if cadence is not None and latest else None,
            usual_gap_s=None if gap_ns is None else max(float(gap_ns) / 1e9, 1e-3),
            history_runs=int(cadence["history_runs"]) if cadence is not None else 0,
        )
        status, reason = agent_status(judged, self.now_ns, self._limits)
        return AgentHealth(status, reason, counts)

    def silent_agents(self) -> list[tuple[Key, int]]:
        """The versions judged silent (each the last of its agent and environment to run),
        with the start of their last run."""
        found = []
        for (agent, environment), cadence in self._cadence.items():
            key = (agent, cadence["last_version"], environment)
            if self.health(*key).status == "silent":
                found.append((key, int(cadence["last_run_ns"])))
        return found

    def listed(self, agent: str | None, version: str | None, environment: str | None) -> Counts:
        """The counts of one agent version in the listing's own window (all time without one)."""
        if self._asked[0] is not None:
            return self._counts.get((agent, version, environment), Counts())
        if self._listed is None:
            self._listed = counts_by_agent(
                self._store.error_counts(RunFilter(self._project, until_ns=self._asked[1]))
            )
        return self._listed.get((agent, version, environment), Counts())

    def missing_rows(self, rows: Iterable[Mapping[str, Any]]) -> list[Row]:
        """Rows, shaped like `Store.agents` rows with no runs, for the silent versions that
        `rows` (a listing of one window) leave out: a silent agent has no runs in the window."""
        shown = {(r["agent"], r["version"], r["environment"]) for r in rows}
        return [
            {
                "agent": agent,
                "version": version,
                "environment": environment,
                "runs": 0,
                "errors": 0,
                "incomplete": 0,
                "first_seen_ns": None,
                "last_seen_ns": last_ns,
            }
            for (agent, version, environment), last_ns in self.silent_agents()
            if (agent, version, environment) not in shown
        ]


# --- the errors report --------------------------------------------------------------------------


class ErrorScope(BaseModel):
    """What was counted."""

    level: Literal["run", "step"] = Field(
        description="run: failed runs and their classes; step: the steps named `step`."
    )
    agent: str | None
    version: str | None
    environment: str | None
    step: str | None
    since: str | None
    until: str | None
    bucket: str


class ErrorTotals(BaseModel):
    """Counts over the whole scope."""

    runs: int = Field(description="Runs (steps at step level) started in the window.")
    errors: int = Field(description="Of them, failed (status error).")
    silent_failures: int = Field(description="Of them, ended OK but failed an output check.")
    error_rate: float
    silent_failure_rate: float


class StepCount(BaseModel):
    """Failures of one class that came from one step."""

    step: str | None = Field(description="None: the run's own span failed, no step did.")
    count: int


class ClassCount(BaseModel):
    """One error class of one agent version in one environment."""

    agent: str | None
    version: str | None
    environment: str
    error_class: str
    description: str
    count: int
    rate: float = Field(description="Of the runs (steps) of this agent version.")
    share: float = Field(description="Of the failures of this agent version.")
    first_seen: str | None
    last_seen: str | None
    new: bool | None = Field(
        description="The agent's baseline never had this class; None: the baseline is empty."
    )
    steps: list[StepCount]


class FailedStep(BaseModel):
    """Failed steps of one name, kind, dependency and class, whether their runs failed or went on
    (a call that was retried and then succeeded still failed once)."""

    agent: str | None
    version: str | None
    environment: str
    step: str | None
    kind: str | None
    dependency: str | None
    error_class: str
    count: int
    runs: int = Field(description="How many runs they were in.")
    first_seen: str | None
    last_seen: str | None


class Example(BaseModel):
    """The latest failure of a message group."""

    trace_id: str
    span_id: str
    span_name: str | None = Field(description="The name of the span that carried the error.")
    agent: str | None
    time: str | None


class FingerprintGroup(BaseModel):
    """Error messages that differ only in their numbers, ids, paths and quoted values."""

    fingerprint: str
    error_class: str
    error_type: str | None
    pattern: str | None = Field(description="The message with its variable parts masked.")
    message: str | None = Field(description="The message of the example.")
    count: int
    agents: int
    first_seen: str | None
    last_seen: str | None
    example: Example


class Bucket(BaseModel):
    """One slice of time (runs by their start)."""

    start: str
    runs: int
    errors: int
    silent_failures: int
    classes: dict[str, int]


class NewClass(BaseModel):
    """An error class an agent's baseline never had."""

    agent: str | None
    error_class: str
    count: int
    first_seen: str | None
    last_seen: str | None


class BaselineAgent(BaseModel):
    """What the baseline holds of one agent."""

    agent: str | None
    runs: int
    classes: list[str]


class BaselineClasses(BaseModel):
    """The runs the classes were compared with."""

    source: Literal["default", "cohort", "named"]
    name: str | None
    cohort: str
    description: str
    agents: list[BaselineAgent]


class ErrorReport(BaseModel):
    """Error classes, message groups and their course over time."""

    scope: ErrorScope
    totals: ErrorTotals
    by_class: list[ClassCount]
    failed_steps: list[FailedStep]
    by_fingerprint: list[FingerprintGroup]
    over_time: list[Bucket]
    new_classes: list[NewClass]
    baseline: BaselineClasses


def bucket_ns(text: str) -> int:
    """Nanoseconds of a bucket written `30m`, `1h`, `1d`; ValueError when unreadable."""
    match = _BUCKET.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"cannot read bucket {text!r}: use a whole number of s, m, h, d or w")
    return int(match.group(1)) * _UNIT_NS[match.group(2)] * 1_000_000_000


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class _Baseline:
    source: Literal["default", "cohort", "named"]
    name: str | None
    cohort: str
    description: str
    where: RunFilter
    only_agent: str | None


def _baseline(store: Store, project: str, agent: str | None, text: str | None) -> _Baseline:
    if text and "=" not in text:
        stored = store.get_baseline(project, text)
        if stored is None:
            raise HTTPException(404, f"no baseline named {text!r}")
        cohort = parse_cohort(stored.cohort)
        return _Baseline(
            "named",
            stored.name,
            stored.cohort,
            f"baseline {stored.name!r}: {stored.cohort or 'all runs'} of {stored.agent}",
            RunFilter(
                project,
                agent=stored.agent,
                version=cohort.version,
                environment=cohort.environment,
                since_ns=stored.since_ns,
                until_ns=stored.until_ns,
            ),
            stored.agent,
        )
    try:
        cohort = parse_cohort(text or DEFAULT_BASELINE)
        where = cohort.run_filter(project, agent, parse_time)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    if text:
        return _Baseline("cohort", None, str(cohort), f"{cohort} of each agent", where, None)
    return _Baseline("default", None, str(cohort), "the staging runs of each agent", where, None)


def _buckets(
    rows: list[Row], size: int, since_ns: int | None, until_ns: int | None
) -> list[Bucket]:
    slices: dict[int, Bucket] = {}
    for row in rows:
        start = int(row["bucket_ns"])
        if start not in slices:
            slices[start] = Bucket(
                start=iso(start) or "", runs=0, errors=0, silent_failures=0, classes={}
            )
        got = slices[start]
        got.runs += int(row["runs"])
        got.errors += int(row["errors"])
        got.silent_failures += int(row["silent_failures"])
        if row["error_class"] is not None:
            got.classes[row["error_class"]] = int(row["errors"])
    starts = list(slices)
    if since_ns is not None:
        starts.append(since_ns // size * size)
    if until_ns is not None:
        starts.append((until_ns - 1) // size * size)
    if not starts:
        return []
    first, last = min(starts), max(starts)
    if (last - first) // size + 1 > MAX_BUCKETS:
        raise HTTPException(
            400, f"more than {MAX_BUCKETS} buckets: choose a larger bucket or a shorter window"
        )
    return [
        slices.get(start)
        or Bucket(start=iso(start) or "", runs=0, errors=0, silent_failures=0, classes={})
        for start in range(first, last + 1, size)
    ]


def _fingerprint(row: Row) -> FingerprintGroup:
    message = row["error_message"]
    return FingerprintGroup(
        fingerprint=row["fingerprint"],
        error_class=row["error_class"],
        error_type=row["error_type"],
        pattern=None if message is None else mask_message(message),
        message=message,
        count=int(row["count"]),
        agents=int(row["agents"]),
        first_seen=iso(row["first_ns"]),
        last_seen=iso(row["last_ns"]),
        example=Example(
            trace_id=row["trace_id"],
            span_id=row["span_id"],
            span_name=row["span_name"],
            agent=row["example_agent"],
            time=iso(row["example_start_ns"]),
        ),
    )


SinceParam = Annotated[str | None, Query(description="RFC 3339 or relative (24h).")]


@router.get("/errors", response_model=ErrorReport)
def errors(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    agent: str | None = None,
    version: str | None = None,
    environment: str | None = None,
    step: Annotated[
        str | None, Query(description="Count the steps of this name instead of runs.")
    ] = None,
    since: SinceParam = None,
    until: UntilParam = None,
    bucket: Annotated[str, Query(description="Width of the over-time slices: 15m, 1h, 1d.")] = "1h",
    baseline: Annotated[
        str | None,
        Query(
            description="A named baseline, or a cohort such as env=staging,version=1.1 "
            "(default: the staging runs of each agent)."
        ),
    ] = None,
    fingerprints: Annotated[int, Query(ge=1, le=MAX_FINGERPRINTS)] = 50,
) -> ErrorReport:
    """Error classes per agent, version, environment and step; message groups; the course over
    time; and the classes the baseline never had (all time unless `since` / `until` narrow it)."""
    since_ns, until_ns = window(since, until)
    try:
        size = bucket_ns(bucket)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    store = state_of(request).store
    where = RunFilter(
        who.project,
        agent=agent,
        version=version,
        environment=environment,
        since_ns=since_ns,
        until_ns=until_ns,
    )
    rows = store.error_counts(where, step)
    counted = counts_by_agent(rows)
    reference = _baseline(store, who.project, agent, baseline)
    seen = counts_by_agent(store.error_counts(reference.where, step))
    baseline_runs: dict[str | None, int] = defaultdict(int)
    baseline_classes: dict[str | None, set[str]] = defaultdict(set)
    for (name, _, _), got in seen.items():
        baseline_runs[name] += got.runs
        baseline_classes[name] |= set(got.classes)

    def is_new(name: str | None, error_class: str) -> bool | None:
        if reference.only_agent is not None and name != reference.only_agent:
            return None
        if not baseline_runs.get(name):
            return None
        return error_class not in baseline_classes[name]

    steps: dict[tuple[Key, str], list[StepCount]] = defaultdict(list)
    for row in store.error_steps(where, step):
        key = (row["agent"], row["version"], row["environment"])
        steps[(key, row["error_class"])].append(StepCount(step=row["step"], count=row["errors"]))
    spans: dict[tuple[Key, str], tuple[int | None, int | None]] = {}
    for row in rows:
        if row["error_class"] is not None:
            key = (row["agent"], row["version"], row["environment"])
            spans[(key, row["error_class"])] = (row["first_ns"], row["last_ns"])
    by_class: list[ClassCount] = []
    new: dict[tuple[str | None, str], NewClass] = {}
    for key, got in counted.items():
        for error_class, count in got.classes.items():
            first, last = spans[(key, error_class)]
            flag = is_new(key[0], error_class)
            by_class.append(
                ClassCount(
                    agent=key[0],
                    version=key[1],
                    environment=key[2] or "unknown",
                    error_class=error_class,
                    description=ERROR_CLASS_DESCRIPTIONS.get(error_class, ""),
                    count=count,
                    rate=_rate(count, got.runs),
                    share=_rate(count, got.errors),
                    first_seen=iso(first),
                    last_seen=iso(last),
                    new=flag,
                    steps=steps.get((key, error_class), []),
                )
            )
            if flag:
                _note_new(new, key[0], error_class, count, first, last)
    by_class.sort(key=lambda c: (-c.count, c.agent or "", c.version or "", c.environment))
    totals = Counts()
    for got in counted.values():
        totals.runs += got.runs
        totals.errors += got.errors
        totals.silent_failures += got.silent_failures
    return ErrorReport(
        scope=ErrorScope(
            level="run" if step is None else "step",
            agent=agent,
            version=version,
            environment=environment,
            step=step,
            since=iso(since_ns),
            until=iso(until_ns),
            bucket=bucket,
        ),
        totals=ErrorTotals(
            runs=totals.runs,
            errors=totals.errors,
            silent_failures=totals.silent_failures,
            error_rate=_rate(totals.errors, totals.runs),
            silent_failure_rate=_rate(totals.silent_failures, totals.runs),
        ),
        by_class=by_class,
        failed_steps=[
            FailedStep(
                agent=r["agent"],
                version=r["version"],
                environment=r["environment"] or "unknown",
                step=r["step"],
                kind=r["kind"],
                dependency=r["dependency"],
                error_class=r["error_class"],
                count=int(r["errors"]),
                runs=int(r["runs"]),
                first_seen=iso(r["first_ns"]),
                last_seen=iso(r["last_ns"]),
            )
            for r in store.failed_steps(where, step)
        ],
        by_fingerprint=[
            _fingerprint(r) for r in store.error_fingerprints(where, fingerprints, step)
        ],
        over_time=_buckets(store.error_timeline(where, size, step), size, since_ns, until_ns),
        new_classes=sorted(new.values(), key=lambda n: (-n.count, n.agent or "", n.error_class)),
        baseline=BaselineClasses(
            source=reference.source,
            name=reference.name,
            cohort=reference.cohort,
            description=reference.description,
            agents=[
                BaselineAgent(agent=name, runs=runs, classes=sorted(baseline_classes.get(name, ())))
                for name, runs in sorted(baseline_runs.items(), key=lambda kv: kv[0] or "")
            ],
        ),
    )


def _note_new(
    new: dict[tuple[str | None, str], NewClass],
    agent: str | None,
    error_class: str,
    count: int,
    first: int | None,
    last: int | None,
) -> None:
    """Add one version's failures of a new class to its agent's entry."""
    found = new.get((agent, error_class))
    if found is None:
        new[(agent, error_class)] = NewClass(
            agent=agent,
            error_class=error_class,
            count=count,
            first_seen=iso(first),
            last_seen=iso(last),
        )
        return
    found.count += count
    found.first_seen = min(filter(None, (found.first_seen, iso(first))), default=None)
    found.last_seen = max(filter(None, (found.last_seen, iso(last))), default=None)
