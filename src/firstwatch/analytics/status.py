"""One word per agent — healthy, degraded, failing, silent — and the reason in a sentence.

Pure: the caller gathers the window's counts and the agent's usual gap between runs.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["healthy", "degraded", "failing", "silent"]

SEVERITY_ORDER: dict[Status, int] = {"healthy": 0, "degraded": 1, "silent": 2, "failing": 3}


@dataclass(frozen=True)
class Thresholds:
    """When an agent stops being healthy (each is a server setting)."""

    degraded_error_rate: float = 0.05
    failing_error_rate: float = 0.25
    degraded_silent_rate: float = 0.05
    min_runs: int = 5
    silence_gaps: float = 10.0
    min_silence_s: float = 300.0


@dataclass(frozen=True)
class AgentWindow:
    """What happened to one agent in the window, and its history."""

    runs: int
    errors: int
    silent_failures: int
    error_classes: Mapping[str, int] = field(default_factory=dict)
    last_run_ns: int | None = None
    usual_gap_s: float | None = None
    history_runs: int = 0


def _pct(value: float) -> str:
    return f"{value:.0%}" if value >= 0.01 else f"{value:.1%}"


def _top(classes: Mapping[str, int]) -> str:
    if not classes:
        return ""
    name, count = max(classes.items(), key=lambda kv: (kv[1], kv[0]))
    return f", mostly {name} ({count})"


def agent_status(
    window: AgentWindow, now_ns: int, limits: Thresholds = Thresholds()
) -> tuple[Status, str]:
    """The agent's status and why.

    Silent: it usually runs every `usual_gap_s` but has been quiet for `silence_gaps` times that
    (and at least `min_silence_s`). Failing / degraded: the window's error rate (status error) or
    silent-failure rate (ok runs that failed an output check) crossed its threshold, judged only
    with at least `min_runs` runs.
    """
    if (
        window.last_run_ns is not None
        and window.usual_gap_s
        and window.history_runs >= limits.min_runs
    ):
        quiet_s = (now_ns - window.last_run_ns) / 1e9
        allowed = max(limits.min_silence_s, limits.silence_gaps * window.usual_gap_s)
        if quiet_s > allowed:
            return "silent", (
                f"no runs for {_duration(quiet_s)}; it usually runs every "
                f"{_duration(window.usual_gap_s)}"
            )
    if window.runs == 0:
        return "healthy", "no runs in this window"
    error_rate = window.errors / window.runs
    silent_rate = window.silent_failures / window.runs
    if window.runs < limits.min_runs:
        return "healthy", f"only {window.runs} run(s) in this window: too few to judge"
    if error_rate >= limits.failing_error_rate:
        return "failing", (
            f"{_pct(error_rate)} of {window.runs} runs failed{_top(window.error_classes)}"
        )
    if error_rate >= limits.degraded_error_rate:
        return "degraded", (
            f"{_pct(error_rate)} of {window.runs} runs failed{_top(window.error_classes)}"
        )
    if silent_rate >= limits.degraded_silent_rate:
        return "degraded", (
            f"{_pct(silent_rate)} of {window.runs} runs ended OK but failed an output check"
        )
    return "healthy", f"{window.runs} runs, {_pct(error_rate)} failed"


def usual_gap_s(start_ns: list[int]) -> float | None:
    """The median gap between consecutive runs, in seconds (None with fewer than 2 runs)."""
    if len(start_ns) < 2:
        return None
    ordered = sorted(start_ns)
    median = statistics.median(b - a for a, b in itertools.pairwise(ordered))
    return max(median / 1e9, 1e-3)


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
