"""`since` / `until` parameters: RFC 3339 or relative (`24h`, `15m`, `7d`)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str | None, *, now_ns: int | None = None) -> int | None:
    """Nanoseconds since the epoch for a `since`/`until` value; ValueError when unreadable."""
    if text is None or text == "":
        return None
    now = time.time_ns() if now_ns is None else now_ns
    match = _RELATIVE.match(text.strip().lower())
    if match:
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
        return now - int(seconds * 1e9)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"cannot read time {text!r}: use RFC 3339 (2026-11-26T10:00:00Z) or a relative "
            "age such as 30m, 24h, 7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1e9)


def iso(ns: int | None) -> str | None:
    """RFC 3339 (UTC, milliseconds) for nanoseconds since the epoch."""
    if ns is None:
        return None
    return (
        datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
