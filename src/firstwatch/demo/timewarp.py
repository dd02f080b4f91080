"""The demo's simulated time: a monotone piecewise-linear function of real time.

Each segment starts at a real moment and runs at a rate (simulated seconds per real second). The
runner adds segments as it goes: fast through quiet hours, near real time through the peak, and
a jump forward whenever nothing is in flight. Being monotone, the map keeps the order and the
overlaps of everything that happens, so concurrency, rate limits and races in the record are the
ones that really happened. The SDK applies it to every span (`firstwatch.init(time_warp=...)`)
and the fake services read it to turn simulated latencies into real sleeps.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    """From `real_ns` on, simulated time is `sim_ns + (real - real_ns) * rate`."""

    real_ns: int
    sim_ns: int
    rate: float

    def at(self, real_ns: int) -> int:
        """Simulated nanoseconds at a real time within this segment."""
        return self.sim_ns + round((real_ns - self.real_ns) * self.rate)


class Timeline:
    """Real time to simulated time; callable, so it is the SDK's time warp itself.

    Args:
        sim_ns: Simulated time (ns since the epoch) at the start.
        rate: Simulated seconds per real second at the start.
        real_ns: Real time of the start; now by default.
    """

    def __init__(self, sim_ns: int, rate: float, real_ns: int | None = None) -> None:
        start = Segment(time.time_ns() if real_ns is None else real_ns, sim_ns, float(rate))
        self._segments = [start]
        self._starts = [start.real_ns]
        self._lock = threading.Lock()

    def _segment(self, real_ns: int) -> Segment:
        # Segments are appended before their start is: an index found here is always valid.
        index = bisect.bisect_right(self._starts, real_ns) - 1
        return self._segments[max(0, index)]

    def __call__(self, real_ns: int) -> int:
        """Simulated nanoseconds at a real time."""
        return self._segment(real_ns).at(real_ns)

    def now(self) -> int:
        """Simulated nanoseconds now."""
        return self(time.time_ns())

    def rate(self) -> float:
        """Simulated seconds per real second now."""
        return self._segment(time.time_ns()).rate

    def real_seconds(self, sim_seconds: float) -> float:
        """Real seconds that last `sim_seconds` at the current rate."""
        return sim_seconds / self.rate()

    def jump(self, sim_ns: int, rate: float) -> Segment:
        """From now on, run at `rate` from `sim_ns`, or from now's simulated time if later.

        Time never goes back: a `sim_ns` in the simulated past only changes the rate.

        Returns:
            The new segment.
        """
        if rate <= 0:
            raise ValueError(f"rate must be > 0, not {rate}")
        with self._lock:
            real = max(time.time_ns(), self._starts[-1] + 1)
            segment = Segment(real, max(sim_ns, self(real)), float(rate))
            self._segments.append(segment)
            self._starts.append(real)
        return segment
