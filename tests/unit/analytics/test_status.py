"""Agent status: one word and a reason."""

from __future__ import annotations

from firstwatch.analytics.status import AgentWindow, Thresholds, agent_status, usual_gap_s

NOW = 1_800_000_000 * 10**9
S = 10**9


def test_healthy_degraded_failing_by_error_rate() -> None:
    assert agent_status(AgentWindow(runs=100, errors=1, silent_failures=0), NOW)[0] == "healthy"
    status, reason = agent_status(
        AgentWindow(
            runs=100, errors=10, silent_failures=0, error_classes={"timeout": 8, "auth": 2}
        ),
        NOW,
    )
    assert status == "degraded"
    assert reason == "10% of 100 runs failed, mostly timeout (8)"
    status, reason = agent_status(
        AgentWindow(runs=40, errors=30, silent_failures=0, error_classes={"rate_limited": 30}), NOW
    )
    assert status == "failing" and "rate_limited (30)" in reason


def test_silent_failures_degrade_without_errors() -> None:
    status, reason = agent_status(AgentWindow(runs=100, errors=0, silent_failures=20), NOW)
    assert status == "degraded"
    assert "failed an output check" in reason


def test_too_few_runs_are_not_judged() -> None:
    status, reason = agent_status(AgentWindow(runs=3, errors=3, silent_failures=0), NOW)
    assert status == "healthy" and "too few" in reason


def _quiet(for_s: int, usual_gap_s: float, history_runs: int) -> AgentWindow:
    """No runs in the window; the last one `for_s` seconds ago."""
    return AgentWindow(
        runs=0,
        errors=0,
        silent_failures=0,
        last_run_ns=NOW - for_s * S,
        usual_gap_s=usual_gap_s,
        history_runs=history_runs,
    )


def test_silent_when_quiet_for_many_usual_gaps() -> None:
    status, reason = agent_status(_quiet(3600, usual_gap_s=60.0, history_runs=500), NOW)
    assert status == "silent"
    assert reason == "no runs for 60 min; it usually runs every 60 s"
    # Quiet, but within ten usual gaps (and the minimum silence): not silent.
    calm = _quiet(200, usual_gap_s=60.0, history_runs=500)
    assert agent_status(calm, NOW)[0] == "healthy"
    # A rare agent (one run a day) quiet for an hour is not silent.
    rare = _quiet(3600, usual_gap_s=86400.0, history_runs=30)
    assert agent_status(rare, NOW)[0] == "healthy"


def test_thresholds_are_settings() -> None:
    window = AgentWindow(runs=100, errors=10, silent_failures=0)
    assert agent_status(window, NOW, Thresholds(degraded_error_rate=0.2))[0] == "healthy"


def test_usual_gap_is_the_median_gap() -> None:
    assert usual_gap_s([]) is None
    assert usual_gap_s([5 * S]) is None
    assert usual_gap_s([0, 10 * S, 20 * S, 1000 * S]) == 10.0
    assert usual_gap_s([0, 10 * S, 30 * S]) == 15.0


def test_a_gap_under_a_second_reads_in_milliseconds() -> None:
    # Simulated history (the demo's time warp) can run an agent many times a second.
    status, reason = agent_status(_quiet(3600, usual_gap_s=0.25, history_runs=500), NOW)
    assert status == "silent"
    assert reason == "no runs for 60 min; it usually runs every 250 ms"
