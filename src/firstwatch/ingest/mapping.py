"""Map decoded OTLP spans to firstwatch span rows (design.md §3 and §5 "Runs and names").

Reads our own attributes and the common conventions (OpenInference, OTel GenAI, OpenLLMetry,
HTTP), so an agent instrumented without our SDK still shows up as runs and steps. Invalid spans are
dropped and counted for the OTLP `partial_success` answer; the rest of the request is kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from firstwatch import semconv as sc
from firstwatch.errors.classify import classify, facts_from_span
from firstwatch.store.schema import SPAN_COLUMN_NAMES

PREVIEW_CHARS = 1000

_OPENINFERENCE_KINDS = {
    "AGENT": sc.KIND_RUN,
    "LLM": sc.KIND_LLM,
    "EMBEDDING": sc.KIND_LLM,
    "TOOL": sc.KIND_TOOL,
}
_GENAI_OPERATIONS = {
    "invoke_agent": sc.KIND_RUN,
    "execute_tool": sc.KIND_TOOL,
    "chat": sc.KIND_LLM,
    "text_completion": sc.KIND_LLM,
    "generate_content": sc.KIND_LLM,
    "embeddings": sc.KIND_LLM,
}
_TRACELOOP_KINDS = {
    "workflow": sc.KIND_RUN,
    "agent": sc.KIND_RUN,
    "tool": sc.KIND_TOOL,
    "task": sc.KIND_STEP,
}
_CLIENT = PbSpan.SpanKind.SPAN_KIND_CLIENT


@dataclass
class MappedBatch:
    """Columns of the accepted spans, and what was rejected or trimmed."""

    columns: dict[str, list[Any]] = field(
        default_factory=lambda: {name: [] for name in SPAN_COLUMN_NAMES}
    )
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    truncated_values: int = 0
    dropped_attributes: int = 0
    sdk_dropped_spans: int = 0

    @property
    def accepted(self) -> int:
        """How many spans were accepted."""
        return len(self.columns["span_id"])

    def reject(self, reason: str) -> None:
        """Count one rejected span."""
        self.rejected += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def message(self) -> str:
        """The human-readable partial-success message."""
        parts = [f"{count} span(s): {reason}" for reason, count in sorted(self.reasons.items())]
        return "rejected " + "; ".join(parts) if parts else ""


def any_value(value: AnyValue) -> Any:
    """A Python value for an OTLP AnyValue."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return None


def attributes_dict(
    attrs: Sequence[KeyValue], limit: int, max_chars: int, batch: MappedBatch | None = None
) -> dict[str, Any]:
    """Attributes as a dict, keeping at most `limit` and truncating long strings."""
    out: dict[str, Any] = {}
    for index, kv in enumerate(attrs):
        if index >= limit:
            if batch is not None:
                batch.dropped_attributes += len(attrs) - limit
            break
        value = any_value(kv.value)
        if isinstance(value, str) and len(value) > max_chars:
            value = value[:max_chars]
            if batch is not None:
                batch.truncated_values += 1
        out[kv.key] = value
    return out


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, ""):
            return value
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any, limit: int = PREVIEW_CHARS) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:limit]


def span_kind(attrs: Mapping[str, Any], otel_kind: int) -> str:
    """The firstwatch kind of a span, from our attribute or the common conventions."""
    own = attrs.get(sc.KIND)
    if own in sc.KINDS:
        return str(own)
    oi = attrs.get(sc.OPENINFERENCE_SPAN_KIND)
    if isinstance(oi, str):
        return _OPENINFERENCE_KINDS.get(oi.upper(), sc.KIND_STEP)
    op = attrs.get(sc.GEN_AI_OPERATION_NAME)
    if isinstance(op, str):
        return _GENAI_OPERATIONS.get(op, sc.KIND_STEP)
    tl = attrs.get(sc.TRACELOOP_SPAN_KIND)
    if isinstance(tl, str):
        return _TRACELOOP_KINDS.get(tl.lower(), sc.KIND_STEP)
    if (attrs.get(sc.GEN_AI_SYSTEM) or attrs.get(sc.GEN_AI_PROVIDER_NAME)) and (
        sc.GEN_AI_REQUEST_MODEL in attrs or sc.GEN_AI_USAGE_INPUT_TOKENS in attrs
    ):
        return sc.KIND_LLM
    if otel_kind == _CLIENT and ("http.request.method" in attrs or "http.method" in attrs):
        return sc.KIND_HTTP
    if sc.RESOURCE_KEY in attrs:
        return sc.KIND_RESOURCE
    return sc.KIND_STEP


def dependency_of(kind: str, attrs: Mapping[str, Any]) -> str | None:
    """The third-party service a span called (design.md §5 order).

    For tool spans the tool's own name comes before the model provider: GenAI instrumentations put
    the agent's provider on `execute_tool` spans, which is not what the tool called.
    """
    if kind == sc.KIND_TOOL:
        keys: tuple[str, ...] = (
            sc.DEPENDENCY,
            sc.GEN_AI_TOOL_NAME,
            sc.TOOL_NAME_OI,
            sc.TRACELOOP_ENTITY_NAME,
            sc.SERVER_ADDRESS,
        )
    elif kind in (sc.KIND_HTTP, sc.KIND_LLM):
        keys = (
            sc.DEPENDENCY,
            sc.GEN_AI_PROVIDER_NAME,
            sc.GEN_AI_SYSTEM,
            sc.LLM_PROVIDER,
            sc.LLM_SYSTEM,
            sc.SERVER_ADDRESS,
            sc.NET_PEER_NAME_OLD,
        )
    else:
        keys = (sc.DEPENDENCY,)
    value = _first(attrs, *keys)
    if value is None and kind == sc.KIND_HTTP:
        value = _host_of(_first(attrs, sc.URL_FULL, sc.HTTP_URL_OLD))
    return _as_str(value)


def _host_of(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    host = urlsplit(url).hostname
    return host or None


def agent_name(attrs: Mapping[str, Any], resource_agent: Any) -> str | None:
    """The agent a span names itself, without falling back to `service.name` (materialisation
    does that once it knows the run)."""
    named = _first(attrs, sc.AGENT, sc.GEN_AI_AGENT_NAME, sc.AGENT_NAME_OI)
    if named is None and str(attrs.get(sc.TRACELOOP_SPAN_KIND, "")).lower() == "agent":
        named = attrs.get(sc.TRACELOOP_ENTITY_NAME)
    return _as_str(named if named is not None else resource_agent)


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _valid_id(raw: bytes, length: int) -> bool:
    return len(raw) == length and raw != bytes(length)


def map_request(
    request: ExportTraceServiceRequest,
    project: str,
    *,
    max_attributes: int = 1024,
    max_value_chars: int = 4096,
    received_ns: int | None = None,
) -> MappedBatch:
    """Map every span of a request to a row; invalid spans are rejected and counted."""
    batch = MappedBatch()
    cols = batch.columns
    now = received_ns if received_ns is not None else time.time_ns()
    for resource_spans in request.resource_spans:
        resource = attributes_dict(
            resource_spans.resource.attributes, max_attributes, max_value_chars, batch
        )
        resource_json = json.dumps(resource, default=str)
        res_agent = _first(resource, sc.AGENT)
        res_service = _as_str(resource.get(sc.SERVICE_NAME))
        res_version = _first(resource, sc.AGENT_VERSION, sc.SERVICE_VERSION)
        res_env = _first(resource, sc.DEPLOYMENT_ENVIRONMENT_NAME, sc.DEPLOYMENT_ENVIRONMENT)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if not _valid_id(span.trace_id, 16):
                    batch.reject("trace_id must be 16 bytes (32 hex characters), not all zero")
                    continue
                if not _valid_id(span.span_id, 8):
                    batch.reject("span_id must be 8 bytes (16 hex characters), not all zero")
                    continue
                if span.parent_span_id and len(span.parent_span_id) != 8:
                    batch.reject("parent_span_id must be empty or 8 bytes (16 hex characters)")
                    continue
                if span.end_time_unix_nano < span.start_time_unix_nano:
                    batch.reject("end_time_unix_nano is before start_time_unix_nano")
                    continue
                if span.start_time_unix_nano == 0:
                    batch.reject("start_time_unix_nano is missing")
                    continue
                attrs = attributes_dict(span.attributes, max_attributes, max_value_chars, batch)
                if span.name == "firstwatch.sdk.report":
                    batch.sdk_dropped_spans += (
                        _as_int(attrs.get("firstwatch.sdk.dropped_spans")) or 0
                    )
                events = [
                    (
                        event.name,
                        attributes_dict(event.attributes, max_attributes, max_value_chars, batch),
                        event.time_unix_nano,
                    )
                    for event in span.events
                ]
                kind = span_kind(attrs, span.kind)
                is_error = span.status.code == Status.StatusCode.STATUS_CODE_ERROR
                facts = facts_from_span(
                    attrs, [(n, a) for n, a, _ in events], span.status.message or None, kind
                )
                error_class = classify(facts) if is_error else None
                agent = agent_name(attrs, res_agent)
                version = _first(attrs, sc.AGENT_VERSION) or res_version
                environment = (
                    res_env
                    or _first(attrs, sc.DEPLOYMENT_ENVIRONMENT_NAME, sc.DEPLOYMENT_ENVIRONMENT)
                    or "unknown"
                )
                error_type = facts.exception_type or facts.error_type
                error_message = facts.exception_message or facts.status_message
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                cols["project"].append(project)
                cols["trace_id"].append(span.trace_id.hex())
                cols["span_id"].append(span.span_id.hex())
                cols["parent_span_id"].append(
                    span.parent_span_id.hex() if span.parent_span_id else None
                )
                cols["name"].append(span.name[:max_value_chars])
                cols["span_kind"].append(int(span.kind))
                cols["kind"].append(kind)
                cols["agent_marked"].append(kind == sc.KIND_RUN)
                cols["start_ns"].append(start)
                cols["end_ns"].append(end)
                cols["duration_ms"].append((end - start) / 1e6)
                cols["status"].append("error" if is_error else "ok")
                cols["status_message"].append(span.status.message[:max_value_chars] or None)
                cols["error_type"].append(_text(error_type, 256) if is_error else None)
                cols["error_message"].append(_text(error_message) if is_error else None)
                cols["error_class"].append(error_class)
                cols["agent"].append(agent)
                cols["version"].append(_as_str(version))
                cols["environment"].append(str(environment))
                cols["service"].append(res_service)
                cols["dependency"].append(dependency_of(kind, attrs))
                cols["http_status"].append(
                    _as_int(_first(attrs, sc.HTTP_RESPONSE_STATUS_CODE, sc.HTTP_STATUS_CODE_OLD))
                )
                cols["retry_count"].append(
                    _as_int(_first(attrs, sc.RETRY_COUNT, sc.HTTP_RESEND_COUNT))
                )
                cols["retry_wait_ms"].append(_as_float(attrs.get(sc.RETRY_WAIT_MS)))
                cols["model"].append(
                    _as_str(
                        _first(
                            attrs,
                            sc.GEN_AI_RESPONSE_MODEL,
                            sc.GEN_AI_REQUEST_MODEL,
                            sc.LLM_MODEL_NAME,
                        )
                    )
                )
                cols["input_tokens"].append(
                    _as_int(
                        _first(
                            attrs,
                            sc.GEN_AI_USAGE_INPUT_TOKENS,
                            sc.GEN_AI_USAGE_PROMPT_TOKENS_OLD,
                            sc.LLM_TOKENS_PROMPT,
                        )
                    )
                )
                cols["output_tokens"].append(
                    _as_int(
                        _first(
                            attrs,
                            sc.GEN_AI_USAGE_OUTPUT_TOKENS,
                            sc.GEN_AI_USAGE_COMPLETION_TOKENS_OLD,
                            sc.LLM_TOKENS_COMPLETION,
                        )
                    )
                )
                cols["resource_key"].append(_as_str(attrs.get(sc.RESOURCE_KEY)))
                cols["resource_op"].append(_as_str(attrs.get(sc.RESOURCE_OP)))
                cols["input_preview"].append(
                    _text(_first(attrs, sc.INPUT_VALUE, sc.TRACELOOP_ENTITY_INPUT))
                )
                cols["output_preview"].append(
                    _text(_first(attrs, sc.OUTPUT_VALUE, sc.TRACELOOP_ENTITY_OUTPUT))
                )
                cols["attributes"].append(json.dumps(attrs, default=str))
                cols["resource"].append(resource_json)
                cols["events"].append(
                    json.dumps(
                        [{"name": n, "time_ns": t, "attributes": a} for n, a, t in events],
                        default=str,
                    )
                    if events
                    else None
                )
                cols["received_ns"].append(now)
    return batch
