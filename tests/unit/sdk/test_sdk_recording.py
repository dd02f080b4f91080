"""Runs, steps, outputs, checks, resources, retries and errors, as the spans they become."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import firstwatch
from firstwatch import semconv


def init_memory(**kwargs: Any) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    firstwatch.init(exporter=exporter, instrument_http=False, **kwargs)
    return exporter


def finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    assert firstwatch.flush(timeout=10)
    return list(exporter.get_finished_spans())


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def attrs(span: ReadableSpan) -> Mapping[str, Any]:
    assert span.attributes is not None
    return span.attributes


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def test_a_run_with_steps_outputs_and_checks(memory: InMemorySpanExporter) -> None:
    with firstwatch.run(input="A short agreement between two parties.") as run:
        with run.step("extract") as step:
            step.output(effective_date="2024-03-01", total="$1,200.00")
            with step.step("call model", kind="llm"):
                pass
        run.output({"parties list": ["Acme", "Globex"]}, effective_date="03/01/2024")
        assert run.check("has_parties", ["Acme"], reason="two found") is True
        assert run.check("date_in_range", 0) is False

    spans = finished(memory)
    run_span, step_span, llm = (
        one(spans, "extractor"),
        one(spans, "extract"),
        one(spans, "call model"),
    )
    a = attrs(run_span)
    assert a[semconv.KIND] == "run"
    assert a[semconv.AGENT] == "extractor"
    assert a[semconv.AGENT_VERSION] == "1.1"
    assert run_span.resource.attributes[semconv.SERVICE_NAME] == "extractor"
    assert run_span.resource.attributes[semconv.SERVICE_VERSION] == "1.1"
    assert run_span.resource.attributes[semconv.DEPLOYMENT_ENVIRONMENT_NAME] == "staging"
    assert a["firstwatch.output.effective_date"] == "03/01/2024"
    assert a["firstwatch.output.shape.effective_date"] == "str:99/99/9999"
    assert a["firstwatch.output.parties list"] == '["Acme", "Globex"]'
    assert a["firstwatch.output.shape.parties list"] == "list"
    assert a["firstwatch.check.has_parties"] == "pass"
    assert a["firstwatch.check.has_parties.reason"] == "two found"
    assert a["firstwatch.check.date_in_range"] == "fail"
    assert "firstwatch.check.date_in_range.reason" not in a

    s = attrs(step_span)
    assert s[semconv.KIND] == "step"
    assert s["firstwatch.output.shape.effective_date"] == "str:9999-99-99"
    assert s["firstwatch.output.shape.total"] == "str:$9,999.99"
    assert attrs(llm)[semconv.KIND] == "llm"
    assert parent_of(step_span) == span_id(run_span)
    assert parent_of(llm) == span_id(step_span)
    assert parent_of(run_span) is None


def test_output_previews_are_short(memory: InMemorySpanExporter) -> None:
    with firstwatch.run() as run:
        run.output(summary="x" * 10_000, count=3, ratio=0.25, flag=True, nothing=None)
    a = attrs(one(finished(memory), "extractor"))
    assert a["firstwatch.output.summary"] == "x" * 256
    assert a["firstwatch.output.shape.summary"] == "str:" + "a" * 64 + "…"
    assert a["firstwatch.output.count"] == "3"
    assert a["firstwatch.output.shape.count"] == "int:9"
    assert a["firstwatch.output.shape.ratio"] == "float:9.99"
    assert a["firstwatch.output.flag"] == "true"
    assert a["firstwatch.output.shape.flag"] == "bool"
    assert a["firstwatch.output.shape.nothing"] == "null"


def test_resources_instant_and_covering(memory: InMemorySpanExporter) -> None:
    with firstwatch.run() as run:
        run.resource("customers/42", "read")
        with run.resource("customers/42", "write") as access, access.step("inside"):
            pass
        run.resource("orders/7", "delete")

    spans = finished(memory)
    read, write = one(spans, "read customers/42"), one(spans, "write customers/42")
    run_span = one(spans, "extractor")
    for span, op in ((read, "read"), (write, "write")):
        a = attrs(span)
        assert a[semconv.KIND] == "resource"
        assert a[semconv.RESOURCE_KEY] == "customers/42"
        assert a[semconv.RESOURCE_OP] == op
        assert parent_of(span) == span_id(run_span)
    assert read.start_time == read.end_time
    assert parent_of(one(spans, "inside")) == span_id(write)
    # An unknown operation is recorded conservatively, as a write.
    assert attrs(one(spans, "write orders/7"))[semconv.RESOURCE_OP] == "write"


def test_retries_accumulate_on_the_current_span(memory: InMemorySpanExporter) -> None:
    with firstwatch.run() as run:
        with run.step("call"):
            firstwatch.retry(wait_ms=250)
            firstwatch.retry(wait_ms=500.5)
        run.retry(count=2)
    spans = finished(memory)
    call = attrs(one(spans, "call"))
    assert call[semconv.RETRY_COUNT] == 2
    assert call[semconv.RETRY_WAIT_MS] == 750.5
    assert attrs(one(spans, "extractor"))[semconv.RETRY_COUNT] == 2


class ExtractionFailed(Exception):
    pass


def test_exceptions_are_recorded_and_reraised_unchanged(memory: InMemorySpanExporter) -> None:
    original = ExtractionFailed("no text layer")
    with pytest.raises(ExtractionFailed) as raised, firstwatch.run() as run, run.step("extract"):
        raise original
    assert raised.value is original

    spans = finished(memory)
    for name in ("extract", "extractor"):
        span = one(spans, name)
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[semconv.ERROR_TYPE] == f"{__name__}.ExtractionFailed"
        exception = [e for e in span.events if e.name == "exception"]
        assert exception
        assert exception[0].attributes is not None
        assert exception[0].attributes["exception.message"] == "no text layer"

    with pytest.raises(KeyError), firstwatch.run("other"):
        _ = {"present": 1}["missing"]
    assert attrs(one(finished(memory), "other"))[semconv.ERROR_TYPE] == "KeyError"


def test_decorator_sync_and_async() -> None:
    seen: list[str] = []

    def profiler(value: object, **_: object) -> dict[str, object]:
        seen.append(str(value))
        return {"chars": len(str(value))}

    memory = init_memory(agent="extractor", profiler=profiler)

    @firstwatch.agent("contracts", version="2.0", input_arg="document")
    def extract(prefix: str, document: str) -> str:
        firstwatch.current_run().output(result=prefix + document)
        return prefix + document

    @firstwatch.agent
    async def summarise(text: str) -> int:
        with firstwatch.step("count"):
            await asyncio.sleep(0)
        return len(text)

    assert extract("x", document="hello") == "xhello"
    assert asyncio.run(summarise("abc")) == 3
    assert seen == ["hello"]

    spans = finished(memory)
    contracts = attrs(one(spans, "contracts"))
    assert contracts[semconv.AGENT] == "contracts"
    assert contracts[semconv.AGENT_VERSION] == "2.0"
    assert contracts["firstwatch.input.chars"] == 5
    assert contracts["firstwatch.output.result"] == "xhello"
    summary = one(spans, summarise.__qualname__)
    assert attrs(summary)[semconv.AGENT] == "extractor"
    assert parent_of(one(spans, "count")) == span_id(summary)


def test_runs_from_threads_keep_their_own_steps(memory: InMemorySpanExporter) -> None:
    def work(n: int) -> int:
        with firstwatch.run(f"agent-{n}") as run:
            for i in range(3):
                with run.step(f"step-{n}-{i}"):
                    pass
        return n

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(work, range(12))) == list(range(12))

    spans = finished(memory)
    for n in range(12):
        run_span = one(spans, f"agent-{n}")
        for i in range(3):
            step = one(spans, f"step-{n}-{i}")
            assert parent_of(step) == span_id(run_span)
            assert step.context is not None and run_span.context is not None
            assert step.context.trace_id == run_span.context.trace_id


def test_a_run_handed_to_another_thread(memory: InMemorySpanExporter) -> None:
    with firstwatch.run() as run:

        def worker() -> None:
            with run.step("in thread"):
                firstwatch.retry(wait_ms=1)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(10)
    spans = finished(memory)
    step = one(spans, "in thread")
    assert parent_of(step) == span_id(one(spans, "extractor"))
    assert attrs(step)[semconv.RETRY_COUNT] == 1


def test_runs_from_asyncio_tasks(memory: InMemorySpanExporter) -> None:
    async def agent_run(n: int) -> None:
        async with firstwatch.run(f"task-{n}") as run:
            for i in range(2):
                async with run.step(f"task-{n}-{i}"):
                    await asyncio.sleep(0)
                    with firstwatch.step(f"inner-{n}-{i}"):
                        await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(agent_run(n) for n in range(10)))

    asyncio.run(main())
    spans = finished(memory)
    for n in range(10):
        run_span = one(spans, f"task-{n}")
        for i in range(2):
            step = one(spans, f"task-{n}-{i}")
            assert parent_of(step) == span_id(run_span)
            assert parent_of(one(spans, f"inner-{n}-{i}")) == span_id(step)


def test_explicit_times_and_a_clock() -> None:
    now = [1_700_000_000.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    memory = init_memory(agent="sim", clock=clock)
    start = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    with firstwatch.run(start_time=start, end_time=start + dt.timedelta(seconds=90)) as run:
        with run.step("clocked"):
            pass
        with run.step("explicit", start_time=1_700_000_500, end_time=1_700_000_502.5):
            pass
    spans = finished(memory)
    run_span = one(spans, "sim")
    assert run_span.start_time == 1_709_294_400 * 10**9
    assert run_span.end_time == (1_709_294_400 + 90) * 10**9
    clocked = one(spans, "clocked")
    assert (clocked.start_time, clocked.end_time) == (1_700_000_001 * 10**9, 1_700_000_002 * 10**9)
    explicit = one(spans, "explicit")
    assert explicit.start_time == 1_700_000_500 * 10**9
    assert explicit.end_time == 1_700_000_502_500_000_000


def test_a_bad_timestamp_is_ignored(memory: InMemorySpanExporter) -> None:
    with firstwatch.run(start_time="yesterday") as run:  # type: ignore[arg-type]
        run.output(ok=True)
    assert attrs(one(finished(memory), "extractor"))["firstwatch.output.ok"] == "true"


def test_input_profiles_and_profile_errors() -> None:
    def broken(value: object, **_: object) -> dict[str, object]:
        raise RuntimeError("profiler bug")

    memory = init_memory(agent="a", profiler=broken)
    with firstwatch.run(input=b"%PDF-1.7"):
        pass
    a = attrs(one(finished(memory), "a"))
    assert a["firstwatch.input.profile_error"] == "RuntimeError: profiler bug"

    def features(value: object, **kwargs: object) -> dict[str, object]:
        return {"media_type": str(kwargs["media_type"]), "pages": 3, "bad": [1, 2]}

    memory = init_memory(agent="b", profiler=features)
    with firstwatch.run(input=b"...", filename="a.pdf", media_type="application/pdf"):
        pass
    b = attrs(one(finished(memory), "b"))
    assert b["firstwatch.input.media_type"] == "application/pdf"
    assert b["firstwatch.input.pages"] == 3
    assert "firstwatch.input.bad" not in b
    assert semconv.INPUT_VALUE not in b


def test_the_default_profiler_runs_or_says_why_not(memory: InMemorySpanExporter) -> None:
    with firstwatch.run(input="Some plain English text for the profiler."):
        pass
    a = attrs(one(finished(memory), "extractor"))
    features = [k for k in a if k.startswith(semconv.INPUT_PREFIX)]
    assert features, "neither features nor profile_error were recorded"
    assert semconv.INPUT_VALUE not in a


def test_raw_inputs_only_when_asked() -> None:
    memory = init_memory(agent="a", send_inputs=True, profiler=lambda v, **k: {})
    with firstwatch.run(input="the document text"):
        pass
    with firstwatch.run("json", input={"question": "why?"}):
        pass
    spans = finished(memory)
    assert attrs(one(spans, "a"))[semconv.INPUT_VALUE] == "the document text"
    assert attrs(one(spans, "json"))[semconv.INPUT_VALUE] == '{"question": "why?"}'


def test_steps_outside_a_run_record_nothing(memory: InMemorySpanExporter) -> None:
    with firstwatch.step("orphan") as step:
        step.output(x=1)
        assert not step.recording
    firstwatch.retry(wait_ms=5)
    assert not firstwatch.current_run().recording
    run = firstwatch.run()
    with run.step("not entered run"):
        pass
    assert finished(memory) == []


def test_unknown_step_kind_is_recorded_as_step(memory: InMemorySpanExporter) -> None:
    with firstwatch.run() as run, run.step("odd", kind="banana"):
        pass
    assert attrs(one(finished(memory), "odd"))[semconv.KIND] == "step"
