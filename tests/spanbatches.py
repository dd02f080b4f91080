"""Build real SDK spans in batches with known ids, for export through the real OTLP exporter."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def make_batches(
    count: int, traces_per_batch: int = 5, steps_per_trace: int = 9, payload_chars: int = 200
) -> list[Sequence[ReadableSpan]]:
    """`count` batches; each holds whole traces (one run and its steps)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "durability", "deployment.environment.name": "production"}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("durability")
    filler = "x" * payload_chars
    batches: list[Sequence[ReadableSpan]] = []
    for _ in range(count):
        memory.clear()
        for _ in range(traces_per_batch):
            with tracer.start_as_current_span(
                "run", attributes={"firstwatch.kind": "run", "firstwatch.agent": "durable"}
            ):
                for step in range(steps_per_trace):
                    with tracer.start_as_current_span(
                        f"step-{step}", attributes={"firstwatch.kind": "step", "payload": filler}
                    ):
                        pass
        batches.append(memory.get_finished_spans())
    provider.shutdown()
    return batches


def span_keys(batch: Sequence[ReadableSpan]) -> set[tuple[str, str]]:
    """(trace_id, span_id) hex pairs of a batch."""
    keys = set()
    for span in batch:
        ctx = span.get_span_context()
        assert ctx is not None
        keys.add((format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")))
    return keys
