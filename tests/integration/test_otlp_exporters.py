"""Real OpenTelemetry exporters (HTTP/protobuf and gRPC) into a real `firstwatch serve`."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode

from serverproc import ServerProcess, wait_for

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent.parent / "fixtures" / "otlp"


def emit_agent_run(
    make_exporter: Callable[[], SpanExporter], agent: str, environment: str, fail: bool
) -> str:
    """One run with two steps, through a real TracerProvider; returns the trace id."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"{agent}-svc", "deployment.environment.name": environment}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(make_exporter()))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "extract-contract",
        attributes={
            "firstwatch.kind": "run",
            "firstwatch.agent": agent,
            "firstwatch.agent.version": "1.1",
        },
    ) as run:
        trace_id = format(run.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("classify", attributes={"firstwatch.kind": "step"}):
            pass
        with tracer.start_as_current_span(
            "llm-call",
            attributes={
                "firstwatch.kind": "llm",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "http.response.status_code": 429,
            },
        ) as llm:
            if fail:
                llm.add_event(
                    "exception",
                    {
                        "exception.type": "openai.RateLimitError",
                        "exception.message": "Error code: 429",
                    },
                )
                llm.set_status(Status(StatusCode.ERROR, "rate limited"))
        if fail:
            run.set_status(Status(StatusCode.ERROR, "gave up"))
    provider.shutdown()
    return trace_id


def runs_of(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    body = client.get("/api/v1/runs", params=params).json()
    return list(body["runs"])


@pytest.mark.parametrize("transport", ["http", "http-gzip", "grpc"])
def test_exporter_runs_arrive_and_open_as_trees(server: ServerProcess, transport: str) -> None:
    def exporter() -> SpanExporter:
        if transport == "grpc":
            return GrpcExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True)
        return HttpExporter(
            endpoint=f"{server.url}/v1/traces",
            compression=Compression.Gzip if transport == "http-gzip" else Compression.NoCompression,
        )

    ok_trace = emit_agent_run(exporter, "contract-extractor", "production", fail=False)
    bad_trace = emit_agent_run(exporter, "contract-extractor", "production", fail=True)
    with server.client() as client:
        # Each span is its own request: a run is "incomplete" until its root span is applied.
        runs = wait_for(
            lambda: (
                (r := runs_of(client)) and len(r) == 2 and all(run["complete"] for run in r) and r
            ),
            what="two complete runs",
        )
        by_trace = {r["trace_id"]: r for r in runs}
        assert by_trace[ok_trace]["status"] == "ok"
        assert by_trace[ok_trace]["agent"] == "contract-extractor"
        assert by_trace[ok_trace]["version"] == "1.1"
        assert by_trace[ok_trace]["environment"] == "production"
        assert by_trace[ok_trace]["step_count"] == 2
        assert by_trace[bad_trace]["status"] == "error"
        assert by_trace[bad_trace]["error_class"] == "rate_limited"

        detail = client.get(f"/api/v1/runs/{bad_trace}").json()
        (run,) = detail["runs"]
        assert run["name"] == "extract-contract"
        names = {s["name"]: s for s in run["steps"]}
        assert set(names) == {"classify", "llm-call"}
        assert names["llm-call"]["kind"] == "llm"
        assert names["llm-call"]["dependency"] == "openai"
        assert names["llm-call"]["error_class"] == "rate_limited"
        assert names["llm-call"]["events"][0]["attributes"]["exception.type"] == (
            "openai.RateLimitError"
        )

        errors = runs_of(client, status="error")
        assert [r["trace_id"] for r in errors] == [bad_trace]
        (agent,) = client.get("/api/v1/agents").json()["agents"]
        assert {k: agent[k] for k in ("agent", "version", "environment", "runs", "errors")} == {
            "agent": "contract-extractor",
            "version": "1.1",
            "environment": "production",
            "runs": 2,
            "errors": 1,
        }
        assert agent["error_rate"] == 0.5


def _chunks(data: bytes, size: int = 700) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_otlp_json_with_chunked_encoding_is_accepted(server: ServerProcess) -> None:
    fixtures = sorted(FIXTURES.glob("*.json"))
    assert fixtures, "recorded fixtures are missing"
    body = fixtures[0].read_bytes()
    trace_ids = {
        span["traceId"]
        for rs in json.loads(body)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    }
    with server.client() as client:
        # A generator body has no Content-Length: httpx sends Transfer-Encoding: chunked.
        response = client.post(
            "/v1/traces", content=_chunks(body), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.request.headers.get("transfer-encoding") == "chunked"
        found = wait_for(
            lambda: {r["trace_id"] for r in runs_of(client)} >= trace_ids and True,
            what="fixture runs",
        )
        assert found
        gz = client.post(
            "/v1/traces",
            content=gzip.compress(body),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert gz.status_code == 200, gz.text
