"""The queue: a default burst loses nothing; a larger one drops, counts and stays bounded."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Tracer

import firstwatch
from firstwatch.sdk import lifecycle
from firstwatch.sdk.drops import DROPPED_QUEUE_FULL, DROPPED_SPANS, REPORT_SPAN_NAME
from firstwatch.sdk.processor import BoundedBatchSpanProcessor
from unit.sdk.sdk_receiver import OtlpReceiver


def burst(runs: int, steps_per_run: int) -> None:
    for i in range(runs):
        with firstwatch.run(input=None) as run:
            for j in range(steps_per_run):
                with run.step("step") as step:
                    step.output(n=j)
            run.check("ok", i % 2 == 0)


@pytest.mark.timeout(120)
def test_a_20000_span_burst_with_default_settings_loses_nothing(receiver: OtlpReceiver) -> None:
    firstwatch.init(agent="burst", endpoint=receiver.url, instrument_http=False)
    burst(runs=1_000, steps_per_run=19)
    assert firstwatch.flush(timeout=90)
    assert receiver.wait_for(lambda: len(receiver.received()) >= 20_000, timeout=60)
    spans = receiver.received()
    assert len(spans) == 20_000
    assert not receiver.received(REPORT_SPAN_NAME)
    pipeline = lifecycle._pipeline
    assert pipeline is not None
    assert pipeline.processor.drops.total == 0


@pytest.mark.timeout(120)
def test_a_burst_beyond_the_bound_drops_counts_and_stays_bounded(receiver: OtlpReceiver) -> None:
    bound_mb = 0.5
    bound = int(bound_mb * 1024 * 1024)
    receiver.gate.clear()  # the server stalls: nothing leaves the process during the burst
    firstwatch.init(agent="burst", endpoint=receiver.url, instrument_http=False, queue_mb=bound_mb)
    pipeline = lifecycle._pipeline
    assert pipeline is not None
    processor = pipeline.processor

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        burst(runs=200, steps_per_run=14)  # 3,000 spans, about six times the bound
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert processor.drops.total > 0
    assert processor.budget.used <= bound
    assert held <= bound, f"{held} bytes held for a {bound}-byte bound"

    receiver.gate.set()
    assert firstwatch.flush(timeout=60)
    delivered = [s for s in receiver.received() if s.name != REPORT_SPAN_NAME]
    reports = receiver.received(REPORT_SPAN_NAME)
    assert reports, "the drops were not reported"
    last = max(int(r.attributes[DROPPED_SPANS]) for r in reports)
    # Nothing is lost silently: what arrived plus what was reported dropped is the whole burst.
    assert len(delivered) + last == 3_000
    assert last == processor.drops.total == processor.drops.queue_full
    assert max(int(r.attributes[DROPPED_QUEUE_FULL]) for r in reports) == last


def _make(tracer: Tracer, shape: str, i: int) -> None:
    with tracer.start_as_current_span(f"span-{shape}") as span:
        if shape == "attributes":
            for k in range(12):
                span.set_attribute(f"firstwatch.output.field_{k}", f"value {i} {k}")
        elif shape == "long":
            span.set_attribute("input.value", "lorem ipsum " * 500 + str(i))
        elif shape == "unicode":
            span.set_attribute("firstwatch.output.name", "Zoë Ðoğan 東京 " * 20 + str(i))
        elif shape == "numbers":
            for k in range(8):
                span.set_attribute(f"n{k}", i * k + 0.5)
            span.set_attribute("list", [f"item{i}", "other", "third"])
        elif shape == "error":
            try:
                raise ValueError(f"bad value {i}")
            except ValueError as exc:
                span.record_exception(exc)


class Stalled(SpanExporter):
    """An exporter stuck on a network that does not answer, until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(60)
        return SpanExportResult.SUCCESS


@pytest.mark.parametrize("shape", ["bare", "attributes", "long", "unicode", "numbers", "error"])
def test_the_estimate_bounds_what_queued_spans_hold(shape: str) -> None:
    stalled = Stalled()
    processor = BoundedBatchSpanProcessor(
        stalled,
        max_queue_bytes=256 * 1024 * 1024,
        resource=Resource.create({}),
        scope=InstrumentationScope("test"),
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "x"}))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    try:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(1_000):  # the worker takes a batch and stalls; the rest wait
                _make(tracer, shape, i)
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert processor.budget.spans == 1_000
        estimated = processor.budget.used
        assert held <= estimated, f"{shape}: {held} bytes held, {estimated} estimated"
        # Generous, but not wildly so: the bound should still admit a useful number of spans.
        assert estimated <= 2.5 * held, f"{shape}: {held} bytes held, {estimated} estimated"
    finally:
        stalled.release.set()
        processor.shutdown(timeout_millis=10_000)
    assert processor.budget.used == 0
