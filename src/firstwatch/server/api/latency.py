"""`/api/v1/latency`, `/dependencies`, `/concurrency` and `/usage` (design.md §4.1, §4.5).

Exact percentiles of run and step durations, first-attempt latency and the time lost to silent
retries; per third-party dependency, latency, error classes and 429 and timeout rates by hour;
runs and calls in flight over time and what happens at each level of concurrency; tokens and
their cost from the price table (`prices_file`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Annotated, Any, Final, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from firstwatch.analytics.pricing import PriceTable, cost, load_prices
from firstwatch.server.api.deps import SinceParam, UntilParam, reader, state_of, window
from firstwatch.server.auth import Principal
from firstwatch.server.timeparse import iso
from firstwatch.store.base import Row, SpanFilter

router = APIRouter(prefix="/api/v1", tags=["latency"])

MAX_BUCKETS: Final = 20_000
"""Most time buckets one series may span."""
SERIES_DEFAULT_S: Final = 24 * 3600
"""The window of a time series when `since` is not given."""
_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$")
_UNIT_NS: Final = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}
_RUN_GROUPS: Final = ("agent", "version", "environment")
_STEP_GROUPS: Final = ("agent", "version", "environment", "step", "kind", "dependency")
_USAGE_GROUPS: Final = ("agent", "version", "environment", "model")

_T = TypeVar("_T")

# --- response models ---------------------------------------------------------------------------


class Percentiles(BaseModel):
    """Exact percentiles (linear interpolation) of durations, in milliseconds."""

    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class LatencyGroup(Percentiles):
    """The durations of one group (and time bucket) of runs or steps."""

    agent: str | None = None
    version: str | None = None
    environment: str | None = None
    step: str | None = None
    kind: str | None = None
    dependency: str | None = None
    bucket_start: str | None = Field(None, description="Start of the time bucket (UTC).")
    n: int
    max_ms: float | None
    mean_ms: float | None
    errors: int
    error_rate: float
    retried: int = Field(description="Runs or steps that retried (a step: or its calls did).")
    retried_share: float
    retry_wait_ms: float = Field(description="Time spent waiting before retries.")
    first_attempt: Percentiles | None = Field(
        None,
        description="Runs: percentiles of first-attempt latency (duration less retry waits "
        "and the failed attempts that were retried).",
    )
    retried_ok: int | None = Field(None, description="Runs: ended ok only after retries.")
    retry_ms: float | None = Field(
        None, description="Runs: time lost to retries (duration − first attempt), summed."
    )
    retry_time_share: float | None = Field(
        None, description="Runs: retry_ms over the summed durations; steps: retry waits over it."
    )


class LatencyReport(BaseModel):
    """Latency of runs or steps, per group and time bucket."""

    of: Literal["runs", "steps"]
    by: list[str]
    since: str | None
    until: str | None
    bucket_s: float | None
    groups: list[LatencyGroup]


class RetriedRun(BaseModel):
    """A run that ended ok only after retries, and what they cost it."""

    trace_id: str
    span_id: str
    agent: str | None
    version: str | None
    environment: str | None
    start_time: str | None
    duration_ms: float
    first_attempt_ms: float | None
    retry_count: int
    retry_wait_ms: float
    retry_ms: float = Field(description="Duration − first-attempt latency.")


class RetriedRuns(BaseModel):
    """Runs that succeeded only after retries or rate-limit waits, most time lost first."""

    runs: list[RetriedRun]


class Rates(BaseModel):
    """Errors, rate limits (429) and timeouts among some calls or runs."""

    errors: int
    error_rate: float
    rate_limited: int
    rate_limited_rate: float
    timeouts: int
    timeout_rate: float


class DependencyBucket(Percentiles, Rates):
    """One dependency in one time bucket."""

    dependency: str
    bucket_start: str | None
    calls: int
    max_ms: float | None
    median_low_ms: float | None = Field(
        description="A one-sided 95% lower bound of the median (None under 7 calls)."
    )


class ErrorClassCount(BaseModel):
    """Failed calls of one class."""

    error_class: str
    calls: int


class Dependency(Percentiles, Rates):
    """A third-party dependency over the whole window, and its slowest time bucket."""

    dependency: str
    calls: int
    max_ms: float | None
    error_classes: list[ErrorClassCount]
    slowest: DependencyBucket | None = Field(
        description="The bucket whose median is surely the highest: the highest lower bound "
        "of its median (None when no bucket has the 7 calls a bound needs)."
    )


class DependencyReport(BaseModel):
    """Per dependency: latency, error classes, 429 and timeout rates, by time bucket."""

    since: str | None
    until: str | None
    bucket_s: float
    dependencies: list[Dependency]
    series: list[DependencyBucket]


class InFlight(BaseModel):
    """The most runs (of an agent) or calls (to a dependency) in flight in one time bucket."""

    agent: str | None = None
    dependency: str | None = None
    bucket_start: str | None
    in_flight: int


class Band(Rates):
    """Runs or calls that started while `band_low`–`band_high` were in flight (themselves
    included)."""

    agent: str | None = None
    dependency: str | None = None
    band_low: int
    band_high: int
    n: int
    peak: int
    p50_ms: float | None
    p99_ms: float | None


class ConcurrencyReport(BaseModel):
    """Concurrency over time and the errors, 429s and latency at each level of it."""

    of: Literal["runs", "calls"] = Field(
        description="runs: counted per agent; calls: per dependency, across all agents."
    )
    since: str | None
    until: str | None
    bucket_s: float
    series: list[InFlight]
    peaks: list[InFlight] = Field(description="Per agent or dependency, its busiest bucket.")
    bands: list[Band]


class UsageRow(BaseModel):
    """Tokens of one group, and their cost."""

    agent: str | None = None
    version: str | None = None
    environment: str | None = None
    model: str | None = None
    calls: int
    input_tokens: int
    output_tokens: int
    cost: float | None = Field(description="None when no price covers the group's models.")
    unpriced_calls: int = Field(description="Calls of models the price table does not cover.")


class UsageReport(BaseModel):
    """Tokens (`gen_ai.usage.*`, `llm.token_count.*`) and cost per group."""

    since: str | None
    until: str | None
    by: list[str]
    currency: str
    prices: str = Field(description="Where the prices came from: a file, or 'examples'.")
    example_prices: bool = Field(
        description="The prices are the built-in examples: set prices_file for real ones."
    )
    rows: list[UsageRow]
    total: UsageRow
    unpriced_models: list[str]


# --- helpers -----------------------------------------------------------------------------------


def _bucket_ns(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise HTTPException(400, f"cannot read bucket {text!r}: use 30s, 1m, 1h or 1d")
    value = int(float(match.group(1)) * _UNIT_NS[match.group(2)])
    if value < 10**6:
        raise HTTPException(400, "a bucket is at least 1ms")
    return value


def _series_window(since: str | None, until: str | None, bucket_ns: int) -> tuple[int, int | None]:
    """The window of a time series: `since` defaults to 24 h ago; at most MAX_BUCKETS buckets."""
    since_ns, until_ns = window(since, until)
    now = time.time_ns()
    if since_ns is None:
        since_ns = (until_ns or now) - SERIES_DEFAULT_S * 10**9
    span = (until_ns or now) - since_ns
    if span // bucket_ns > MAX_BUCKETS:
        raise HTTPException(
            400, f"{span // bucket_ns} buckets asked for; at most {MAX_BUCKETS}: widen the bucket"
        )
    return since_ns, until_ns


def _windowed(
    scope: SpanFilter, since: str | None, until: str | None, bucket_ns: int | None = None
) -> SpanFilter:
    """`scope` over the window asked for: a time series' (`bucket_ns`) as `_series_window` says."""
    if bucket_ns is None:
        since_ns, until_ns = window(since, until)
    else:
        since_ns, until_ns = _series_window(since, until, bucket_ns)
    return replace(scope, since_ns=since_ns, until_ns=until_ns)


def _groups(text: str | None, allowed: Sequence[str], default: Sequence[str]) -> list[str]:
    if text is None:
        return list(default)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or len(set(names)) != len(names):
        raise HTTPException(400, f"cannot group by {text!r}: choose among {', '.join(allowed)}")
    return names


def _share(part: float | None, whole: float | None) -> float:
    return float(part or 0) / float(whole) if whole else 0.0


def _rates(row: Row, total: int) -> dict[str, Any]:
    return {
        "errors": row["errors"],
        "error_rate": _share(row["errors"], total),
        "rate_limited": row["rate_limited"],
        "rate_limited_rate": _share(row["rate_limited"], total),
        "timeouts": row["timeouts"],
        "timeout_rate": _share(row["timeouts"], total),
    }


def _percentiles(row: Row, prefix: str = "") -> dict[str, Any]:
    return {f"p{p}_ms": row[f"{prefix}p{p}_ms"] for p in (50, 90, 95, 99)}


def _ask(call: Callable[[], _T]) -> _T:
    """Run a store query, answering 400 for what it refuses (an unknown grouping…)."""
    try:
        return call()
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _latency_group(row: Row, of: str) -> LatencyGroup:
    n = int(row["n"])
    group = LatencyGroup(
        **{k: row[k] for k in _STEP_GROUPS if k in row},
        **_percentiles(row),
        bucket_start=iso(row.get("bucket_ns")),
        n=n,
        max_ms=row["max_ms"],
        mean_ms=row["mean_ms"],
        errors=row["errors"],
        error_rate=_share(row["errors"], n),
        retried=row["retried"],
        retried_share=_share(row["retried"], n),
        retry_wait_ms=float(row["retry_wait_ms"] or 0.0),
    )
    if of == "runs":
        group.first_attempt = Percentiles(**_percentiles(row, "first_attempt_"))
        group.retried_ok = row["retried_ok"]
        group.retry_ms = float(row["retry_ms"] or 0.0)
        group.retry_time_share = _share(row["retry_ms"], row["total_ms"])
    else:
        group.retry_time_share = _share(row["retry_wait_ms"], row["total_ms"])
    return group


def _prices(request: Request) -> PriceTable:
    path = state_of(request).settings.prices_file
    try:
        return load_prices(path)
    except (OSError, ValueError) as exc:
        raise HTTPException(500, f"cannot read the price table (prices_file): {exc}") from None


# --- endpoints ---------------------------------------------------------------------------------

SeriesSinceParam = Annotated[
    str | None, Query(description="RFC 3339 or relative (7d); default: 24h.")
]
AgentParam = Annotated[str | None, Query(description="Only this agent.")]
VersionParam = Annotated[str | None, Query(description="Only this version.")]
EnvironmentParam = Annotated[str | None, Query(description="Only this environment.")]


@router.get("/latency", response_model=LatencyReport)
def get_latency(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    of: Annotated[
        Literal["runs", "steps"], Query(description="Durations of complete runs, or of steps.")
    ] = "runs",
    by: Annotated[
        str | None,
        Query(
            description="Comma-separated groups: agent, version, environment (and for steps: "
            "step, kind, dependency). Default: agent,version,environment (runs), agent,step."
        ),
    ] = None,
    agent: AgentParam = None,
    version: VersionParam = None,
    environment: EnvironmentParam = None,
    status: Annotated[str | None, Query(description="Only runs or steps: ok or error.")] = None,
    step: Annotated[str | None, Query(description="Steps: only this step name.")] = None,
    kind: Annotated[str | None, Query(description="Steps: only this kind (llm, http…).")] = None,
    dependency: Annotated[str | None, Query(description="Steps: only this dependency.")] = None,
    bucket: Annotated[
        str | None,
        Query(description="Also per time bucket: 1m, 1h, 1d… (then since defaults to 24h)."),
    ] = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> LatencyReport:
    """Exact p50/p90/p95/p99 of durations per group, over the window or per time bucket.

    For runs, also first-attempt percentiles (without retry waits and the failed attempts that
    were retried), how many runs ended ok only after retries, and the time lost to them.
    """
    if of == "runs" and any(v is not None for v in (step, kind, dependency)):
        raise HTTPException(400, "step, kind and dependency filter steps: add of=steps")
    allowed = _STEP_GROUPS if of == "steps" else _RUN_GROUPS
    default = ("agent", "step") if of == "steps" else _RUN_GROUPS
    groups = _groups(by, allowed, default)
    bucket_ns = _bucket_ns(bucket)
    where = SpanFilter(
        who.project,
        agent=agent,
        version=version,
        environment=environment,
        status=status,
        step=step,
        kind=kind,
        dependency=dependency,
    )
    scope = _windowed(where, since, until, bucket_ns)
    store = state_of(request).store
    rows = _ask(lambda: store.latency(scope, of=of, by=groups, bucket_ns=bucket_ns))
    return LatencyReport(
        of=of,
        by=groups,
        since=iso(scope.since_ns),
        until=iso(scope.until_ns),
        bucket_s=bucket_ns / 1e9 if bucket_ns else None,
        groups=[_latency_group(row, of) for row in rows],
    )


@router.get("/latency/retried-runs", response_model=RetriedRuns)
def get_retried_runs(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    agent: AgentParam = None,
    version: VersionParam = None,
    environment: EnvironmentParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most runs to list.")] = 20,
) -> RetriedRuns:
    """Runs that "succeeded" only after retries or rate-limit waits, most time lost first."""
    where = SpanFilter(who.project, agent=agent, version=version, environment=environment)
    scope = _windowed(where, since, until)
    rows = state_of(request).store.retried_runs(scope, limit)
    return RetriedRuns(
        runs=[
            RetriedRun(
                **{k: v for k, v in row.items() if k != "start_ns"},
                start_time=iso(row["start_ns"]),
            )
            for row in rows
        ]
    )


def _dependency_bucket(row: Row) -> DependencyBucket:
    return DependencyBucket(
        dependency=row["dependency"],
        bucket_start=iso(row.get("bucket_ns")),
        calls=row["calls"],
        max_ms=row["max_ms"],
        median_low_ms=row["median_low_ms"],
        **_percentiles(row),
        **_rates(row, row["calls"]),
    )


@router.get("/dependencies", response_model=DependencyReport)
def get_dependencies(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    dependency: Annotated[str | None, Query(description="Only this dependency.")] = None,
    agent: Annotated[str | None, Query(description="Only calls made by this agent.")] = None,
    environment: EnvironmentParam = None,
    bucket: Annotated[str, Query(description="Time bucket of the series: 1h, 15m, 1d…")] = "1h",
    since: SeriesSinceParam = None,
    until: UntilParam = None,
) -> DependencyReport:
    """Per third-party dependency: latency percentiles, error classes, 429 and timeout rates,
    over the window and per time bucket (hourly by default), and its slowest bucket: the one
    whose median is surely the highest (the highest one-sided 95% lower bound of the median, so
    a quiet hour with a few slow calls does not outrank a busy hour of slow ones).

    A call is a step that names the dependency (`firstwatch.dependency`, the GenAI provider, the
    server address, §5) with no child step naming the same one: each HTTP attempt under an LLM
    step, retries included. 429 rate: calls answered 429 or classed rate_limited.
    """
    bucket_ns = _bucket_ns(bucket)
    assert bucket_ns is not None
    where = SpanFilter(who.project, agent=agent, environment=environment, dependency=dependency)
    scope = _windowed(where, since, until, bucket_ns)
    store = state_of(request).store
    totals = store.dependency_latency(scope)
    series = [_dependency_bucket(row) for row in store.dependency_latency(scope, bucket_ns)]
    classes: dict[str, list[ErrorClassCount]] = {}
    for row in store.dependency_errors(scope):
        classes.setdefault(row["dependency"], []).append(
            ErrorClassCount(error_class=row["error_class"] or "unknown", calls=row["calls"])
        )
    dependencies = []
    for row in totals:
        name = row["dependency"]
        bounded = [b for b in series if b.dependency == name and b.median_low_ms is not None]
        slowest = max(bounded, key=lambda b: b.median_low_ms or 0.0, default=None)
        dependencies.append(
            Dependency(
                dependency=name,
                calls=row["calls"],
                max_ms=row["max_ms"],
                **_percentiles(row),
                **_rates(row, row["calls"]),
                error_classes=classes.get(name, []),
                slowest=slowest,
            )
        )
    return DependencyReport(
        since=iso(scope.since_ns),
        until=iso(scope.until_ns),
        bucket_s=bucket_ns / 1e9,
        dependencies=dependencies,
        series=series,
    )


@router.get("/concurrency", response_model=ConcurrencyReport)
def get_concurrency(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    of: Annotated[
        Literal["runs", "calls"],
        Query(description="runs: in flight per agent; calls: per dependency, all agents."),
    ] = "runs",
    agent: AgentParam = None,
    environment: EnvironmentParam = None,
    dependency: Annotated[str | None, Query(description="calls: only this dependency.")] = None,
    bucket: Annotated[str, Query(description="Time bucket of the series: 1m, 1h…")] = "1m",
    band_width: Annotated[
        int | None,
        Query(ge=1, description="Width of a concurrency band; default: powers of two."),
    ] = None,
    since: SeriesSinceParam = None,
    until: UntilParam = None,
) -> ConcurrencyReport:
    """Runs in flight per agent (or calls per dependency) over time, and per band of
    concurrency at their start: error rate, 429 rate (runs: any of its steps answered 429),
    timeout rate, p50 and p99.
    """
    if of == "runs" and dependency is not None:
        raise HTTPException(400, "dependency selects calls: add of=calls")
    bucket_ns = _bucket_ns(bucket)
    assert bucket_ns is not None
    where = SpanFilter(who.project, agent=agent, environment=environment, dependency=dependency)
    scope = _windowed(where, since, until, bucket_ns)
    store = state_of(request).store
    key = "agent" if of == "runs" else "dependency"
    series = [
        InFlight(**{key: row[key]}, bucket_start=iso(row["bucket_ns"]), in_flight=row["in_flight"])
        for row in store.in_flight(scope, of=of, bucket_ns=bucket_ns)
    ]
    peaks: dict[str | None, InFlight] = {}
    for point in series:
        name = point.agent if of == "runs" else point.dependency
        if name not in peaks or point.in_flight > peaks[name].in_flight:
            peaks[name] = point
    bands = [
        Band(
            **{key: row[key]},
            band_low=row["band_low"],
            band_high=row["band_high"],
            n=row["n"],
            peak=row["peak"],
            p50_ms=row["p50_ms"],
            p99_ms=row["p99_ms"],
            **_rates(row, row["n"]),
        )
        for row in _ask(lambda: store.concurrency_bands(scope, of=of, band_width=band_width))
    ]
    return ConcurrencyReport(
        of=of,
        since=iso(scope.since_ns),
        until=iso(scope.until_ns),
        bucket_s=bucket_ns / 1e9,
        series=series,
        peaks=list(peaks.values()),
        bands=bands,
    )


@router.get("/usage", response_model=UsageReport)
def get_usage(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    by: Annotated[
        str | None,
        Query(
            description="Comma-separated: agent, version, environment, model (default "
            "agent,version,model)."
        ),
    ] = None,
    agent: AgentParam = None,
    version: VersionParam = None,
    environment: EnvironmentParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> UsageReport:
    """Tokens and their cost per group, from the steps that recorded token counts.

    Costs come from the price table in `prices_file` (per model, per million input and output
    tokens), else from a few example prices (`example_prices` says so).
    """
    groups = _groups(by, _USAGE_GROUPS, ("agent", "version", "model"))
    where = SpanFilter(who.project, agent=agent, version=version, environment=environment)
    scope = _windowed(where, since, until)
    prices = _prices(request)
    # Priced per model, then folded into the groups asked for.
    per_model = ["model", *[g for g in groups if g != "model"]]
    rows = state_of(request).store.usage(scope, per_model)
    folded: dict[tuple[Any, ...], dict[str, Any]] = {}
    total: dict[str, Any] = {
        "calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost": None,
        "unpriced_calls": 0,
    }
    unpriced: set[str] = set()
    for row in rows:
        key = tuple(row[g] for g in groups)
        entry = folded.setdefault(
            key,
            {
                **dict(zip(groups, key, strict=True)),
                "calls": 0,
                "input_tokens": 0,
                "output_tokens": 0,
                "cost": None,
                "unpriced_calls": 0,
            },
        )
        price = cost(prices, row["model"], int(row["input_tokens"]), int(row["output_tokens"]))
        for target in (entry, total):
            target["calls"] += int(row["calls"])
            target["input_tokens"] += int(row["input_tokens"])
            target["output_tokens"] += int(row["output_tokens"])
            if price is None:
                target["unpriced_calls"] += int(row["calls"])
            else:
                target["cost"] = (target["cost"] or 0.0) + price
        if price is None:
            unpriced.add(row["model"] or "(none)")
    return UsageReport(
        since=iso(scope.since_ns),
        until=iso(scope.until_ns),
        by=groups,
        currency=prices.currency,
        prices=prices.source,
        example_prices=prices.examples,
        rows=[
            UsageRow(**entry)
            for entry in sorted(
                folded.values(), key=lambda e: [(e[g] is None, e[g] or "") for g in groups]
            )
        ],
        total=UsageRow(**total),
        unpriced_models=sorted(unpriced),
    )
