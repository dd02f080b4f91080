"""The recorded OTLP fixtures (tests/fixtures/otlp) are well-formed OTLP/JSON and protobuf."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "otlp"
EXPECTED = {
    "openinference__ok",
    "openinference__rate_limited",
    "openinference__tool_error",
    "openinference__incomplete",
    "genai__ok",
    "genai__rate_limited",
    "genai__tool_error",
    "openllmetry__ok",
    "openllmetry__rate_limited",
    "httpx__ok",
    "httpx__rate_limited",
}
JSON_FILES = sorted(FIXTURES.glob("*.json"))

HEX_TRACE_ID = re.compile(r"[0-9a-f]{32}")
HEX_SPAN_ID = re.compile(r"[0-9a-f]{16}")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Hosts named in recorded text but never contacted: schema URLs and httpx's documentation link.
DOC_HOSTS = {"opentelemetry.io", "developer.mozilla.org"}
ENDPOINT_KEYS = {"server.address", "network.peer.address", "net.peer.name", "url.full", "http.url"}


def _spans(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        span
        for resource_spans in data["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


def _attribute(span: dict[str, Any], key: str) -> object:
    for attribute in span.get("attributes", []):
        if attribute["key"] == key:
            return next(iter(attribute["value"].values()))
    return None


def test_every_expected_fixture_is_present_in_both_encodings() -> None:
    assert {path.stem for path in JSON_FILES} == EXPECTED
    assert {path.stem for path in FIXTURES.glob("*.pb")} == EXPECTED


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda path: path.stem)
def test_json_fixture_uses_hex_ids_and_integer_enums(path: Path) -> None:
    data = json.loads(path.read_text())
    spans = _spans(data)
    assert spans
    for resource_spans in data["resourceSpans"]:
        keys = {a["key"] for a in resource_spans["resource"]["attributes"]}
        assert "service.name" in keys
    for span in spans:
        assert HEX_TRACE_ID.fullmatch(span["traceId"]), span["traceId"]
        assert HEX_SPAN_ID.fullmatch(span["spanId"]), span["spanId"]
        parent = span.get("parentSpanId", "")
        assert parent == "" or HEX_SPAN_ID.fullmatch(parent), parent
        assert isinstance(span["kind"], int)
        assert isinstance(span.get("status", {}).get("code", 0), int)
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"]) > 0
    assert len({span["traceId"] for span in spans}) == 1, "one trace per scenario"


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda path: path.stem)
def test_protobuf_fixture_decodes_to_the_same_spans(path: Path) -> None:
    request = ExportTraceServiceRequest.FromString(path.with_suffix(".pb").read_bytes())
    decoded = {
        (span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), span.name)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    }
    spans = _spans(json.loads(path.read_text()))
    from_json = {
        (span["traceId"], span["spanId"], span.get("parentSpanId", ""), span["name"])
        for span in spans
    }
    assert len(decoded) == len(spans)
    assert decoded == from_json


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda path: path.stem)
def test_fixture_holds_no_key_and_no_outside_address(path: Path) -> None:
    text = path.read_text()
    assert "sk-" not in text
    assert b"sk-" not in path.with_suffix(".pb").read_bytes()
    hosts = set(re.findall(r"[a-z][a-z0-9+.-]*://\[?([^/:\]\s\"'?#\\]+)", text, re.IGNORECASE))
    assert hosts <= LOOPBACK | DOC_HOSTS
    assert set(re.findall(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", text)) <= {"127.0.0.1"}
    for span in _spans(json.loads(text)):
        for key in ENDPOINT_KEYS:
            value = _attribute(span, key)
            assert value is None or any(host in str(value) for host in LOOPBACK), (key, value)


def test_incomplete_fixture_is_the_ok_recording_without_its_root_agent() -> None:
    ok = _spans(json.loads((FIXTURES / "openinference__ok.json").read_text()))
    incomplete = _spans(json.loads((FIXTURES / "openinference__incomplete.json").read_text()))
    missing = [span for span in ok if span["spanId"] not in {s["spanId"] for s in incomplete}]
    assert len(incomplete) == len(ok) - 1
    assert len(missing) == 1
    root = missing[0]
    assert root.get("parentSpanId", "") == ""
    assert _attribute(root, "openinference.span.kind") == "AGENT"
    assert all(span.get("parentSpanId") == root["spanId"] for span in incomplete)


def test_no_fixture_names_a_path_of_the_recording_machine() -> None:
    absolute = re.compile(r"/[^\s\"'\\]+/site-packages/")
    for path in sorted(FIXTURES.glob("*")):
        text = path.read_bytes().decode("utf-8", "replace")
        assert 'File \\"/' not in text, path.name
        assert not absolute.search(text), path.name
