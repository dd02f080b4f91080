"""The SDK's drop report is read, not stored, and counted once per process."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from firstwatch.ingest.mapping import map_request
from firstwatch.ingest.pipeline import IngestStats


def report(instance: str, dropped: int, n: int) -> ExportTraceServiceRequest:
    span = Span(
        trace_id=bytes([n]) * 16,
        span_id=bytes([n]) * 8,
        name="firstwatch.sdk.report",
        start_time_unix_nano=1_800_000_000_000_000_000,
        end_time_unix_nano=1_800_000_000_000_000_001,
    )
    span.attributes.append(
        KeyValue(key="firstwatch.sdk.dropped_spans", value=AnyValue(int_value=dropped))
    )
    resource = Resource(
        attributes=[
            KeyValue(key="service.name", value=AnyValue(string_value="agent")),
            KeyValue(key="service.instance.id", value=AnyValue(string_value=instance)),
        ]
    )
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )


def test_cumulative_reports_count_the_latest_value_per_process() -> None:
    stats = IngestStats()
    for instance, dropped, n in (("a", 5, 1), ("a", 12, 2), ("b", 3, 3), ("a", 12, 4)):
        batch = map_request(report(instance, dropped, n), "default")
        assert batch.accepted == 0 and batch.rejected == 0  # read, not stored
        stats.add(batch)
    assert stats.sdk_dropped_spans == 12 + 3
