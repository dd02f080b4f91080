"""The dashboard page shows the project's agents and latest runs."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from serverproc import ServerProcess, wait_for

pytestmark = pytest.mark.integration


def _request(agent: str, failed: bool) -> bytes:
    span = Span(
        trace_id=bytes(range(1, 17)),
        span_id=bytes(range(1, 9)),
        name="run",
        start_time_unix_nano=1_800_000_000_000_000_000,
        end_time_unix_nano=1_800_000_000_250_000_000,
        status=Status(code=Status.STATUS_CODE_ERROR if failed else Status.STATUS_CODE_OK),
    )
    span.attributes.append(KeyValue(key="firstwatch.kind", value=AnyValue(string_value="run")))
    resource = Resource(
        attributes=[KeyValue(key="service.name", value=AnyValue(string_value=agent))]
    )
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()


def test_dashboard_lists_agents_and_runs(server: ServerProcess) -> None:
    with server.client() as client:
        empty = client.get("/")
        assert empty.status_code == 200
        assert "No runs yet" in empty.text
        posted = client.post(
            "/v1/traces",
            content=_request("<invoice-agent>", failed=True),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert posted.status_code == 200
        page = wait_for(
            lambda: "invoice-agent" in (r := client.get("/")).text and r, what="the agent row"
        )
        assert page.headers["content-type"].startswith("text/html")
        # Names are escaped, never injected.
        assert "&lt;invoice-agent&gt;" in page.text and "<invoice-agent>" not in page.text
        assert "class='error'" in page.text
        assert "0102030405060708090a0b0c0d0e0f10" in page.text
