"""Latency, dependencies, concurrency and usage on every backend, against independent references.

Percentiles are checked against numpy's exact percentiles (linear interpolation) on generated
durations; concurrency against a brute-force count on a constructed timeline.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrowtables import SPAN_SCHEMA
from firstwatch.store import Store
from firstwatch.store.base import SpanFilter
from firstwatch.store.schema import SPAN_COLUMN_NAMES

BASE = 1_800_000_000_000_000_000
SECOND = 1_000_000_000
MS = 1_000_000
PERCENTILES = (50, 90, 95, 99)
_ids = itertools.count(1)


def span(trace: int, span_id: int, parent: int | None, start: int, ms: float, **over: Any) -> dict:
    values: dict[str, Any] = dict.fromkeys(SPAN_COLUMN_NAMES)
    values.update(
        project="default",
        trace_id=f"{trace:032x}",
        span_id=f"{span_id:016x}",
        parent_span_id=f"{parent:016x}" if parent is not None else None,
        name="run" if parent is None else f"step{span_id}",
        span_kind=1,
        kind="run" if parent is None else "step",
        agent_marked=parent is None,
        start_ns=start,
        end_ns=start + round(ms * MS),
        duration_ms=ms,
        status="ok",
        agent="extractor",
        version="1",
        environment="production",
        received_ns=0,
    )
    values.update(over)
    return values


def apply(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    store.apply(pa.Table.from_pylist(list(rows), schema=SPAN_SCHEMA), 1)


def runs_of(agent: str, durations: Sequence[float], start: int = BASE, gap: int = SECOND) -> list:
    """One run span per duration, `gap` apart, each in a trace of its own."""
    return [
        span(next(_ids), 1, None, start + i * gap, ms, agent=agent)
        for i, ms in enumerate(durations)
    ]


def expected(values: Sequence[float]) -> dict[str, float]:
    exact = np.percentile(np.asarray(values, dtype=np.float64), PERCENTILES)
    return {f"p{p}_ms": float(v) for p, v in zip(PERCENTILES, exact, strict=True)}


def assert_percentiles(row: dict[str, Any], values: Sequence[float], prefix: str = "") -> None:
    scale = max((abs(v) for v in values), default=1.0)
    for name, want in expected(values).items():
        assert row[prefix + name] == pytest.approx(want, rel=1e-12, abs=1e-12 * scale), name


durations = st.lists(
    st.one_of(
        st.sampled_from([0.0, 1.0, 2.5, 2.5, 40.0]),  # ties
        # Not subnormal: a duration is a whole number of nanoseconds (at least 1e-6 ms), and
        # between 0 and 5e-324 the two ways of interpolating round apart.
        st.floats(min_value=0.0, max_value=60_000.0, allow_nan=False, allow_subnormal=False),
        st.floats(min_value=0.0, max_value=25.0).map(math.exp),  # very skewed tails
    ),
    max_size=60,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=durations)
def test_run_percentiles_are_numpys_exact_percentiles(store: Store, values: list[float]) -> None:
    agent = f"agent-{next(_ids)}"
    if values:
        apply(store, runs_of(agent, values))
    got = store.latency(SpanFilter(project="default", agent=agent), by=["agent"])
    if not values:
        assert got == []
        return
    (row,) = got
    assert row["agent"] == agent and row["n"] == len(values)
    assert_percentiles(row, values)
    assert row["max_ms"] == max(values)
    # Without retries, the first attempt is the whole run.
    assert_percentiles(row, values, "first_attempt_")
    assert row["retried"] == 0 and row["retry_ms"] == 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=durations, minutes=st.integers(min_value=1, max_value=5))
def test_bucketed_percentiles_match_numpy_per_bucket(
    store: Store, values: list[float], minutes: int
) -> None:
    agent = f"agent-{next(_ids)}"
    start = BASE + next(_ids) * 3600 * SECOND
    if values:
        apply(store, runs_of(agent, values, start=start, gap=17 * SECOND))
    bucket = minutes * 60 * SECOND
    got = store.latency(SpanFilter(project="default", agent=agent), bucket_ns=bucket)
    by_bucket: dict[int, list[float]] = {}
    for i, ms in enumerate(values):
        t = start + i * 17 * SECOND
        by_bucket.setdefault(t // bucket * bucket, []).append(ms)
    assert [r["bucket_ns"] for r in got] == sorted(by_bucket)
    for row in got:
        assert row["n"] == len(by_bucket[row["bucket_ns"]])
        assert_percentiles(row, by_bucket[row["bucket_ns"]])


def test_empty_window_one_run_and_groups(store: Store) -> None:
    apply(store, runs_of("one", [7.0]) + runs_of("two", [1.0, 1.0, 1.0, 100.0], start=BASE))
    everything = SpanFilter(project="default")
    assert store.latency(SpanFilter(project="default", since_ns=0, until_ns=BASE)) == []
    assert store.latency(SpanFilter(project="default", agent="nobody")) == []
    (one,) = store.latency(SpanFilter(project="default", agent="one"))
    assert one["n"] == 1 and {one[f"p{p}_ms"] for p in PERCENTILES} == {7.0}
    rows = {r["agent"]: r for r in store.latency(everything, by=["agent", "version"])}
    assert set(rows) == {"one", "two"} and rows["two"]["version"] == "1"
    assert_percentiles(rows["two"], [1.0, 1.0, 1.0, 100.0])
    (total,) = store.latency(everything)
    assert total["n"] == 5
    summary = {r["agent"]: r for r in store.latency_summary("default", None, None)}
    assert summary["two"]["p50_ms"] == 1.0
    assert summary["two"]["p99_ms"] == pytest.approx(np.percentile([1, 1, 1, 100], 99))
    with pytest.raises(ValueError, match="group"):
        store.latency(everything, by=["name"])
    with pytest.raises(ValueError, match="steps"):
        store.latency(SpanFilter(project="default", dependency="llm-api"))


def retried_run(trace: int, start: int, *, waits_ms: float, agent: str = "retrier") -> list[dict]:
    """A run whose model call is answered 429 once, waits, and is sent again (SDK style)."""
    llm_start = start + 1 * MS
    failed_ms, ok_ms = 30.0, 50.0
    resend_start = llm_start + round((failed_ms + waits_ms) * MS)
    llm_ms = (resend_start - llm_start) / MS + ok_ms
    common = {"agent": agent, "dependency": "llm-api"}
    return [
        span(trace, 1, None, start, llm_ms + 2.0, agent=agent),
        span(trace, 2, 1, llm_start, llm_ms, kind="llm", name="extract", **common),
        span(
            trace,
            3,
            2,
            llm_start,
            failed_ms,
            kind="http",
            name="POST",
            status="error",
            http_status=429,
            error_class="rate_limited",
            **common,
        ),
        span(
            trace,
            4,
            2,
            resend_start,
            ok_ms,
            kind="http",
            name="POST",
            http_status=200,
            retry_count=1,
            retry_wait_ms=waits_ms,
            model="gpt-4o-mini",
            **common,
        ),
    ]


def test_first_attempt_and_time_lost_to_retries(store: Store) -> None:
    rows: list[dict[str, Any]] = []
    for i in range(10):
        rows += retried_run(100 + i, BASE + i * SECOND, waits_ms=1000.0 + 100 * i)
    rows += runs_of("retrier", [82.0] * 10, start=BASE + 20 * SECOND)
    apply(store, rows)
    (row,) = store.latency(SpanFilter(project="default", agent="retrier"))
    assert row["n"] == 20 and row["retried"] == 10 and row["retried_ok"] == 10
    # Each retried run lost its wait and its failed 30 ms attempt.
    lost = [1000.0 + 100 * i + 30.0 for i in range(10)]
    assert row["retry_ms"] == pytest.approx(sum(lost))
    assert row["retry_wait_ms"] == pytest.approx(sum(lost) - 300.0)
    assert row["p99_ms"] > 10 * row["first_attempt_p99_ms"]
    assert row["first_attempt_p99_ms"] == pytest.approx(82.0)
    listed = store.retried_runs(SpanFilter(project="default"), 3)
    assert [r["retry_ms"] for r in listed] == pytest.approx(sorted(lost, reverse=True)[:3])
    assert listed[0]["trace_id"] == f"{109:032x}"

    # Steps: the retries show on the model step that waited for them, not on its siblings.
    steps = {
        r["step"]: r
        for r in store.latency(SpanFilter(project="default"), of="steps", by=["step", "kind"])
    }
    assert steps["extract"]["retried"] == 10
    assert steps["extract"]["retry_wait_ms"] == pytest.approx(sum(lost) - 300.0)
    assert steps["POST"]["n"] == 20 and steps["POST"]["errors"] == 10
    assert steps["POST"]["retried"] == 10 and steps["POST"]["retry_wait_ms"] == 0

    # Dependency calls are the HTTP attempts, not the model step around them as well.
    (llm,) = store.dependency_latency(SpanFilter(project="default"))
    assert (llm["dependency"], llm["calls"], llm["rate_limited"]) == ("llm-api", 20, 10)
    assert_percentiles(llm, [30.0] * 10 + [50.0] * 10)
    assert store.dependency_errors(SpanFilter(project="default")) == [
        {"dependency": "llm-api", "error_class": "rate_limited", "calls": 10}
    ]


def test_dependency_stats_by_hour_and_error_classes(store: Store) -> None:
    hour = 3600 * SECOND
    start = BASE - BASE % hour
    rows: list[dict[str, Any]] = []
    trace = 500
    latencies = {0: [100.0] * 8, 1: [2000.0] * 6 + [3000.0, 3100.0], 2: [120.0] * 8}
    for h, values in latencies.items():
        for i, ms in enumerate(values):
            trace += 1
            t = start + h * hour + i * 60 * SECOND
            timeout = h == 1 and i >= 6
            rows += [
                span(trace, 1, None, t, ms + 5),
                span(
                    trace,
                    2,
                    1,
                    t + MS,
                    ms,
                    kind="http",
                    name="GET",
                    dependency="registry",
                    status="error" if timeout else "ok",
                    error_class="timeout" if timeout else None,
                ),
            ]
    apply(store, rows)
    series = store.dependency_latency(SpanFilter(project="default"), hour)
    assert [r["bucket_ns"] for r in series] == [start, start + hour, start + 2 * hour]
    for row, values in zip(series, latencies.values(), strict=True):
        assert row["calls"] == 8
        assert_percentiles(row, values)
    assert [r["timeouts"] for r in series] == [0, 2, 0]
    # A one-sided 95% lower bound of each hour's median: of 8 calls, the fastest.
    assert [r["median_low_ms"] for r in series] == [100.0, 2000.0, 120.0]
    five = store.dependency_latency(SpanFilter(project="default"), 5 * 60 * SECOND)
    assert [r["calls"] for r in five] == [5, 3] * 3
    assert all(r["median_low_ms"] is None for r in five)
    (total,) = store.dependency_latency(SpanFilter(project="default", dependency="registry"))
    assert total["calls"] == 24 and total["errors"] == 2
    window = SpanFilter(project="default", since_ns=start + hour, until_ns=start + 2 * hour)
    (peak,) = store.dependency_latency(window)
    assert_percentiles(peak, latencies[1])


def in_flight_at(intervals: Sequence[tuple[int, int]], t: int) -> int:
    return sum(1 for s, e in intervals if s <= t < e)


def test_concurrency_on_a_constructed_timeline(store: Store) -> None:
    # Seconds after BASE: a run ending as another starts is not concurrent with it.
    timeline = [(0, 10), (2, 5), (5, 8), (5, 6), (9, 12), (30, 31), (30, 30)]
    rows: list[dict[str, Any]] = []
    for n, (s, e) in enumerate(timeline):
        trace = 900 + n
        start = BASE + s * SECOND
        failed = n in (2, 3)
        rows.append(
            span(
                trace,
                1,
                None,
                start,
                (e - s) * 1000.0,
                agent="busy",
                status="error" if failed else "ok",
                error_class="rate_limited" if failed else None,
            )
        )
        if failed:
            rows.append(
                span(
                    trace,
                    2,
                    1,
                    start,
                    1.0,
                    kind="http",
                    agent="busy",
                    dependency="llm-api",
                    status="error",
                    http_status=429,
                    error_class="rate_limited",
                )
            )
    rows += runs_of("elsewhere", [5000.0], start=BASE + 3 * SECOND)
    apply(store, rows)
    scope = SpanFilter(project="default", agent="busy")
    intervals = [(BASE + s * SECOND, BASE + e * SECOND) for s, e in timeline]

    bands = store.concurrency_bands(scope)
    levels = [in_flight_at(intervals, s) + (1 if e <= s else 0) for s, e in intervals]
    assert levels == [1, 2, 3, 3, 2, 1, 2]
    assert [(b["band_low"], b["band_high"], b["n"], b["peak"]) for b in bands] == [
        (1, 1, 2, 1),
        (2, 3, 5, 3),
    ]
    assert all(b["agent"] == "busy" for b in bands)
    assert bands[1]["rate_limited"] == 2 and bands[1]["errors"] == 2
    assert bands[0]["rate_limited"] == 0
    assert bands[1]["p99_ms"] == pytest.approx(
        np.percentile([3000.0, 3000.0, 1000.0, 3000.0, 0.0], 99)
    )
    wide = store.concurrency_bands(scope, band_width=2)
    assert [(b["band_low"], b["band_high"], b["n"]) for b in wide] == [(1, 2, 5), (3, 4, 2)]

    series = store.in_flight(scope, bucket_ns=SECOND)
    want = {}
    for b in range(40):
        t0 = BASE + b * SECOND
        moments = [t0] + [s for s, _ in intervals if t0 <= s < t0 + SECOND]
        peak = max(in_flight_at(intervals, t) for t in moments)
        if peak:
            want[t0] = peak
    assert {r["bucket_ns"]: r["in_flight"] for r in series} == want
    assert all(r["agent"] == "busy" for r in series)
    # A window counts what was already in flight when it began.
    late = SpanFilter(project="default", agent="busy", since_ns=BASE + 7 * SECOND)
    got = {r["bucket_ns"]: r["in_flight"] for r in store.in_flight(late, bucket_ns=SECOND)}
    assert got == {t: v for t, v in want.items() if t >= BASE + 7 * SECOND}
    assert [b["n"] for b in store.concurrency_bands(late)] == [1, 2]

    # Calls are counted per dependency, across all agents.
    calls = store.concurrency_bands(SpanFilter(project="default"), of="calls")
    assert [(c["dependency"], c["band_low"], c["n"], c["rate_limited"]) for c in calls] == [
        ("llm-api", 2, 2, 2)
    ]
    assert store.in_flight(SpanFilter(project="default"), of="calls", bucket_ns=SECOND) == [
        {"dependency": "llm-api", "bucket_ns": BASE + 5 * SECOND, "in_flight": 2}
    ]
    midway = SpanFilter(project="default", since_ns=BASE + 5 * SECOND + MS // 2)
    assert store.in_flight(midway, of="calls", bucket_ns=SECOND) == [
        {"dependency": "llm-api", "bucket_ns": BASE + 5 * SECOND, "in_flight": 2}
    ]
    assert store.concurrency_bands(midway, of="calls") == []
    with pytest.raises(ValueError):
        store.in_flight(scope, of="threads", bucket_ns=SECOND)


def test_usage_sums_tokens_by_agent_version_and_model(store: Store) -> None:
    rows: list[dict[str, Any]] = []
    for n, (agent, model, tokens_in, tokens_out) in enumerate(
        [
            ("a", "gpt-4o", 1000, 200),
            ("a", "gpt-4o", 3000, 100),
            ("a", "claude-3-5-haiku", 10, 1),
            ("b", "gpt-4o", 5, 5),
        ]
    ):
        trace = 1200 + n
        start = BASE + n * SECOND
        rows += [
            span(trace, 1, None, start, 10.0, agent=agent),
            span(
                trace,
                2,
                1,
                start,
                5.0,
                kind="llm",
                agent=agent,
                model=model,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
            ),
            span(trace, 3, 1, start, 1.0, kind="step", agent=agent),
        ]
    apply(store, rows)
    got = store.usage(SpanFilter(project="default"), ["agent", "model"])
    assert got == [
        {
            "agent": "a",
            "model": "claude-3-5-haiku",
            "calls": 1,
            "input_tokens": 10,
            "output_tokens": 1,
        },
        {"agent": "a", "model": "gpt-4o", "calls": 2, "input_tokens": 4000, "output_tokens": 300},
        {"agent": "b", "model": "gpt-4o", "calls": 1, "input_tokens": 5, "output_tokens": 5},
    ]
    (only_b,) = store.usage(SpanFilter(project="default", agent="b"), ["version"])
    assert only_b == {"version": "1", "calls": 1, "input_tokens": 5, "output_tokens": 5}
    assert store.usage(SpanFilter(project="default", since_ns=BASE + 10 * SECOND), []) == []
