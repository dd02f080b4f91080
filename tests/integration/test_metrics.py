"""`/metrics` in Prometheus text: ingest counters move with what was sent (credential attributes
hidden and counted); memory is shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.integration

PB = {"Content-Type": "application/x-protobuf"}
TOKEN = "Bearer sk-live-4b1d9e"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(Path(tmp_path_factory.mktemp("metrics")))
    try:
        yield proc
    finally:
        proc.stop()


def _body(first: int, count: int) -> bytes:
    spans = []
    for n in range(first, first + count):
        span = Span(
            trace_id=n.to_bytes(16, "big"),
            span_id=n.to_bytes(8, "big"),
            name="run",
            start_time_unix_nano=1_700_000_000_000_000_000 + n,
            end_time_unix_nano=1_700_000_000_500_000_000 + n,
        )
        span.attributes.append(KeyValue(key="firstwatch.kind", value=AnyValue(string_value="run")))
        span.attributes.append(
            KeyValue(key="http.request.header.authorization", value=AnyValue(string_value=TOKEN))
        )
        spans.append(span)
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    )
    return request.SerializeToString()


def _samples(text: str) -> dict[str, float]:
    """Sample lines by name with labels, e.g. 'firstwatch_store_memory_bytes{kind="x"}'."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_count_spans_and_show_memory(server: ServerProcess) -> None:
    with server.client() as client:
        before = _samples(client.get("/metrics").text)
        assert client.post("/v1/traces", content=_body(1, 300), headers=PB).status_code == 200
        wait_for(
            lambda: (
                _samples(client.get("/metrics").text)["firstwatch_spans_applied_total"]
                >= before["firstwatch_spans_applied_total"] + 300
            ),
            what="the spans applied",
        )
        response = client.get("/metrics")
        run = client.get(f"/api/v1/runs/{(1).to_bytes(16, 'big').hex()}").json()["runs"][0]
    assert run["attributes"]["http.request.header.authorization"] == "[redacted]"
    assert TOKEN not in repr(run)
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    after = _samples(text)
    accepted = "firstwatch_spans_accepted_total"
    assert after[accepted] == before[accepted] + 300
    assert after["firstwatch_ingest_lag_records"] == 0
    redacted = "firstwatch_values_redacted_total"
    assert after[redacted] == before[redacted] + 300
    assert after["firstwatch_store_readable"] == 1
    assert "# TYPE firstwatch_store_memory_bytes gauge" in text
    store = {k: v for k, v in after.items() if k.startswith("firstwatch_store_memory_bytes{")}
    assert store and all(v > 0 for v in store.values())
    assert all(k.startswith('firstwatch_store_memory_bytes{kind="') for k in store)
    # The server process itself: tens of megabytes at least, and more than the store's share.
    resident = after["process_resident_memory_bytes"]
    assert resident > 20 * 2**20
    assert resident > sum(store.values())
