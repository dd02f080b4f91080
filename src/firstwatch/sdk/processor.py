"""A batch span processor whose queue is bounded in bytes, dropping and counting, never blocking.

It is OpenTelemetry's `BatchSpanProcessor` (its queue, worker thread and batching) with a byte
budget in front: each finished span's memory is estimated, a span that would exceed the budget is
dropped and counted, and the budget is given back once its batch has been exported (or given up).
The estimate is deliberately generous: it bounds what the queued spans hold in memory, which is
several times their encoded size, so `queue_mb` bounds the process's memory, not only the wire.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any, Final

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from firstwatch.sdk.clock import TimeWarp
from firstwatch.sdk.drops import DropCounter
from firstwatch.sdk.exporter import ReportingExporter
from firstwatch.sdk.guard import internal_error
from firstwatch.sdk.timewarp import warp_span

log = logging.getLogger("firstwatch.sdk")

# Measured with tracemalloc on OpenTelemetry SDK 1.45: a finished span holds about 0.9 KB plus
# two bounded lists for its events and links (0.76 KB each, even empty: `slim` lets those go);
# each attribute adds a dict slot and two string objects; an event its own object and mapping. A
# test checks these against tracemalloc so that the bound stays a bound.
SPAN_BYTES: Final = 1_200
LIST_BYTES: Final = 1_000
ATTRIBUTE_BYTES: Final = 200
EVENT_BYTES: Final = 1_600
SCALAR_BYTES: Final = 32
DEFAULT_SCHEDULE_DELAY_MILLIS: Final = 1_000
DEFAULT_MAX_EXPORT_BATCH_SIZE: Final = 512


def _value_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else 4 * len(value)
    if isinstance(value, tuple | list):
        return 64 + sum(_value_bytes(item) + 8 for item in value)
    if isinstance(value, bytes):
        return len(value)
    return SCALAR_BYTES


def _attributes_bytes(attributes: Any) -> int:
    if not attributes:
        return 0
    # The SDK's BoundedAttributes keeps a plain dict: iterating it directly is several times
    # faster than through the Mapping interface, and this runs on the agent's thread.
    items = getattr(attributes, "_dict", attributes)
    if not isinstance(items, dict):
        items = dict(attributes)
    size = 0
    for key, value in items.items():
        if type(value) is str:
            size += ATTRIBUTE_BYTES + len(key) + (len(value) if value.isascii() else 4 * len(value))
        else:
            size += ATTRIBUTE_BYTES + len(key) + _value_bytes(value)
    return size


def estimate_bytes(span: ReadableSpan) -> int:
    """A generous estimate of the memory a finished span holds while it waits in the queue.

    It is also an upper bound of the span's encoded size, so the bound holds on the wire too.
    """
    # The SDK's own fields first (cheap on the agent's thread), the public properties otherwise.
    attributes = getattr(span, "_attributes", None)
    events = getattr(span, "_events", None)
    links = getattr(span, "_links", None)
    size = (
        SPAN_BYTES
        + len(span.name)
        + _attributes_bytes(attributes if attributes is not None else span.attributes)
    )
    if not isinstance(events, tuple):
        size += LIST_BYTES
    if not isinstance(links, tuple):
        size += LIST_BYTES
    queued_events = getattr(events, "_dq", None)
    if queued_events is None:
        queued_events = span.events if events is None else events
    for event in queued_events:
        size += EVENT_BYTES + len(event.name) + _attributes_bytes(event.attributes)
    queued_links = getattr(links, "_dq", None)
    if queued_links is None:
        queued_links = span.links if links is None else links
    for link in queued_links:
        size += EVENT_BYTES + _attributes_bytes(link.attributes)
    description = span.status.description
    if description:
        size += len(description)
    return size


def slim(span: ReadableSpan) -> None:
    """Let go of a finished span's empty event and link lists (1.5 KB of its 2.4 KB).

    The span handed to `on_end` is a fresh `ReadableSpan` made for the processors; an empty
    bounded list and an empty tuple export alike.
    """
    events = getattr(getattr(span, "_events", None), "_dq", None)
    if events is not None and not events:
        span._events = ()
    links = getattr(getattr(span, "_links", None), "_dq", None)
    if links is not None and not links:
        span._links = ()


class QueueBudget:
    """Bytes and spans currently queued or being exported, against a maximum."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.spans = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve `size` bytes for one span; False when the bound would be exceeded."""
        with self._lock:
            if self.used + size > self.max_bytes:
                return False
            self.used += size
            self.spans += 1
            return True

    def give_back(self, size: int, spans: int) -> None:
        """Release the reservation of spans that have left the process (or been given up)."""
        with self._lock:
            self.used = max(0, self.used - size)
            self.spans = max(0, self.spans - spans)

    def reset(self) -> None:
        """Forget everything (the queue was emptied, as in a forked child)."""
        with self._lock:
            self.used = 0
            self.spans = 0


class _Releasing(SpanExporter):
    """Gives the budget back for each batch once the wrapped exporter is done with it."""

    def __init__(self, inner: ReportingExporter, budget: QueueBudget) -> None:
        self.inner = inner
        self.budget = budget
        self._in_flight = 0
        self._idle = threading.Condition()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._idle:
            self._in_flight += 1
        try:
            return self.inner.export(spans)
        finally:
            size = 0
            for span in spans:
                try:
                    size += estimate_bytes(span)
                except Exception:
                    size += SPAN_BYTES + 2 * LIST_BYTES
            self.budget.give_back(size, len(spans))
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no export is in progress (at most `timeout` seconds)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        self.inner.shutdown(timeout_millis)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class BoundedBatchSpanProcessor(BatchSpanProcessor):
    """OpenTelemetry's batch processor with a queue bounded in bytes and drops counted.

    Args:
        exporter: Where batches go (the OTLP/HTTP exporter, or any `SpanExporter`).
        max_queue_bytes: Memory bound of the queue; beyond it spans are dropped and counted.
        resource: Resource of the drop report spans.
        scope: Instrumentation scope of the drop report spans.
        schedule_delay_millis: Longest wait before a partial batch is sent.
        max_export_batch_size: Spans per export request.
        time_warp: Moves every span's times onto a simulated timeline as it ends.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_bytes: int,
        resource: Resource,
        scope: InstrumentationScope,
        schedule_delay_millis: float = DEFAULT_SCHEDULE_DELAY_MILLIS,
        max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE,
        time_warp: TimeWarp | None = None,
    ) -> None:
        self.drops = DropCounter()
        self.time_warp = time_warp
        self.budget = QueueBudget(max_queue_bytes)
        self.reporter = ReportingExporter(exporter, self.drops, resource, scope)
        max_queue_size = max(2 * max_export_batch_size, max_queue_bytes // SPAN_BYTES + 1)
        self._releasing = _Releasing(self.reporter, self.budget)
        super().__init__(
            self._releasing,
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=max_export_batch_size,
        )
        self._warned = False
        if hasattr(os, "register_at_fork"):
            budget = weakref.ref(self.budget)

            def _reset_in_child() -> None:
                if (alive := budget()) is not None:
                    alive.reset()

            os.register_at_fork(after_in_child=_reset_in_child)

    def on_end(self, span: ReadableSpan) -> None:
        """Queue a finished span if it fits in the budget; otherwise drop and count it."""
        context = span.context
        if context is None or not context.trace_flags.sampled:
            return
        if self.time_warp is not None:
            try:
                warp_span(span, self.time_warp)
            except Exception:
                internal_error("time warp")
        try:
            slim(span)
            size = estimate_bytes(span)
        except Exception:
            internal_error("estimate")
            size = SPAN_BYTES + 2 * LIST_BYTES
        if not self.budget.take(size):
            self.drops.add_queue_full(1)
            if not self._warned:
                self._warned = True
                log.warning(
                    "firstwatch: span queue full (%d bytes); dropping spans, counted and reported",
                    self.budget.max_bytes,
                )
            return
        super().on_end(span)

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        """Export everything queued, then any drop report still owed."""
        flushed = super().force_flush(timeout_millis)
        try:
            reported = self.reporter.send_report()
        except Exception:
            internal_error("report")
            reported = False
        return flushed and reported

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Stop the worker within `timeout_millis`; what is left unsent is counted as dropped."""
        deadline = time.monotonic() + timeout_millis / 1000
        self._batch_processor.shutdown(timeout_millis=timeout_millis)
        # Spans still queued will never be sent: take them out (so no straggling flush sends
        # them to a closed exporter) and count them. A batch in flight counts itself.
        queue = getattr(self._batch_processor, "_queue", None)
        left = 0
        size = 0
        while queue:
            try:
                span = queue.pop()
            except IndexError:
                break
            left += 1
            try:
                size += estimate_bytes(span)
            except Exception:
                size += SPAN_BYTES + 2 * LIST_BYTES
        if left:
            self.drops.add_export_failed(left)
            self.budget.give_back(size, left)
        # The exporter is shut down, so a batch still in flight returns promptly and counts
        # itself: give it what is left of the time allowed, and a moment at least.
        self._releasing.wait_idle(min(1.0, max(0.2, deadline - time.monotonic())))
