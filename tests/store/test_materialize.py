"""Runs and steps from the spans of one trace, in any arrival order: the store's SQL and the
plain-Python reference, held to the same examples."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firstwatch.ingest.checks import decode_checks
from materializers import BOTH, Materialize, by_reference, by_sql

TRACE = "0af7651916cd43dd8448eb211c80319c"


def span(
    span_id: str,
    parent: str | None,
    *,
    marked: bool = False,
    start: int = 0,
    end: int = 10,
    status: str = "ok",
    error_class: str | None = None,
    agent: str | None = "extractor",
    kind: str = "step",
    retry_count: int | None = None,
    retry_wait_ms: float | None = None,
) -> dict[str, Any]:
    return {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": span_id,
        "kind": "run" if marked else kind,
        "agent_marked": marked,
        "start_ns": start,
        "end_ns": end,
        "duration_ms": (end - start) / 1e6,
        "status": status,
        "error_class": error_class,
        "agent": agent,
        "version": "1.0",
        "environment": "production",
        "dependency": None,
        "http_status": None,
        "retry_count": retry_count,
        "retry_wait_ms": retry_wait_ms,
    }


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_outermost_agent_span_is_the_run_in_any_arrival_order(build: Materialize) -> None:
    spans = [
        span("a" * 16, None, kind="http", start=0, end=100),  # an HTTP server root, not an agent
        span("b" * 16, "a" * 16, marked=True, start=1, end=99),
        span("c" * 16, "b" * 16, marked=True, start=2, end=50),  # a sub-agent: a step, not a run
        span("d" * 16, "c" * 16, kind="llm", start=3, end=40),
    ]
    for order in itertools.permutations(spans):
        runs, steps = build(order)
        assert [r["span_id"] for r in runs] == ["b" * 16]
        assert sorted(s["span_id"] for s in steps) == ["c" * 16, "d" * 16]
        assert all(s["run_span_id"] == "b" * 16 for s in steps)
        assert runs[0]["step_count"] == 2


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_without_agent_marks_the_root_is_the_run(build: Materialize) -> None:
    runs, steps = build(
        [span("1" * 16, None, start=0, end=5), span("2" * 16, "1" * 16, start=1, end=4)]
    )
    assert [r["span_id"] for r in runs] == ["1" * 16]
    assert runs[0]["complete"] is True
    assert [s["parent_span_id"] for s in steps] == ["1" * 16]


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_missing_run_span_is_one_incomplete_run_not_lost(build: Materialize) -> None:
    missing = "f" * 16
    runs, steps = build(
        [
            span("1" * 16, missing, start=5, end=10),
            span("2" * 16, missing, start=11, end=30, status="error", error_class="timeout"),
            span("3" * 16, "2" * 16, start=12, end=20),
        ]
    )
    assert len(runs) == 1
    run = runs[0]
    assert run["span_id"] == missing
    assert run["status"] == "incomplete" and run["complete"] is False
    assert run["start_ns"] == 5 and run["end_ns"] == 30
    assert run["agent"] == "extractor"
    assert run["error_class"] == "timeout"
    assert len(steps) == 3


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_late_root_turns_incomplete_run_into_complete(build: Materialize) -> None:
    root = span("9" * 16, None, marked=True, start=0, end=50)
    child = span("8" * 16, "9" * 16, start=1, end=2)
    runs, _ = build([child])
    assert runs[0]["status"] == "incomplete"
    runs, steps = build([child, root])
    assert [(r["span_id"], r["status"]) for r in runs] == [("9" * 16, "ok")]
    assert [s["span_id"] for s in steps] == ["8" * 16]


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_failed_run_takes_earliest_failed_descendant_class_not_unknown(build: Materialize) -> None:
    runs, _ = build(
        [
            span(
                "1" * 16, None, marked=True, start=0, end=100, status="error", error_class="unknown"
            ),
            span("2" * 16, "1" * 16, start=1, end=5, status="error", error_class="unknown"),
            span("3" * 16, "1" * 16, start=6, end=9, status="error", error_class="rate_limited"),
            span("4" * 16, "1" * 16, start=10, end=20, status="error", error_class="timeout"),
        ]
    )
    assert runs[0]["status"] == "error"
    assert runs[0]["error_class"] == "rate_limited"
    assert runs[0]["error_step_count"] == 3


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_ok_run_has_no_error_class_even_if_a_step_failed(build: Materialize) -> None:
    runs, steps = build(
        [
            span("1" * 16, None, marked=True, start=0, end=100),
            span(
                "2" * 16,
                "1" * 16,
                kind="tool",
                start=1,
                end=5,
                status="error",
                error_class="tool_error",
            ),
        ]
    )
    assert runs[0]["status"] == "ok" and runs[0]["error_class"] is None
    assert steps[0]["error_class"] == "tool_error"


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_retries_sum_over_the_run(build: Materialize) -> None:
    runs, _ = build(
        [
            span("1" * 16, None, marked=True, start=0, end=100),
            span("2" * 16, "1" * 16, kind="http", retry_count=2, retry_wait_ms=1500.0),
            span("3" * 16, "1" * 16, kind="http", retry_count=1, retry_wait_ms=500.0),
        ]
    )
    # Resend counts are attempt numbers: each resent call is one retry.
    assert runs[0]["retry_count"] == 2
    assert runs[0]["retry_wait_ms"] == 2000.0


def test_duplicate_spans_count_once_in_the_reference() -> None:
    # The store keeps one copy of each span before it materialises (test_store.py checks that).
    spans = [span("1" * 16, None, marked=True), span("2" * 16, "1" * 16)]
    runs, steps = by_reference(spans + spans)
    assert len(runs) == 1 and len(steps) == 1


@pytest.mark.parametrize("build", BOTH.values(), ids=BOTH.keys())
def test_two_sibling_agent_runs_in_one_trace(build: Materialize) -> None:
    runs, steps = build(
        [
            span("0" * 15 + "1", None, kind="step", start=0, end=100),
            span("a" * 16, "0" * 15 + "1", marked=True, start=1, end=40, agent="a"),
            span("b" * 16, "0" * 15 + "1", marked=True, start=50, end=90, agent="b"),
            span("c" * 16, "b" * 16, start=51, end=60),
        ]
    )
    assert [r["agent"] for r in runs] == ["a", "b"]
    assert [(s["span_id"], s["run_span_id"], s["agent"]) for s in steps] == [
        ("c" * 16, "b" * 16, "b")
    ]


_IDS = [f"{i:016x}" for i in range(1, 9)]
_MISSING = ["e" * 16, "f" * 16]


@st.composite
def traces(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Spans of one trace in any shape: parents missing, cycles, several roots and agents,
    retried calls, failures of several classes, checks. Start times are distinct: ties may be
    ordered either way."""
    count = draw(st.integers(1, len(_IDS)))
    ids = _IDS[:count]
    starts = draw(st.permutations(range(0, 10 * count, 10)))
    spans = []
    for i, span_id in enumerate(ids):
        failed = draw(st.booleans())
        start = starts[i]
        spans.append(
            {
                "trace_id": TRACE,
                "span_id": span_id,
                "parent_span_id": draw(st.sampled_from([None, "", *_MISSING, *ids])),
                "name": draw(st.sampled_from(["call", "step", "agent"])),
                "kind": draw(st.sampled_from(["step", "http", "llm", "tool", "run"])),
                "agent_marked": draw(st.booleans()),
                "start_ns": start,
                "end_ns": start + draw(st.integers(0, 50)),
                "duration_ms": draw(st.floats(0, 100, allow_nan=False)),
                "status": "error" if failed else "ok",
                "error_class": draw(st.sampled_from([None, "unknown", "timeout", "rate_limited"]))
                if failed
                else None,
                "error_fingerprint": draw(st.sampled_from([None, "fp1", "fp2"])),
                "agent": draw(st.sampled_from([None, "", "a", "b"])),
                "service": draw(st.sampled_from([None, "", "svc"])),
                "version": draw(st.sampled_from([None, "1", "2"])),
                "environment": draw(st.sampled_from([None, "", "production"])),
                "dependency": draw(st.sampled_from([None, "api"])),
                "retry_count": draw(st.sampled_from([None, 0, 1, 3])),
                "retry_wait_ms": draw(st.sampled_from([None, 0.0, 250.0])),
                "failed_checks": draw(st.sampled_from([None, '["x"]', '["x", "y"]'])),
                "input_preview": draw(st.sampled_from([None, "in"])),
                "output_preview": draw(st.sampled_from([None, "out"])),
                "http_status": draw(st.sampled_from([None, 200, 429])),
                "model": None,
                "input_tokens": None,
                "output_tokens": None,
            }
        )
    return draw(st.permutations(spans))


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        row = dict(row)
        row["failed_checks"] = decode_checks(row.get("failed_checks"))
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = round(value, 6)
        out.append(row)
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces())
def test_sql_builds_what_the_reference_builds(spans: list[dict[str, Any]]) -> None:
    sql_runs, sql_steps = by_sql(spans)
    ref_runs, ref_steps = by_reference(spans)
    assert _comparable(sql_runs) == _comparable(ref_runs)
    assert _comparable(sql_steps) == _comparable(ref_steps)
