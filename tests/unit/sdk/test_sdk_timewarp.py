"""A time warp puts every span on a simulated timeline: runs, steps, resources and events."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import firstwatch
from firstwatch.sdk.timewarp import warped_ms

HOUR = 3_600 * 10**9


def test_every_span_and_event_is_warped() -> None:
    origin = time.time_ns()

    def slow_motion_two_days_ago(real_ns: int) -> int:
        return origin - 48 * HOUR + (real_ns - origin) * 100

    exporter = InMemorySpanExporter()
    firstwatch.init(
        agent="sim", exporter=exporter, instrument_http=False, time_warp=slow_motion_two_days_ago
    )
    with pytest.raises(ValueError), firstwatch.run() as run:
        with run.step("sleep"):
            time.sleep(0.02)
        with run.resource("crm:acct-1", "write"):
            pass
        raise ValueError("bad date")
    after = time.time_ns()
    assert firstwatch.flush(timeout=10)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"sim", "sleep", "write crm:acct-1"}
    low, high = origin - 48 * HOUR, slow_motion_two_days_ago(after)
    for span in spans.values():
        assert span.start_time is not None and span.end_time is not None
        assert low <= span.start_time <= span.end_time <= high
    sleep = spans["sleep"]
    assert sleep.end_time is not None and sleep.start_time is not None
    # 20 ms of real sleep last two simulated seconds at least.
    assert sleep.end_time - sleep.start_time >= 2 * 10**9
    run_span = spans["sim"]
    (event,) = run_span.events
    assert event.name == "exception"
    assert run_span.start_time is not None and run_span.end_time is not None
    assert run_span.start_time <= event.timestamp <= run_span.end_time
    assert sleep.end_time <= spans["write crm:acct-1"].start_time


def test_a_failing_warp_leaves_real_times() -> None:
    def broken(real_ns: int) -> int:
        raise OverflowError("no")

    exporter = InMemorySpanExporter()
    before = time.time_ns()
    firstwatch.init(agent="sim", exporter=exporter, instrument_http=False, time_warp=broken)
    with firstwatch.run():
        pass
    assert firstwatch.flush(timeout=10)
    (span,) = exporter.get_finished_spans()
    assert span.start_time is not None and before <= span.start_time <= time.time_ns()


def test_warped_ms() -> None:
    assert warped_ms(None, 1_000_000, 3_000_000) == 2.0
    assert warped_ms(lambda ns: ns * 5, 1_000_000, 3_000_000) == 10.0
    assert warped_ms(None, 3_000_000, 1_000_000) == 0.0
