"""Error facts read from spans as OpenTelemetry exports them, from real failing libraries."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator

import duckdb
import grpc
import httpx
import pydantic
import pytest
import requests
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from firstwatch import semconv
from firstwatch.errors import ErrorFacts, classify, facts_from_span


def exception_event(exception_type: str, message: str) -> tuple[str, dict[str, object]]:
    return (
        semconv.EXCEPTION_EVENT,
        {
            semconv.EXCEPTION_TYPE: exception_type,
            semconv.EXCEPTION_MESSAGE: message,
            semconv.EXCEPTION_STACKTRACE: "Traceback (most recent call last): ...",
            "exception.escaped": "False",
        },
    )


def test_the_exception_event_gives_type_and_message() -> None:
    facts = facts_from_span(
        {semconv.KIND: "llm", semconv.GEN_AI_SYSTEM: "openai"},
        [("retry", {"attempt": 1}), exception_event("openai.RateLimitError", "Error code: 429")],
        "RateLimitError: Error code: 429",
        None,
    )
    assert facts == ErrorFacts(
        exception_type="openai.RateLimitError",
        exception_message="Error code: 429",
        status_message="RateLimitError: Error code: 429",
        span_kind="llm",
    )


def test_the_last_exception_event_is_the_one_that_failed_the_span() -> None:
    facts = facts_from_span(
        {},
        [
            exception_event("httpx.ReadTimeout", "timed out"),
            exception_event("httpx.ReadTimeout", "timed out"),
            exception_event("openai.APITimeoutError", "Request timed out."),
        ],
        None,
        "llm",
    )
    assert facts.exception_type == "openai.APITimeoutError"
    assert facts.exception_message == "Request timed out."


def test_error_type_without_exception_event() -> None:
    facts = facts_from_span(
        {semconv.ERROR_TYPE: "<class 'openai.RateLimitError'>"}, [], None, "llm"
    )
    assert facts.exception_type is None
    assert facts.error_type == "<class 'openai.RateLimitError'>"
    assert classify(facts) == "rate_limited"


@pytest.mark.parametrize(
    ("attributes", "http_status"),
    [
        ({semconv.HTTP_RESPONSE_STATUS_CODE: 503}, 503),
        ({semconv.HTTP_STATUS_CODE_OLD: 429}, 429),
        ({semconv.HTTP_RESPONSE_STATUS_CODE: "504"}, 504),  # OTLP/JSON writes int64 as strings
        ({semconv.HTTP_RESPONSE_STATUS_CODE: 401, semconv.HTTP_STATUS_CODE_OLD: 500}, 401),
        ({semconv.HTTP_RESPONSE_STATUS_CODE: "n/a"}, None),
        ({semconv.HTTP_RESPONSE_STATUS_CODE: True}, None),
        ({}, None),
    ],
)
def test_http_status_attributes(attributes: dict[str, object], http_status: int | None) -> None:
    assert facts_from_span(attributes, [], None, "http").http_status == http_status


@pytest.mark.parametrize(
    ("attributes", "grpc_code", "error_class"),
    [
        ({"rpc.grpc.status_code": 4}, 4, "timeout"),
        ({"rpc.grpc.status_code": "14"}, 14, "upstream_unavailable"),
        ({"rpc.response.status_code": "RESOURCE_EXHAUSTED"}, 8, "rate_limited"),
        ({"rpc.response.status_code": "UNAUTHENTICATED"}, 16, "auth"),
        ({"rpc.response.status_code": "ABORTED"}, 10, "conflict"),
        ({"rpc.response.status_code": "NOT_A_CODE"}, None, "unknown"),
    ],
)
def test_grpc_status_attributes(
    attributes: dict[str, object], grpc_code: int | None, error_class: str
) -> None:
    facts = facts_from_span(attributes, [], None, "step")
    assert facts.grpc_code == grpc_code
    assert classify(facts) == error_class


def test_kind_falls_back_to_the_firstwatch_kind_attribute() -> None:
    assert facts_from_span({semconv.KIND: "tool"}, [], None, None).span_kind == "tool"
    assert facts_from_span({semconv.KIND: "tool"}, [], None, "llm").span_kind == "llm"


def test_empty_and_non_scalar_values_are_missing_facts() -> None:
    facts = facts_from_span(
        {semconv.ERROR_TYPE: ["a", "b"], semconv.KIND: ""},
        [(semconv.EXCEPTION_EVENT, {semconv.EXCEPTION_TYPE: "  ", semconv.EXCEPTION_MESSAGE: 7})],
        "",
        None,
    )
    assert facts == ErrorFacts(exception_message="7")


def test_exception_attributes_on_the_span_itself_are_read_without_an_event() -> None:
    facts = facts_from_span(
        {semconv.EXCEPTION_TYPE: "KeyError", semconv.EXCEPTION_MESSAGE: "'choices'"}, [], None, None
    )
    assert classify(facts) == "agent_bug"


# Real exceptions, recorded by the real OpenTelemetry SDK.


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider, exporter
    tracer_provider.shutdown()


@pytest.fixture
def spans(
    provider: tuple[TracerProvider, InMemorySpanExporter],
) -> Iterator[Callable[[], list[ReadableSpan]]]:
    exporter = provider[1]
    exporter.clear()
    yield lambda: list(exporter.get_finished_spans())
    exporter.clear()


@pytest.fixture
def refused_port() -> Iterator[int]:
    # A bound socket that does not listen: connections to it are refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    # A listening socket that never answers: reads from it time out.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def facts_of(span: ReadableSpan) -> ErrorFacts:
    return facts_from_span(
        span.attributes or {},
        [(event.name, event.attributes or {}) for event in span.events],
        span.status.description,
        None,
    )


def record(
    provider: tuple[TracerProvider, InMemorySpanExporter],
    kind: str,
    fail: Callable[[], object],
) -> ErrorFacts:
    tracer_provider, exporter = provider
    exporter.clear()
    tracer = tracer_provider.get_tracer("tests.errors")
    # The SDK records only Exception subclasses by itself; record every BaseException as an
    # agent SDK would, with the SDK's own record_exception and status description.
    with tracer.start_as_current_span(
        "work",
        attributes={semconv.KIND: kind},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        with pytest.raises(BaseException) as raised:
            fail()
        span.record_exception(raised.value)
        span.set_status(Status(StatusCode.ERROR, f"{type(raised.value).__name__}: {raised.value}"))
    (finished,) = exporter.get_finished_spans()
    return facts_of(finished)


class Invoice(pydantic.BaseModel):
    total: float


async def wait_too_long() -> None:
    await asyncio.wait_for(asyncio.sleep(5), timeout=0.01)


async def cancelled() -> None:
    task = asyncio.ensure_future(asyncio.sleep(5))
    await asyncio.sleep(0)
    task.cancel()
    await task


def duplicate_key() -> None:
    with duckdb.connect(":memory:") as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        db.execute("INSERT INTO invoices VALUES (1)")
        db.execute("INSERT INTO invoices VALUES (1)")


def grpc_call(port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        channel.unary_unary("/agent.Search/Query")(b"", timeout=5)


def test_real_exceptions_recorded_on_spans(
    provider: tuple[TracerProvider, InMemorySpanExporter], refused_port: int, silent_port: int
) -> None:
    cases: list[tuple[str, Callable[[], object], str, str]] = [
        (
            "llm",
            lambda: json.loads("Sure! {not json"),
            "json.decoder.JSONDecodeError",
            "output_invalid",
        ),
        (
            "llm",
            lambda: Invoice.model_validate({"total": "twelve"}),
            "pydantic_core._pydantic_core.ValidationError",
            "output_invalid",
        ),
        ("step", lambda: dict[str, str]()["choices"], "KeyError", "agent_bug"),
        ("step", lambda: b"%PDF\xff\xfe".decode("utf-8"), "UnicodeDecodeError", "input_unreadable"),
        ("step", lambda: asyncio.run(wait_too_long()), "TimeoutError", "timeout"),
        (
            "step",
            lambda: asyncio.run(cancelled()),
            "asyncio.exceptions.CancelledError",
            "cancelled",
        ),
        ("resource", duplicate_key, "_duckdb.ConstraintException", "conflict"),
        (
            "http",
            lambda: httpx.get(f"http://127.0.0.1:{refused_port}/"),
            "httpx.ConnectError",
            "upstream_unavailable",
        ),
        (
            "http",
            lambda: httpx.get(f"http://127.0.0.1:{silent_port}/", timeout=0.1),
            "httpx.ReadTimeout",
            "timeout",
        ),
        (
            "http",
            lambda: requests.get(f"http://127.0.0.1:{refused_port}/", timeout=5),
            "requests.exceptions.ConnectionError",
            "upstream_unavailable",
        ),
        (
            "http",
            lambda: requests.get(f"http://127.0.0.1:{silent_port}/", timeout=0.1),
            "requests.exceptions.ReadTimeout",
            "timeout",
        ),
        (
            "tool",
            lambda: grpc_call(refused_port),
            "grpc._channel._InactiveRpcError",
            "upstream_unavailable",
        ),
    ]
    for kind, fail, exception_type, error_class in cases:
        facts = record(provider, kind, fail)
        assert facts.exception_type == exception_type
        assert facts.span_kind == kind
        assert classify(facts) == error_class, (exception_type, facts)


def test_instrumented_httpx_client_spans(
    provider: tuple[TracerProvider, InMemorySpanExporter],
    spans: Callable[[], list[ReadableSpan]],
    refused_port: int,
) -> None:
    statuses = {"/chat": 429, "/search": 503, "/files": 413, "/auth": 401}

    def upstream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(statuses[request.url.path], json={"error": "no"})

    with httpx.Client(transport=httpx.MockTransport(upstream)) as client:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider[0])
        for path in statuses:
            client.get(f"https://api.example.com{path}")
    with httpx.Client() as client:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider[0])
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{refused_port}/")

    classes = [classify(facts_of(span)) for span in spans()]
    assert classes == [
        "rate_limited",
        "upstream_unavailable",
        "bad_request",
        "auth",
        "upstream_unavailable",
    ]
