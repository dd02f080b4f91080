"""Explicit timestamps and an injectable clock, so a simulation or a replay can set the time.

A timestamp is seconds since the Unix epoch (int or float) or a `datetime` (a naive one is taken
as UTC). A clock is a callable returning such a timestamp, like `time.time`. A time warp maps a
real time to the time recorded, both in nanoseconds since the epoch (`firstwatch.sdk.timewarp`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import TypeAlias

Timestamp: TypeAlias = "float | int | _dt.datetime"
Clock: TypeAlias = Callable[[], "float | int | _dt.datetime"]
TimeWarp: TypeAlias = Callable[[int], int]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def to_ns(value: Timestamp) -> int:
    """Nanoseconds since the epoch of a timestamp.

    Args:
        value: Seconds since the epoch, or a datetime (naive means UTC).

    Returns:
        Integer nanoseconds, as OpenTelemetry wants them.

    Raises:
        TypeError: For anything that is not a timestamp (callers catch and log it).
    """
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=_dt.timezone.utc)
        delta = aware - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a timestamp: {type(value).__name__}")
    if isinstance(value, int):
        return value * 1_000_000_000
    return round(value * 1e9)
