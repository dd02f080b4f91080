"""Bad input gets the status and message design.md §5 gives, and the server keeps serving."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.trace.export import SpanExportResult

from serverproc import ServerProcess, start_server, wait_for
from spanbatches import make_batches

pytestmark = pytest.mark.integration

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
LIMIT = 1_000_000


def make_span(trace: bytes, span: bytes, name: str = "run", attrs: int = 0) -> Span:
    s = Span(
        trace_id=trace,
        span_id=span,
        name=name,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_500_000_000,
    )
    s.attributes.append(KeyValue(key="firstwatch.kind", value=AnyValue(string_value="run")))
    for i in range(attrs):
        s.attributes.append(KeyValue(key=f"k{i}", value=AnyValue(int_value=i)))
    return s


def request_of(*spans: Span) -> bytes:
    req = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])]
    )
    return req.SerializeToString()


def good_body(n: int = 1) -> bytes:
    return request_of(make_span(bytes([n]) * 16, bytes([n]) * 8))


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(
        tmp_path_factory.mktemp("bad"),
        env={"FIRSTWATCH_MAX_BODY_BYTES": str(LIMIT), "FIRSTWATCH_MAX_ATTRIBUTES": "128"},
    )
    try:
        yield proc
    finally:
        proc.stop()


def pb_status(response: httpx.Response) -> status_pb2.Status:
    assert response.headers["content-type"].startswith("application/x-protobuf")
    status = status_pb2.Status()
    status.ParseFromString(response.content)
    return status


Case = tuple[str, Callable[[], dict[str, Any]], int, str]

CASES: list[Case] = [
    (
        "corrupt protobuf",
        lambda: {"content": b"\xff\xff\xff\x0fgarbage", "headers": PB},
        400,
        "not a valid OTLP protobuf",
    ),
    (
        "invalid JSON",
        lambda: {"content": b'{"resourceSpans": [', "headers": JS},
        400,
        "not valid JSON",
    ),
    (
        "JSON that is not an object",
        lambda: {"content": b"[1, 2]", "headers": JS},
        400,
        "JSON object",
    ),
    (
        "invalid UTF-8 in JSON",
        lambda: {"content": b'{"resourceSpans": "\xff\xfe"}', "headers": JS},
        400,
        "UTF-8",
    ),
    (
        "invalid UTF-8 in a protobuf string",
        lambda: {
            "content": request_of(make_span(b"\x01" * 16, b"\x01" * 8, name="ok")).replace(
                b"ok", b"\xff\xfe"
            ),
            "headers": PB,
        },
        400,
        "not a valid OTLP protobuf",
    ),
    (
        "wrong content type",
        lambda: {"content": b"hello", "headers": {"Content-Type": "text/plain"}},
        415,
        "application/x-protobuf",
    ),
    ("no content type", lambda: {"content": good_body()}, 415, "Content-Type"),
    (
        "unknown content encoding",
        lambda: {"content": good_body(), "headers": {**PB, "Content-Encoding": "br"}},
        415,
        "Content-Encoding",
    ),
    ("oversize body", lambda: {"content": b"\0" * (LIMIT + 10), "headers": PB}, 413, "limit"),
    (
        "gzip bomb",
        lambda: {
            "content": gzip.compress(b"\0" * (200 * LIMIT), 9),
            "headers": {**PB, "Content-Encoding": "gzip"},
        },
        413,
        "decompressed",
    ),
    (
        "truncated gzip",
        lambda: {
            "content": gzip.compress(good_body())[:-12],
            "headers": {**PB, "Content-Encoding": "gzip"},
        },
        400,
        "gzip",
    ),
    (
        "not gzip at all",
        lambda: {"content": b"plain bytes", "headers": {**PB, "Content-Encoding": "gzip"}},
        400,
        "gzip",
    ),
]


@pytest.mark.parametrize(("name", "make", "status", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_with_a_clear_message(
    small_server: ServerProcess,
    name: str,
    make: Callable[[], dict[str, Any]],
    status: int,
    message: str,
) -> None:
    with small_server.client() as client:
        response = client.post("/v1/traces", **make())
        assert response.status_code == status, response.text
        if response.headers["content-type"].startswith("application/x-protobuf"):
            text = pb_status(response).message
        else:
            text = response.json()["message"]
        assert message.lower() in text.lower(), text
        # The server keeps serving and still stores good data.
        assert client.get("/healthz").status_code == 200
        ok = client.post("/v1/traces", content=good_body(7), headers=PB)
        assert ok.status_code == 200


def test_bad_span_among_good_ones_is_a_partial_success(small_server: ServerProcess) -> None:
    body = request_of(
        make_span(b"\x21" * 16, b"\x21" * 8),
        make_span(b"\x22" * 16, b"\x22" * 5),  # a span id of the wrong length
        make_span(b"\x23" * 16, b"\x23" * 8),
    )
    with small_server.client() as client:
        response = client.post("/v1/traces", content=body, headers=PB)
        assert response.status_code == 200
        answer = ExportTraceServiceResponse()
        answer.ParseFromString(response.content)
        assert answer.partial_success.rejected_spans == 1
        assert "span_id must be 8 bytes" in answer.partial_success.error_message
        wanted = {("21" * 16), ("23" * 16)}
        wait_for(
            lambda: wanted <= {r["trace_id"] for r in client.get("/api/v1/runs").json()["runs"]},
            what="the good spans",
        )
        assert client.get(f"/api/v1/runs/{'22' * 16}").status_code == 404


def test_partial_success_in_json_for_a_json_request(small_server: ServerProcess) -> None:
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "31" * 16,
                                "spanId": "31" * 8,
                                "name": "a",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000100000000",
                            },
                            {
                                "traceId": "zz" * 16,
                                "spanId": "32" * 8,
                                "name": "b",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000100000000",
                            },
                            {
                                "traceId": "33" * 16,
                                "spanId": "33" * 8,
                                "name": "c",
                                "startTimeUnixNano": "1700000000900000000",
                                "endTimeUnixNano": "1700000000100000000",
                            },
                        ]
                    }
                ]
            }
        ]
    }
    with small_server.client() as client:
        response = client.post("/v1/traces", json=doc)
        assert response.status_code == 200
        body = response.json()
        assert body["partialSuccess"]["rejectedSpans"] == "2"
        assert "trace_id must be 16 bytes" in body["partialSuccess"]["errorMessage"]
        assert "end_time_unix_nano is before" in body["partialSuccess"]["errorMessage"]


def test_absurd_attribute_count_is_capped_and_counted(small_server: ServerProcess) -> None:
    body = request_of(make_span(b"\x41" * 16, b"\x41" * 8, attrs=20_000))
    with small_server.client() as client:
        response = client.post("/v1/traces", content=body, headers=PB)
        assert response.status_code == 200
        detail = wait_for(
            lambda: (r := client.get(f"/api/v1/runs/{'41' * 16}")).status_code == 200 and r.json(),
            what="the capped span",
        )
        assert len(detail["runs"][0]["attributes"]) == 128
        metrics = client.get("/metrics").text
        assert "firstwatch_attributes_dropped_total" in metrics
        dropped = [
            line
            for line in metrics.splitlines()
            if line.startswith("firstwatch_attributes_dropped_total ")
        ]
        assert float(dropped[0].split()[1]) >= 20_001 - 128


def test_metrics_and_logs_say_only_traces(small_server: ServerProcess) -> None:
    with small_server.client() as client:
        for path in ("/v1/metrics", "/v1/logs"):
            response = client.post(path, content=b"", headers=PB)
            assert response.status_code == 404
            assert "traces only" in response.json()["message"]


def test_keys_required(tmp_path: Path) -> None:
    proc = start_server(tmp_path, extra_args=("--require-keys",))
    try:
        admin_key = proc.admin_key()
        with proc.client() as anon:
            missing = anon.post("/v1/traces", content=good_body(), headers=PB)
            assert missing.status_code == 401
            assert "API key is required" in pb_status(missing).message
            assert anon.get("/api/v1/runs").status_code == 401
        with proc.client("fw_not-a-real-key") as wrong:
            bad = wrong.post("/v1/traces", content=good_body(), headers=PB)
            assert bad.status_code == 401
            assert "unknown API key" in pb_status(bad).message
        with proc.client(admin_key) as admin:
            made = admin.post("/api/v1/keys", json={"project": "acme", "scope": "ingest"})
            assert made.status_code == 201
            ingest_key = made.json()["key"]
            reader_key = admin.post(
                "/api/v1/keys", json={"project": "acme", "scope": "read"}
            ).json()["key"]
        with proc.client(ingest_key) as ingest:
            assert ingest.post("/v1/traces", content=good_body(9), headers=PB).status_code == 200
            assert ingest.get("/api/v1/runs").status_code == 403
        with proc.client(reader_key) as reader:
            refused = reader.post("/v1/traces", content=good_body(), headers=PB)
            assert refused.status_code == 403
            runs = wait_for(lambda: reader.get("/api/v1/runs").json()["runs"], what="acme's run")
            assert [r["trace_id"] for r in runs] == ["09" * 16]
        with proc.client(admin_key) as admin:
            # The admin key belongs to 'default': acme's run is not visible there.
            assert admin.get("/api/v1/runs").json()["runs"] == []
        assert "fw_" not in json.dumps(proc.output().split("It is shown once")[1:])
    finally:
        proc.stop()


def test_keys_required_over_grpc_with_the_real_exporter(tmp_path: Path) -> None:
    proc = start_server(tmp_path, extra_args=("--require-keys",))
    try:
        keys = proc.new_keys(proc.admin_key(), "acme", ("ingest", "read"))
        batch = make_batches(1, traces_per_batch=2, steps_per_trace=2)[0]

        def export(key: str | None) -> SpanExportResult:
            exporter = GrpcExporter(
                endpoint=f"127.0.0.1:{proc.grpc_port}",
                insecure=True,
                headers=(("authorization", f"Bearer {key}"),) if key else None,
                timeout=10,
            )
            try:
                return exporter.export(batch)
            finally:
                exporter.shutdown()

        assert export(None) is SpanExportResult.FAILURE
        assert export("fw_not-a-real-key") is SpanExportResult.FAILURE
        assert export(keys["read"]) is SpanExportResult.FAILURE
        assert export(keys["ingest"]) is SpanExportResult.SUCCESS
        sent = {format(span.context.trace_id, "032x") for span in batch}
        with proc.client(keys["read"]) as reader:
            runs = wait_for(
                lambda: (
                    len(reader.get("/api/v1/runs").json()["runs"]) == len(sent)
                    and reader.get("/api/v1/runs").json()["runs"]
                ),
                what="acme's runs",
            )
            metrics = reader.get("/metrics").text
        assert {r["trace_id"] for r in runs} == sent
        assert 'firstwatch_requests_rejected_total{reason="unauthorized"} 3' in metrics
    finally:
        proc.stop()
