"""Export over real OTLP/HTTP to a local receiver: the wire, backoff, give-up and no server."""

from __future__ import annotations

import socket

import pytest

import firstwatch
from firstwatch import semconv
from firstwatch.sdk import lifecycle
from firstwatch.sdk.drops import DROPPED_EXPORT_FAILED, DROPPED_SPANS, REPORT_SPAN_NAME
from unit.sdk.sdk_receiver import OtlpReceiver


def test_spans_arrive_as_otlp_protobuf_with_the_key(receiver: OtlpReceiver) -> None:
    firstwatch.init(
        agent="extractor",
        version="1.1",
        environment="production",
        endpoint=receiver.url,
        api_key="fw_ingest_secret",
        instrument_http=False,
        profiler=lambda value, **_: {"chars": len(str(value))},
    )
    with firstwatch.run(input="hello") as run:
        with run.step("extract", kind="tool") as step:
            step.output(date="2024-03-01")
        run.check("has_date", True)
        run.resource("db/contracts", "write")
    assert firstwatch.flush(timeout=20)
    assert receiver.wait_for(lambda: len(receiver.received()) == 3)

    attempt = receiver.attempts[0]
    assert attempt.path == "/v1/traces"
    assert attempt.headers["authorization"] == "Bearer fw_ingest_secret"
    assert attempt.headers["content-type"] == "application/x-protobuf"

    run_span = receiver.received("extractor")[0]
    assert run_span.resource[semconv.SERVICE_NAME] == "extractor"
    assert run_span.resource[semconv.SERVICE_VERSION] == "1.1"
    assert run_span.resource[semconv.DEPLOYMENT_ENVIRONMENT_NAME] == "production"
    assert run_span.resource[semconv.AGENT] == "extractor"
    assert run_span.attributes[semconv.KIND] == "run"
    assert run_span.attributes["firstwatch.input.chars"] == 5
    assert run_span.attributes["firstwatch.check.has_date"] == "pass"
    step = receiver.received("extract")[0]
    assert step.parent_span_id == run_span.span_id
    assert step.attributes[semconv.KIND] == "tool"
    assert step.attributes["firstwatch.output.shape.date"] == "str:9999-99-99"
    access = receiver.received("write db/contracts")[0]
    assert access.attributes[semconv.RESOURCE_KEY] == "db/contracts"
    assert not receiver.received(REPORT_SPAN_NAME)


def test_no_key_no_authorization_header(receiver: OtlpReceiver) -> None:
    firstwatch.init(agent="a", endpoint=receiver.url, instrument_http=False)
    with firstwatch.run():
        pass
    assert firstwatch.flush(timeout=20)
    assert receiver.wait_for(lambda: len(receiver.received()) == 1)
    assert "authorization" not in receiver.attempts[0].headers


@pytest.mark.timeout(60)
def test_503_retry_after_is_honoured(receiver: OtlpReceiver) -> None:
    receiver.script = [(503, {"Retry-After": "2"})]
    firstwatch.init(agent="a", endpoint=receiver.url, instrument_http=False)
    with firstwatch.run():
        pass
    assert firstwatch.flush(timeout=30)
    assert receiver.wait_for(lambda: len(receiver.received("a")) == 1)
    first, second = receiver.attempts[:2]
    assert (first.status, second.status) == (503, 200)
    # Our own backoff would have come back within 1.2 s; the server asked for 2 s.
    assert second.at - first.at >= 1.9


@pytest.mark.timeout(60)
def test_429_is_retried(receiver: OtlpReceiver) -> None:
    receiver.script = [(429, {"Retry-After": "0"}), (429, {"Retry-After": "0"})]
    firstwatch.init(agent="a", endpoint=receiver.url, instrument_http=False)
    with firstwatch.run():
        pass
    assert firstwatch.flush(timeout=30)
    assert receiver.wait_for(lambda: len(receiver.received("a")) == 1)
    assert [a.status for a in receiver.attempts] == [429, 429, 200]
    assert not receiver.received(REPORT_SPAN_NAME)


@pytest.mark.timeout(60)
def test_a_batch_given_up_is_counted_and_reported(receiver: OtlpReceiver) -> None:
    receiver.script = [(503, {"Retry-After": "1"})] * 2
    firstwatch.init(agent="a", endpoint=receiver.url, instrument_http=False, export_timeout=1.5)
    with firstwatch.run("lost") as run, run.step("lost step"):
        pass
    # The flush gives the batch up after 1.5 s, then sends the drop report on its own.
    assert firstwatch.flush(timeout=30)
    assert [s.name for s in receiver.received()] == [REPORT_SPAN_NAME]
    report = receiver.received(REPORT_SPAN_NAME)[0]
    assert report.attributes[DROPPED_SPANS] == 2
    assert report.attributes[DROPPED_EXPORT_FAILED] == 2
    assert report.resource[semconv.SERVICE_NAME] == "a"
    assert report.parent_span_id == ""
    # Later spans flow again, and no report is repeated while nothing new was lost.
    with firstwatch.run("kept"):
        pass
    assert firstwatch.flush(timeout=30)
    assert receiver.wait_for(lambda: len(receiver.received()) == 2)
    assert [s.name for s in receiver.received()] == [REPORT_SPAN_NAME, "kept"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(30)
def test_no_server_listening_costs_the_agent_nothing() -> None:
    firstwatch.init(agent="a", endpoint=f"http://127.0.0.1:{_closed_port()}")

    @firstwatch.agent(input_arg="text")
    def answer(text: str) -> str:
        with firstwatch.step("think") as step:
            step.output(answer=text.upper())
        return text.upper()

    results = [answer(f"question {i}") for i in range(500)]
    assert results[-1] == "QUESTION 499"
    pipeline = lifecycle._pipeline
    assert pipeline is not None
    processor = pipeline.processor
    firstwatch.shutdown(timeout=1)
    # Nothing was delivered, and nothing was lost silently: every span is counted.
    assert processor.drops.total == 1000
