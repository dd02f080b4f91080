"""What the run and step objects need from a configured SDK: a tracer, identity, time, inputs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from opentelemetry.trace import Tracer

from firstwatch.sdk.clock import Clock, Timestamp, TimeWarp, to_ns
from firstwatch.sdk.guard import internal_error

log = logging.getLogger("firstwatch.sdk")

Profiler: TypeAlias = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Runtime:
    """The live configuration that runs and steps record through."""

    tracer: Tracer
    agent: str | None
    version: str | None
    send_inputs: bool
    clock: Clock | None
    profiler: Profiler | None
    warp: TimeWarp | None = None

    def time_ns(self, explicit: Timestamp | None) -> int | None:
        """An explicit time, else the clock's, else None (OpenTelemetry takes the wall clock)."""
        if explicit is not None:
            try:
                return to_ns(explicit)
            except (TypeError, ValueError, OverflowError):
                log.warning("firstwatch: ignoring a bad timestamp %r", explicit)
        if self.clock is not None:
            try:
                return to_ns(self.clock())
            except Exception:
                internal_error("clock")
        return None
