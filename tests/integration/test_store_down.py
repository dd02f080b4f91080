"""The store cannot be read (a broken disk, a file DuckDB gave up on): ingest with a key seen
before is still logged durably, a key that cannot be checked gets a 503 (gRPC: UNAVAILABLE with
RetryInfo) to retry, not a 500 an exporter drops, and /metrics still shows the log."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from firstwatch.server.app import create_app
from firstwatch.server.auth import create_key
from firstwatch.server.grpc_service import start_grpc
from firstwatch.server.runtime import build_state
from firstwatch.server.state import AppState
from firstwatch.settings import Settings

pytestmark = pytest.mark.integration

PB = {"Content-Type": "application/x-protobuf"}
_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    settings = Settings.load(
        {
            "store": str(tmp_path / "store.duckdb"),
            "wal_dir": str(tmp_path / "wal"),
            "require_keys": True,
        },
        environ={},
    )
    state = build_state(settings)
    try:
        yield state
    finally:
        state.wal.close()
        state.store.close()


def _body(number: int) -> bytes:
    span = Span(
        trace_id=number.to_bytes(16, "big"),
        span_id=number.to_bytes(8, "big"),
        name="run",
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_500_000_000,
    )
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


def _call(state: AppState, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to the app in this process."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://firstwatch") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(call())


def _samples(text: str) -> dict[str, float]:
    return {
        name: float(value)
        for line in text.splitlines()
        if line and not line.startswith("#")
        for name, value in [line.rsplit(" ", 1)]
    }


def test_with_the_store_unreadable_ingest_goes_on_and_unknown_keys_retry(state: AppState) -> None:
    known = create_key(state.store, "acme", "ingest")
    other = create_key(state.store, "acme", "ingest")
    seen = _call(state, "POST", "/v1/traces", content=_body(1), headers={**PB, "X-API-Key": known})
    assert seen.status_code == 200

    state.store.close()  # a real store that no longer reads
    again = _call(state, "POST", "/v1/traces", content=_body(2), headers={**PB, "X-API-Key": known})
    assert again.status_code == 200
    assert [lsn for lsn, _ in state.wal.read_from(0)] == [1, 2]  # both logged durably

    unchecked = _call(
        state, "POST", "/v1/traces", content=_body(3), headers={**PB, "X-API-Key": other}
    )
    assert unchecked.status_code == 503
    assert unchecked.headers["Retry-After"] == "5"
    assert [lsn for lsn, _ in state.wal.read_from(0)] == [1, 2]

    metrics = _call(state, "GET", "/metrics", headers={"X-API-Key": known})
    assert metrics.status_code == 200
    samples = _samples(metrics.text)
    assert samples["firstwatch_store_readable"] == 0
    assert samples['firstwatch_requests_rejected_total{reason="key_unchecked"}'] == 1
    assert samples["firstwatch_spans_accepted_total"] == 2
    assert not any(name.startswith("firstwatch_store_memory_bytes{") for name in samples)


def test_over_grpc_a_key_that_cannot_be_checked_is_retried_later(state: AppState) -> None:
    key = create_key(state.store, "acme", "ingest")
    state.store.close()
    server, port = start_grpc(state, "127.0.0.1", 0)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            export = channel.unary_unary(_EXPORT)  # bytes in, bytes out
            with pytest.raises(grpc.RpcError) as raised:
                export(_body(4), metadata=(("authorization", f"Bearer {key}"),), timeout=30)
    finally:
        server.stop(grace=None)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    trailers = dict(raised.value.trailing_metadata())
    assert RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]).retry_delay.seconds == 5
