"""`/api/v1/drift` and `/api/v1/baselines`: how far real inputs moved from what was tested.

Per agent and input feature (design.md §4.3): PSI, KS, Jensen–Shannon distance, novel categories
and a severity that needs both a large enough PSI and a significant test, with enough runs on
each side; and the production runs least like anything in the baseline. A baseline is the
default (the agent's staging runs, computed per request), a named one (frozen when created), or
a cohort written inline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from firstwatch.analytics.cohorts import Cohort, parse_cohort
from firstwatch.analytics.drift import (
    FeatureBaseline,
    FeatureDrift,
    Severity,
    compare,
    freeze_baseline,
    most_novel,
)
from firstwatch.profiling import feature_for
from firstwatch.server.api.deps import SinceParam, UntilParam, admin, reader, state_of, window
from firstwatch.server.auth import Principal
from firstwatch.server.timeparse import iso, parse_time
from firstwatch.store.base import InputFeatures, RunFilter, Store, StoredBaseline

router = APIRouter(prefix="/api/v1", tags=["drift"])

RUN_LIMIT: Final = 20_000
"""Most runs read on each side of a comparison (the newest)."""
STAGING: Final = "staging"
PRODUCTION: Final = "production"
_RANK: Final[dict[str, int]] = {"none": 0, "moderate": 1, "major": 2}
_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

Verdict = Literal["none", "moderate", "major", "not_enough_data"]


# --- response models ---------------------------------------------------------------------------


class SideSummary(BaseModel):
    """Descriptive figures of one feature on one side (numeric or categorical ones)."""

    n: int
    missing: int
    missing_share: float | None = None
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    p05: float | None = None
    p50: float | None = None
    p95: float | None = None
    max: float | None = None
    outside_share: float | None = Field(
        None, description="Numeric: share outside the baseline's widened central range."
    )
    distinct: int | None = None
    top: list[tuple[str, float]] | None = Field(
        None, description="Categorical: the most common categories and their shares."
    )


class Bin(BaseModel):
    """One histogram bin (numeric) or category, counted on both sides."""

    label: str
    low: float | None = None
    high: float | None = None
    novel: bool | None = Field(None, description="Categorical: the baseline never had it.")
    baseline_count: int
    current_count: int
    baseline_share: float | None
    current_share: float | None


class FeatureReport(BaseModel):
    """How far one input feature moved."""

    feature: str
    kind: Literal["numeric", "categorical"]
    presence: Literal["both", "baseline_only", "current_only"]
    severity: Severity
    psi: float | None
    ks: float | None
    js: float | None = Field(description="Jensen–Shannon distance, base 2.")
    p_value: float | None = Field(description="None when there are not enough runs.")
    p_adjusted: float | None = Field(description="After Holm's correction across features.")
    novel_share: float | None
    novel_categories: list[str]
    baseline: SideSummary
    current: SideSummary
    bins: list[Bin]


class BaselineUsed(BaseModel):
    """The baseline a comparison used."""

    source: Literal["default", "named", "cohort"]
    name: str | None
    agent: str
    cohort: str
    description: str
    runs: int
    created: str | None = Field(description="When a named baseline was frozen.")
    limited: bool = Field(
        description=f"The newest {RUN_LIMIT} runs were read: older ones may be left out."
    )


class Window(BaseModel):
    """The runs compared with the baseline."""

    agent: str
    environment: str
    version: str | None
    since: str | None
    until: str | None
    runs: int
    limited: bool = Field(
        description=f"The newest {RUN_LIMIT} runs were read: older ones may be left out."
    )


class DriftReport(BaseModel):
    """Input drift of one agent: the verdict, and every feature from the most severe."""

    agent: str
    verdict: Verdict = Field(description="The worst feature severity, or not_enough_data.")
    reason: str
    min_runs: int
    alpha: float
    baseline: BaselineUsed
    window: Window
    features: list[FeatureReport]


class NovelRun(BaseModel):
    """A run among the least like its baseline, with its input's profile."""

    trace_id: str
    span_id: str
    start_time: str | None
    version: str | None
    novelty: int = Field(description="How many of its features lie outside the baseline.")
    novel_features: list[str]
    profile: dict[str, float | int | str]


class NovelRuns(BaseModel):
    """The most novel runs of a window, most novel first."""

    agent: str
    baseline: BaselineUsed
    window: Window
    runs: list[NovelRun]


class BaselineRequest(BaseModel):
    """A named baseline to freeze."""

    name: str = Field(pattern=_NAME_PATTERN, description="Letters, digits, '.', '_', '-'.")
    agent: str = Field(min_length=1)
    cohort: str = Field(
        "",
        description="env=staging,version=1.1,since=7d,until=1d (any of them; empty: all runs).",
    )


class BaselineFeature(BaseModel):
    """One feature of a frozen baseline."""

    feature: str
    kind: Literal["numeric", "categorical"]
    summary: SideSummary


class Baseline(BaseModel):
    """A named baseline."""

    name: str
    agent: str
    cohort: str
    since: str | None = Field(description="The cohort's start, resolved when it was frozen.")
    until: str | None = Field(description="The cohort's end, resolved when it was frozen.")
    runs: int
    created: str | None


class BaselineDetail(Baseline):
    """A named baseline with its frozen features."""

    features: list[BaselineFeature]


class BaselineList(BaseModel):
    """Named baselines."""

    baselines: list[Baseline]


# --- computing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    frozen: dict[str, FeatureBaseline]
    used: BaselineUsed


def _compared(features: Mapping[str, Any]) -> dict[str, Any]:
    """The features drift compares: all but the profiler's bookkeeping."""
    out = {}
    for name, column in features.items():
        declared = feature_for(name)
        if declared is None or declared.drift:
            out[name] = column
    return out


def _freeze(features: InputFeatures) -> dict[str, FeatureBaseline]:
    columns = _compared(features.features)
    kinds = {name: declared.kind for name in columns if (declared := feature_for(name))}
    return freeze_baseline(columns, kinds)


def _resolver(now_ns: int) -> Callable[[str | None], int | None]:
    def resolve(text: str | None) -> int | None:
        try:
            return parse_time(text, now_ns=now_ns)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None

    return resolve


def _cohort(text: str) -> Cohort:
    try:
        return parse_cohort(text)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _default_reference(
    store: Store, project: str, agent: str, version: str | None, min_runs: int
) -> _Reference:
    """The staging runs of the agent and version, else of the agent (all versions)."""
    same: InputFeatures | None = None
    if version is not None:
        same = store.input_features(
            RunFilter(project=project, agent=agent, version=version, environment=STAGING),
            RUN_LIMIT,
        )
    if same is not None and same.runs >= min_runs:
        chosen, cohort = same, Cohort(STAGING, version)
        description = f"staging runs of {agent} {version}"
    else:
        every = store.input_features(
            RunFilter(project=project, agent=agent, environment=STAGING), RUN_LIMIT
        )
        if same is not None and same.runs >= every.runs:
            chosen, cohort = same, Cohort(STAGING, version)
            description = f"staging runs of {agent} {version}"
        else:
            chosen, cohort = every, Cohort(STAGING)
            description = f"staging runs of {agent}, all versions"
            if same is not None:
                description += f"; {version} has {same.runs or 'no'} staging runs"
    return _Reference(
        _freeze(chosen),
        BaselineUsed(
            source="default",
            name=None,
            agent=agent,
            cohort=str(cohort),
            description=description,
            runs=chosen.runs,
            created=None,
            limited=chosen.runs >= RUN_LIMIT,
        ),
    )


def _named_reference(stored: StoredBaseline) -> _Reference:
    frozen = {name: FeatureBaseline.from_dict(data) for name, data in stored.features.items()}
    return _Reference(
        frozen,
        BaselineUsed(
            source="named",
            name=stored.name,
            agent=stored.agent,
            cohort=stored.cohort,
            description=f"baseline {stored.name!r}: {stored.cohort or 'all runs'} of "
            f"{stored.agent}, frozen {iso(stored.created_ns)}",
            runs=stored.runs,
            created=iso(stored.created_ns),
            limited=stored.runs >= RUN_LIMIT,
        ),
    )


def _cohort_reference(store: Store, project: str, agent: str, text: str) -> _Reference:
    cohort = _cohort(text)
    where = cohort.run_filter(project, agent, _resolver(time.time_ns()))
    features = store.input_features(where, RUN_LIMIT)
    return _Reference(
        _freeze(features),
        BaselineUsed(
            source="cohort",
            name=None,
            agent=agent,
            cohort=str(cohort),
            description=f"{str(cohort) or 'all runs'} of {agent}, computed now",
            runs=features.runs,
            created=None,
            limited=features.runs >= RUN_LIMIT,
        ),
    )


@dataclass(frozen=True)
class _Comparison:
    agent: str
    reference: _Reference
    current: InputFeatures
    window: Window


def _comparison(
    request: Request,
    who: Principal,
    agent: str | None,
    environment: str,
    version: str | None,
    baseline: str | None,
    since: str | None,
    until: str | None,
) -> _Comparison:
    state = state_of(request)
    store = state.store
    stored: StoredBaseline | None = None
    if baseline and "=" not in baseline:
        stored = store.get_baseline(who.project, baseline)
        if stored is None:
            raise HTTPException(404, f"no baseline named {baseline!r}")
        agent = agent or stored.agent
    if not agent:
        raise HTTPException(400, "agent is required (or a named baseline, whose agent is used)")
    since_ns, until_ns = window(since, until)
    current = store.input_features(
        RunFilter(
            project=who.project,
            agent=agent,
            version=version,
            environment=environment,
            since_ns=since_ns,
            until_ns=until_ns,
        ),
        RUN_LIMIT,
    )
    versions = set(current.versions)
    window_version = (
        version if version is not None else (versions.pop() if len(versions) == 1 else None)
    )
    if stored is not None:
        reference = _named_reference(stored)
    elif baseline:
        reference = _cohort_reference(store, who.project, agent, baseline)
    else:
        reference = _default_reference(
            store, who.project, agent, window_version, state.settings.drift_min_runs
        )
    return _Comparison(
        agent,
        reference,
        current,
        Window(
            agent=agent,
            environment=environment,
            version=window_version,
            since=iso(since_ns),
            until=iso(until_ns),
            runs=current.runs,
            limited=current.runs >= RUN_LIMIT,
        ),
    )


def _summary(figures: Mapping[str, Any]) -> SideSummary:
    return SideSummary.model_validate(dict(figures))


def _feature_report(drift: FeatureDrift) -> FeatureReport:
    return FeatureReport(
        feature=drift.feature,
        kind=drift.kind,
        presence=drift.presence,
        severity=drift.severity,
        psi=drift.psi,
        ks=drift.ks,
        js=drift.js,
        p_value=drift.p_value,
        p_adjusted=drift.p_adjusted,
        novel_share=drift.novel_share,
        novel_categories=list(drift.novel_categories),
        baseline=_summary(drift.baseline_summary),
        current=_summary(drift.current_summary),
        bins=[Bin.model_validate(entry) for entry in drift.bins],
    )


def _verdict(
    features: list[FeatureDrift], n_baseline: int, n_current: int, min_runs: int
) -> tuple[Verdict, str]:
    if min(n_baseline, n_current) < min_runs:
        return "not_enough_data", (
            f"not enough runs: the baseline has {n_baseline} and the window {n_current}; "
            f"a severity needs at least {min_runs} on each side"
        )
    if not features:
        return "none", "no input features were recorded on either side"
    worst: Verdict = max(
        (f.severity for f in features if f.severity in _RANK),
        key=lambda s: _RANK[s],
        default="none",
    )
    counts = {level: sum(f.severity == level for f in features) for level in ("major", "moderate")}
    if worst == "none":
        return "none", f"none of {len(features)} features moved significantly"
    return worst, (
        f"{counts['major']} major and {counts['moderate']} moderate of {len(features)} features"
    )


def _plain(value: Any) -> float | int | str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, int | str):
        return value
    return str(value)


# --- endpoints ---------------------------------------------------------------------------------

AgentParam = Annotated[
    str | None, Query(description="The agent; defaults to a named baseline's agent.")
]
EnvironmentParam = Annotated[str, Query(description="Environment of the compared runs.")]
VersionParam = Annotated[
    str | None,
    Query(description="Only this version; also picks the default baseline's version."),
]
BaselineParam = Annotated[
    str | None,
    Query(
        description="A named baseline, or a cohort written env=…,version=…,since=…,until=… "
        "(computed now, not stored). Default: the staging runs of the agent and version, "
        "else of the agent."
    ),
]


@router.get("/drift", response_model=DriftReport)
def get_drift(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    agent: AgentParam = None,
    environment: EnvironmentParam = PRODUCTION,
    version: VersionParam = None,
    baseline: BaselineParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
) -> DriftReport:
    """Input drift of an agent's runs against a baseline, feature by feature.

    The compared window is the agent's runs in `environment` (production by default) over all
    time unless `since` / `until` narrow it; at most the newest 20,000 runs on each side are
    read. A feature's severity is `moderate` (PSI 0.1–0.25) or `major` (above 0.25) only when
    a test also rejects "no change" after Holm's correction across the features; with fewer
    runs than the minimum on either side it is `not_enough_data`. The verdict is the worst
    severity.
    """
    settings = state_of(request).settings
    found = _comparison(request, who, agent, environment, version, baseline, since, until)
    results = compare(
        found.reference.frozen,
        _compared(found.current.features),
        min_runs=settings.drift_min_runs,
        alpha=settings.drift_alpha,
    )
    verdict, reason = _verdict(
        results, found.reference.used.runs, found.current.runs, settings.drift_min_runs
    )
    return DriftReport(
        agent=found.agent,
        verdict=verdict,
        reason=reason,
        min_runs=settings.drift_min_runs,
        alpha=settings.drift_alpha,
        baseline=found.reference.used,
        window=found.window,
        features=[_feature_report(r) for r in results],
    )


@router.get("/drift/novel-runs", response_model=NovelRuns)
def get_novel_runs(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    agent: AgentParam = None,
    environment: EnvironmentParam = PRODUCTION,
    version: VersionParam = None,
    baseline: BaselineParam = None,
    since: SinceParam = None,
    until: UntilParam = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most runs to list.")] = 10,
) -> NovelRuns:
    """The runs of the window least like anything in the baseline, with their profiles.

    A run's novelty counts its features outside the baseline's widened central range (numeric)
    or in a category the baseline never had; runs with novelty 0 are not listed. The window and
    baseline are chosen as for `/api/v1/drift`.
    """
    found = _comparison(request, who, agent, environment, version, baseline, since, until)
    current = found.current
    columns = _compared(current.features)
    listed = most_novel(found.reference.frozen, columns, top=limit) if current.runs else []
    runs = []
    for novel in listed:
        i = novel.index
        profile = {name: _plain(value) for name, value in novel.profile.items()}
        runs.append(
            NovelRun(
                trace_id=current.trace_ids[i],
                span_id=current.span_ids[i],
                start_time=iso(current.start_ns[i]),
                version=current.versions[i],
                novelty=novel.score,
                novel_features=list(novel.novel_features),
                profile={k: v for k, v in profile.items() if v is not None},
            )
        )
    return NovelRuns(
        agent=found.agent, baseline=found.reference.used, window=found.window, runs=runs
    )


def _baseline(stored: StoredBaseline) -> Baseline:
    return Baseline(
        name=stored.name,
        agent=stored.agent,
        cohort=stored.cohort,
        since=iso(stored.since_ns),
        until=iso(stored.until_ns),
        runs=stored.runs,
        created=iso(stored.created_ns),
    )


def _detail(stored: StoredBaseline) -> BaselineDetail:
    features = [
        BaselineFeature(
            feature=name, kind=data["kind"], summary=_summary(data.get("summary") or {})
        )
        for name, data in sorted(stored.features.items())
    ]
    return BaselineDetail(**_baseline(stored).model_dump(), features=features)


@router.post("/baselines", response_model=BaselineDetail, status_code=201)
def create_baseline(
    request: Request, body: BaselineRequest, who: Annotated[Principal, Depends(admin)]
) -> BaselineDetail:
    """Freeze a named baseline from a cohort of an agent's runs (409 if the name is taken).

    The cohort's relative times are resolved now; its runs (at most the newest 20,000) are
    profiled into bins, categories and ranges once, and never change afterwards.
    """
    store = state_of(request).store
    if store.get_baseline(who.project, body.name) is not None:
        raise HTTPException(409, f"a baseline named {body.name!r} exists; baselines never change")
    cohort = _cohort(body.cohort)
    now_ns = time.time_ns()
    where = cohort.run_filter(who.project, body.agent, _resolver(now_ns))
    features = store.input_features(where, RUN_LIMIT)
    if not features.runs:
        raise HTTPException(
            400, f"no complete runs of {body.agent} in cohort {str(cohort) or '(all runs)'!r}"
        )
    stored = StoredBaseline(
        project=who.project,
        name=body.name,
        agent=body.agent,
        cohort=str(cohort),
        runs=features.runs,
        created_ns=now_ns,
        features={name: f.to_dict() for name, f in _freeze(features).items()},
        since_ns=where.since_ns,
        until_ns=where.until_ns,
    )
    if not store.create_baseline(stored):
        raise HTTPException(409, f"a baseline named {body.name!r} exists; baselines never change")
    return _detail(stored)


@router.get("/baselines", response_model=BaselineList)
def list_baselines(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    agent: Annotated[str | None, Query(description="Only this agent's.")] = None,
) -> BaselineList:
    """Named baselines, by agent and name."""
    stored = state_of(request).store.list_baselines(who.project, agent)
    return BaselineList(baselines=[_baseline(s) for s in stored])


@router.get("/baselines/{name}", response_model=BaselineDetail)
def get_baseline(
    request: Request, name: str, who: Annotated[Principal, Depends(reader)]
) -> BaselineDetail:
    """One named baseline with the summary of each frozen feature."""
    stored = state_of(request).store.get_baseline(who.project, name)
    if stored is None:
        raise HTTPException(404, f"no baseline named {name!r}")
    return _detail(stored)
