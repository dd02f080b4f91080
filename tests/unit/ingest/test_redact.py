"""Credential attributes are hidden before the log: by name, in spans, events and resources."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from firstwatch.ingest.mapping import map_request
from firstwatch.ingest.pipeline import Ingestor
from firstwatch.ingest.redact import REDACTED, Redactor
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.settings import Settings

SECRET = "sk-live-7f3a9c2e51d84b6f"


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _request() -> ExportTraceServiceRequest:
    span = Span(
        trace_id=b"\x01" * 16,
        span_id=b"\x02" * 8,
        name="call model",
        start_time_unix_nano=1_800_000_000_000_000_000,
        end_time_unix_nano=1_800_000_000_500_000_000,
        attributes=[
            _kv("firstwatch.kind", "llm"),
            _kv("http.request.header.authorization", f"Bearer {SECRET}"),
            KeyValue(
                key="http.request.header.x-api-key",
                value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value=SECRET)])),
            ),
            _kv("llm.api_key", SECRET),
            _kv("customer.email", "ada@example.com"),
            _kv("gen_ai.request.model", "acme-large"),
            KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=812)),
            _kv("firstwatch.resource.key", "account-7"),
        ],
    )
    span.events.add(
        name="retry", time_unix_nano=1_800_000_000_100_000_000, attributes=[_kv("password", SECRET)]
    )
    resource = Resource(attributes=[_kv("service.name", "agent"), _kv("db.password", SECRET)])
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )


@pytest.mark.parametrize(
    "key",
    [
        "http.request.header.authorization",
        "http.request.header.x-api-key",
        "http.request.header.cookie",
        "http.response.header.set-cookie",
        "openai.api_key",
        "db.password",
        "oauth.access_token",
        "Authorization",
    ],
)
def test_credential_names_are_hidden(key: str) -> None:
    assert Redactor().hides(key)


@pytest.mark.parametrize(
    "key",
    [
        "gen_ai.usage.input_tokens",
        "gen_ai.request.max_tokens",
        "firstwatch.resource.key",
        "input.value",
        "http.request.header.content-type",
        "exception.message",
    ],
)
def test_ordinary_names_are_kept(key: str) -> None:
    assert not Redactor().hides(key)


def test_extra_names_and_whole_keys_from_the_setting() -> None:
    redactor = Redactor([" ssn ", " customer.email", "", ""])
    assert redactor.hides("patient.ssn") and redactor.hides("customer.email")
    assert not redactor.hides("vendor.email")  # a whole key hides only itself
    assert redactor.hides("db.password")  # the built-in names stay


def test_mapping_stores_no_credential_and_counts_what_it_hid() -> None:
    batch = map_request(_request(), "default", redactor=Redactor(["customer.email"]))
    assert batch.accepted == 1 and batch.redacted_values == 6
    row = {name: values[0] for name, values in batch.columns.items()}
    assert SECRET not in repr(row) and "ada@example.com" not in repr(row)
    attributes = json.loads(row["attributes"])
    assert attributes["http.request.header.authorization"] == REDACTED
    assert attributes["http.request.header.x-api-key"] == REDACTED
    assert attributes["customer.email"] == REDACTED
    assert attributes["gen_ai.request.model"] == "acme-large"
    assert attributes["gen_ai.usage.input_tokens"] == 812
    assert row["resource_key"] == "account-7" and row["model"] == "acme-large"
    assert json.loads(row["events"])[0]["attributes"] == {"password": REDACTED}
    assert json.loads(row["resource"])["db.password"] == REDACTED


def test_without_a_redactor_given_credentials_are_still_hidden() -> None:
    batch = map_request(_request(), "default")
    assert SECRET not in repr(batch.columns) and batch.redacted_values == 5
    assert "ada@example.com" in repr(batch.columns)  # only names the setting adds


def test_the_log_never_holds_the_secret(tmp_path: Path) -> None:
    settings = Settings.load({"store": str(tmp_path / "s.duckdb"), "redact_keys": "email"})
    with WriteAheadLog(tmp_path / "wal") as wal:
        ingestor = Ingestor(settings, wal)
        batch = ingestor.accept_body(
            _request().SerializeToString(), "application/x-protobuf", None, "default"
        )
        assert batch.accepted == 1 and ingestor.stats.values_redacted == 6
        records = list(wal.read_from(0))
    assert len(records) == 1
    logged = pa.ipc.open_stream(records[0][1]).read_all().to_pylist()
    assert SECRET not in repr(logged) and "ada@example.com" not in repr(logged)
    for segment in (tmp_path / "wal").iterdir():
        assert SECRET.encode() not in segment.read_bytes()
