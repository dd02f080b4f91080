"""Retries, first-attempt latency, failed checks and the class of a failed run."""

from __future__ import annotations

from typing import Any

from firstwatch.ingest.checks import decode_checks, encode_checks, failed_checks
from reference_materialize import (
    first_attempt_ms,
    retried_attempts,
    retry_count,
    retry_wait_ms,
    run_checks,
    run_error,
)

MS = 1_000_000


def span(sid: str, start_ms: float, end_ms: float, **over: Any) -> dict[str, Any]:
    row = {
        "span_id": sid,
        "parent_span_id": "step",
        "name": "POST",
        "kind": "http",
        "dependency": "llm-api",
        "start_ns": int(start_ms * MS),
        "end_ns": int(end_ms * MS),
        "duration_ms": end_ms - start_ms,
        "status": "ok",
        "error_class": None,
        "retry_count": None,
        "retry_wait_ms": None,
    }
    row.update(over)
    return row


RUN = {
    "span_id": "run",
    "duration_ms": 10_000.0,
    "retry_count": None,
    "retry_wait_ms": None,
    "error_class": None,
}

# A call rate-limited twice (waits of 3 s and 4 s), then answered.
RETRIED = [
    span("a1", 0, 200, status="error", error_class="rate_limited", http_status=429),
    span(
        "a2",
        3200,
        3400,
        status="error",
        error_class="rate_limited",
        retry_count=1,
        retry_wait_ms=3000.0,
    ),
    span("a3", 7400, 9400, retry_count=2, retry_wait_ms=4000.0),
]


def test_resent_calls_count_once_each_and_waits_add_up() -> None:
    assert retried_attempts(RETRIED) == {"a1", "a2"}
    assert retry_count(RUN, RETRIED) == 2  # not 1 + 2: resend counts are attempt numbers
    assert retry_wait_ms(RUN, RETRIED) == 7000.0


def test_first_attempt_removes_waits_and_retried_failures() -> None:
    # 10 s end to end = 7 s of waits + 2 x 200 ms of failed attempts + 2.6 s of real work.
    assert first_attempt_ms(RUN, RETRIED) == 10_000.0 - 7000.0 - 400.0
    assert first_attempt_ms(RUN, []) == 10_000.0


def test_explicit_retry_counts_on_steps_add() -> None:
    members = [span("s", 0, 10, kind="step", retry_count=3, retry_wait_ms=50.0)]
    assert retry_count(RUN, members) == 3
    assert retry_wait_ms(RUN, members) == 50.0


def test_failed_call_not_retried_is_not_hidden() -> None:
    members = [span("x", 0, 100, status="error", error_class="timeout")]
    assert retried_attempts(members) == set()
    assert run_error(RUN, members)[0] == "timeout"


def test_run_class_skips_failures_it_survived() -> None:
    # Rate-limited, retried, then the retried call timed out: the run failed of a timeout.
    members = [
        span("b1", 0, 100, status="error", error_class="rate_limited"),
        span("b2", 1100, 31_100, status="error", error_class="timeout", retry_count=1),
    ]
    assert run_error(RUN, members)[0] == "timeout"
    # Only survived failures: their class is still better than "unknown".
    survived = [
        span("c1", 0, 100, status="error", error_class="rate_limited"),
        span("c2", 200, 300),
    ]
    assert run_error({**RUN, "error_class": "unknown"}, survived)[0] == "rate_limited"


def test_unknown_is_the_last_resort() -> None:
    members = [
        span("u", 0, 10, kind="step", status="error", error_class="unknown"),
        span("v", 20, 30, kind="step", status="error", error_class="agent_bug"),
    ]
    assert run_error(RUN, members)[0] == "agent_bug"
    assert run_error({**RUN, "error_class": "unknown"}, []) == ("unknown", None)


def test_failed_checks() -> None:
    attrs = {
        "firstwatch.check.has_parties": "pass",
        "firstwatch.check.date_is_iso": "fail",
        "firstwatch.check.date_is_iso.reason": "fail",  # a reason is not a check
        "firstwatch.check.amount_positive": "FAIL",
        "other": "fail",
    }
    assert failed_checks(attrs) == ["amount_positive", "date_is_iso"]
    assert decode_checks(encode_checks(["a", "b"])) == ["a", "b"]
    assert encode_checks([]) is None and decode_checks(None) == []


def test_run_error_carries_the_fingerprint_of_its_step() -> None:
    members = [span("f", 0, 10, status="error", error_class="timeout", error_fingerprint="abc")]
    assert run_error(RUN, members) == ("timeout", "abc")


def test_run_checks_gather_the_run_and_its_steps() -> None:
    run = {**RUN, "failed_checks": '["date_is_iso"]'}
    members = [span("s", 0, 1, failed_checks='["amount_positive", "date_is_iso"]'), span("t", 1, 2)]
    assert run_checks(run, members) == ["amount_positive", "date_is_iso"]
    assert run_checks(RUN, []) == []
