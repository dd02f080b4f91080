"""A user's error rules classify at ingest; a bad rules file stops the server with a clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from serverproc import free_port, start_server, wait_for

pytestmark = pytest.mark.integration

RULES = """
[[rule]]
name = "acme-quota"
class = "rate_limited"
types = ["acme.QuotaError"]
"""


def failed_run(error_type: str) -> bytes:
    span = Span(
        trace_id=b"\x51" * 16,
        span_id=b"\x51" * 8,
        name="run",
        start_time_unix_nano=1_800_000_000_000_000_000,
        end_time_unix_nano=1_800_000_000_100_000_000,
        status=Status(code=Status.STATUS_CODE_ERROR, message="quota"),
    )
    span.attributes.append(KeyValue(key="firstwatch.kind", value=AnyValue(string_value="run")))
    event = span.events.add(name="exception", time_unix_nano=1_800_000_000_050_000_000)
    event.attributes.append(KeyValue(key="exception.type", value=AnyValue(string_value=error_type)))
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()


def test_rules_file_classifies_at_ingest(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    server = start_server(tmp_path, env={"FIRSTWATCH_ERROR_RULES_FILE": str(rules)})
    try:
        with server.client() as client:
            posted = client.post(
                "/v1/traces",
                content=failed_run("acme.QuotaError"),
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert posted.status_code == 200
            runs = wait_for(lambda: client.get("/api/v1/runs").json()["runs"], what="the run")
            assert runs[0]["error_class"] == "rate_limited"
    finally:
        server.stop()


def test_bad_rules_file_stops_the_server_with_its_name(tmp_path: Path) -> None:
    rules = tmp_path / "broken.toml"
    rules.write_text('[[rule]]\nname = "x"\nclass = "no_such_class"\ntypes = ["E"]\n')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "firstwatch",
            "serve",
            "--store",
            str(tmp_path / "s.duckdb"),
            "--port",
            str(free_port()),
            "--grpc-port",
            "-1",
        ],
        env={"FIRSTWATCH_ERROR_RULES_FILE": str(rules), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "broken.toml" in done.stderr and "no_such_class" in done.stderr
