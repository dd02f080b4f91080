"""Spans given up, counted, and reported to the server as a small `firstwatch.sdk.report` span."""

from __future__ import annotations

import threading
import time
from typing import Final

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, TraceFlags

REPORT_SPAN_NAME: Final = "firstwatch.sdk.report"
DROPPED_SPANS: Final = "firstwatch.sdk.dropped_spans"
DROPPED_QUEUE_FULL: Final = "firstwatch.sdk.dropped_spans.queue_full"
DROPPED_EXPORT_FAILED: Final = "firstwatch.sdk.dropped_spans.export_failed"

_ids = RandomIdGenerator()


class DropCounter:
    """Cumulative counts of spans given up, by reason; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.queue_full = 0
        self.export_failed = 0

    def add_queue_full(self, spans: int) -> None:
        """Count spans refused because the queue had reached its memory bound."""
        with self._lock:
            self.queue_full += spans

    def add_export_failed(self, spans: int) -> None:
        """Count spans whose export failed for good (retries and time exhausted)."""
        with self._lock:
            self.export_failed += spans

    @property
    def total(self) -> int:
        """All spans given up so far."""
        return self.queue_full + self.export_failed


def report_span(
    drops: DropCounter, resource: Resource, scope: InstrumentationScope
) -> ReadableSpan:
    """A finished span carrying the cumulative drop counts, in a trace of its own."""
    now = time.time_ns()
    context = SpanContext(
        trace_id=_ids.generate_trace_id(),
        span_id=_ids.generate_span_id(),
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with drops._lock:
        attributes = {
            DROPPED_SPANS: drops.queue_full + drops.export_failed,
            DROPPED_QUEUE_FULL: drops.queue_full,
            DROPPED_EXPORT_FAILED: drops.export_failed,
        }
    return ReadableSpan(
        name=REPORT_SPAN_NAME,
        context=context,
        resource=resource,
        attributes=attributes,
        start_time=now,
        end_time=now,
        instrumentation_scope=scope,
    )
