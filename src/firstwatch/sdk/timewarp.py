"""A time warp: every span is recorded on a simulated timeline, auto-instrumented ones too.

A warp maps a real time (nanoseconds since the epoch) to the time recorded. It is applied when a
span ends, to its start, its end and its events, whoever made the span (our runs and steps, the
httpx and requests instrumentations), and to the waits the SDK measures itself (resends). A
monotone warp keeps order and overlaps, so concurrency is recorded as it really happened while
a simulation replays days in minutes.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import Event, ReadableSpan

from firstwatch.sdk.clock import TimeWarp


def warp_span(span: ReadableSpan, warp: TimeWarp) -> None:
    """Move a finished span's times onto the warped timeline, in place.

    The span handed to a processor's `on_end` is a copy made for the processors, so its times
    can be replaced; its events are rebuilt rather than changed, as the live span shares them.

    Args:
        span: A finished span.
        warp: Real nanoseconds to recorded nanoseconds.
    """
    start = span._start_time
    end = span._end_time
    if start is not None:
        span._start_time = warp(start)
    if end is not None:
        span._end_time = warp(end)
    events = span._events
    if events:
        span._events = tuple(
            Event(
                event.name,
                event.attributes,
                timestamp=warp(event.timestamp) if event.timestamp is not None else None,
            )
            for event in events
        )


def warped_ms(warp: TimeWarp | None, start_ns: int, end_ns: int) -> float:
    """Milliseconds between two real times, on the warped timeline when there is a warp."""
    if warp is not None:
        start_ns, end_ns = warp(start_ns), warp(end_ns)
    return max(0.0, (end_ns - start_ns) / 1e6)
