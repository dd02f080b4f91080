"""Wrap an exporter: count the spans it fails to deliver and report the drop counts.

Retries, backoff and `Retry-After` (503 and 429) are the OTLP/HTTP exporter's own, bounded by its
timeout; when it gives up, its batch is counted as dropped here. Whenever the cumulative count has
grown since the last delivered report, a `firstwatch.sdk.report` span rides with the next batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from opentelemetry import context as context_api
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from firstwatch.sdk.drops import DropCounter, report_span
from firstwatch.sdk.guard import internal_error


class ReportingExporter(SpanExporter):
    """An exporter that counts failed batches as dropped and reports drop counts."""

    def __init__(
        self,
        inner: SpanExporter,
        drops: DropCounter,
        resource: Resource,
        scope: InstrumentationScope,
    ) -> None:
        self.inner = inner
        self.drops = drops
        self._resource = resource
        self._scope = scope
        self._reported = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export a batch, with a drop report appended when there is news to report."""
        batch = list(spans)
        total = self.drops.total
        with self._lock:
            reporting = total > self._reported
        if reporting:
            batch.append(report_span(self.drops, self._resource, self._scope))
        if not batch:
            return SpanExportResult.SUCCESS
        try:
            result = self.inner.export(batch)
        except Exception:
            internal_error("export")
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            if reporting:
                with self._lock:
                    self._reported = max(self._reported, total)
        else:
            self.drops.add_export_failed(len(spans))
        return result

    def send_report(self) -> bool:
        """Send a drop report now if the counts grew since the last one; True if none is owed."""
        if self.drops.total <= self._reported:
            return True
        token = context_api.attach(context_api.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            return self.export([]) is SpanExportResult.SUCCESS
        finally:
            context_api.detach(token)

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Shut the wrapped exporter down (which ends any retry wait in progress)."""
        try:
            self.inner.shutdown()
        except Exception:
            internal_error("exporter shutdown")

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered here."""
        return self.inner.force_flush(timeout_millis)
