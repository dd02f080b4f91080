"""The state of one profile in progress: features so far, caps met, the clock."""

from __future__ import annotations

import time

from firstwatch.profiling._limits import Limits

FeatureValue = str | int | float | bool


class Work:
    """Collects features while a profile runs, so a failure keeps what was found."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.features: dict[str, FeatureValue] = {}
        self.caps: set[str] = set()
        self.started = time.perf_counter()
        self.deadline = self.started + limits.time_budget_s

    def cap(self, reason: str) -> None:
        """Record that the cap named ``reason`` stopped part of the work."""
        self.caps.add(reason)

    def out_of_time(self) -> bool:
        """Return True, and record the time cap, once the budget is spent."""
        if time.perf_counter() >= self.deadline:
            self.caps.add("time")
            return True
        return False

    def finish(self) -> dict[str, FeatureValue]:
        """Add the profile's own features and return the result."""
        self.features["profile.capped"] = bool(self.caps)
        if self.caps:
            self.features["profile.cap"] = ",".join(sorted(self.caps))
        self.features["profile.ms"] = round((time.perf_counter() - self.started) * 1000.0, 3)
        return self.features
