"""Map decoded OTLP spans to firstwatch span rows (design.md §3 and §5 "Runs and names").

Reads our own attributes and the common conventions (OpenInference, OTel GenAI, OpenLLMetry,
HTTP), so an agent instrumented without our SDK still shows up as runs and steps. Invalid spans are
dropped and counted for the OTLP `partial_success` answer; the rest of the request is kept.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from firstwatch import semconv as sc
from firstwatch.errors.classify import DEFAULT_RULES, ErrorFacts, Rule, classify, facts_from_span
from firstwatch.errors.fingerprint import fingerprint
from firstwatch.ingest.checks import encode_checks, failed_checks
from firstwatch.ingest.redact import DEFAULT_REDACTOR, REDACTED, Redactor
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
_TOOL_DEPENDENCY_KEYS = (
    sc.DEPENDENCY,
    sc.GEN_AI_TOOL_NAME,
    sc.TOOL_NAME_OI,
    sc.TRACELOOP_ENTITY_NAME,
    sc.SERVER_ADDRESS,
)
_CLIENT_DEPENDENCY_KEYS = (
    sc.DEPENDENCY,
    sc.GEN_AI_PROVIDER_NAME,
    sc.GEN_AI_SYSTEM,
    sc.LLM_PROVIDER,
    sc.LLM_SYSTEM,
    sc.SERVER_ADDRESS,
    sc.NET_PEER_NAME_OLD,
)
_OWN_DEPENDENCY_KEYS = (sc.DEPENDENCY,)
_URL_KEYS = (sc.URL_FULL, sc.HTTP_URL_OLD)
_AGENT_KEYS = (sc.AGENT, sc.GEN_AI_AGENT_NAME, sc.AGENT_NAME_OI)
_AGENT_VERSION_KEYS = (sc.AGENT_VERSION,)


@dataclass
class MappedBatch:
    """Columns of the accepted spans, and what was rejected or trimmed."""

    columns: dict[str, Sequence[Any]] = field(
        default_factory=lambda: {name: () for name in SPAN_COLUMN_NAMES}
    )
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    truncated_values: int = 0
    redacted_values: int = 0
    dropped_attributes: int = 0
    # Each SDK process reports its cumulative drop count: the latest value per instance.
    sdk_dropped: dict[tuple[str, str], int] = field(default_factory=dict)

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


_SCALARS = frozenset(("string_value", "int_value", "bool_value"))


class _NonFinite(float):
    """A NaN or infinite double: marked so that `_json` writes it as `json.dumps` does (orjson
    would write null)."""


def any_value(value: AnyValue) -> Any:
    """A Python value for an OTLP AnyValue."""
    which = value.WhichOneof("value")
    if which in _SCALARS:
        return getattr(value, which)
    if which == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else _NonFinite(number)
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return None


def attributes_dict(
    attrs: Sequence[KeyValue],
    limit: int,
    max_chars: int,
    batch: MappedBatch | None = None,
    redactor: Redactor = DEFAULT_REDACTOR,
) -> dict[str, Any]:
    """Attributes as a dict, keeping at most `limit`, hiding the values `redactor` hides, and
    truncating long strings."""
    if len(attrs) > limit:
        if batch is not None:
            batch.dropped_attributes += len(attrs) - limit
        attrs = attrs[:limit]
    hidden = redactor.hidden
    out: dict[str, Any] = {}
    for kv in attrs:
        key = kv.key
        hide = hidden.get(key)
        if hide is None:
            hide = redactor.hides(key)
        if hide:
            out[key] = REDACTED
            if batch is not None:
                batch.redacted_values += 1
            continue
        value = kv.value
        # Most values are non-empty strings: read one directly (other kinds read as "").
        text = value.string_value
        if text and len(text) <= max_chars:
            out[key] = text
        elif text:
            out[key] = text[:max_chars]
            if batch is not None:
                batch.truncated_values += 1
        else:
            out[key] = any_value(value)
    return out


def _first(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """The value of the first of `keys` that is set and not empty."""
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value
    return None


def _first_int(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    """`_first` read as an int (None when it is no number)."""
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value if type(value) is int else _as_int(value)
    return None


def _first_str(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """`_first` read as a string."""
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value if type(value) is str else str(value)
    return None


def _as_int(value: Any) -> int | None:
    if type(value) is int:
        return value
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
        keys: tuple[str, ...] = _TOOL_DEPENDENCY_KEYS
    elif kind in (sc.KIND_HTTP, sc.KIND_LLM):
        keys = _CLIENT_DEPENDENCY_KEYS
    else:
        keys = _OWN_DEPENDENCY_KEYS
    value = _first(attrs, keys)
    if value is None and kind == sc.KIND_HTTP:
        value = _host_of(_first(attrs, _URL_KEYS))
    return _as_str(value)


def _host_of(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    host = urlsplit(url).hostname
    return host or None


def agent_name(attrs: Mapping[str, Any], resource_agent: Any) -> str | None:
    """The agent a span names itself, without falling back to `service.name` (materialisation
    does that once it knows the run)."""
    named = _first(attrs, _AGENT_KEYS)
    if named is None:
        traceloop_kind = attrs.get(sc.TRACELOOP_SPAN_KIND)
        if traceloop_kind is not None and str(traceloop_kind).lower() == "agent":
            named = attrs.get(sc.TRACELOOP_ENTITY_NAME)
    return _as_str(named if named is not None else resource_agent)


def _as_str(value: Any) -> str | None:
    return None if value is None else str(value)


_ZERO_IDS = {16: bytes(16), 8: bytes(8)}


_STATUS_ERROR = Status.StatusCode.STATUS_CODE_ERROR
_SDK_REPORT = "firstwatch.sdk.report"
_HTTP_STATUS_KEYS = (sc.HTTP_RESPONSE_STATUS_CODE, sc.HTTP_STATUS_CODE_OLD)
_RETRY_KEYS = (sc.RETRY_COUNT, sc.HTTP_RESEND_COUNT)
_MODEL_KEYS = (sc.GEN_AI_RESPONSE_MODEL, sc.GEN_AI_REQUEST_MODEL, sc.LLM_MODEL_NAME)
_INPUT_TOKEN_KEYS = (
    sc.GEN_AI_USAGE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_PROMPT_TOKENS_OLD,
    sc.LLM_TOKENS_PROMPT,
)
_OUTPUT_TOKEN_KEYS = (
    sc.GEN_AI_USAGE_OUTPUT_TOKENS,
    sc.GEN_AI_USAGE_COMPLETION_TOKENS_OLD,
    sc.LLM_TOKENS_COMPLETION,
)
_ENVIRONMENT_KEYS = (sc.DEPLOYMENT_ENVIRONMENT_NAME, sc.DEPLOYMENT_ENVIRONMENT)
_INPUT_KEYS = (sc.INPUT_VALUE, sc.TRACELOOP_ENTITY_INPUT)
_OUTPUT_KEYS = (sc.OUTPUT_VALUE, sc.TRACELOOP_ENTITY_OUTPUT)
# json.dumps(value, default=str), without building an encoder per call.
_to_json = json.JSONEncoder(default=str, check_circular=False).encode


def _json_default(value: Any) -> Any:
    if isinstance(value, _NonFinite):
        return orjson.Fragment(_to_json(value))  # NaN, Infinity or -Infinity
    return str(value)


def _json(value: Any) -> str:
    """`value` as compact JSON text, with the values `json.dumps(value, default=str)` gives.

    orjson refuses lone surrogates and deep nesting: those values take the standard library's way.
    """
    try:
        return orjson.dumps(value, default=_json_default).decode()
    except orjson.JSONEncodeError:
        return _to_json(value)


class _ErrorReader:
    """Classifies failed spans by one rule table, once for each distinct set of facts: failed
    spans mostly repeat a few errors. Remembers at most `MEMORY` of them."""

    MEMORY = 4096

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = rules
        self._known: dict[ErrorFacts, tuple[str, str | None, str | None, str]] = {}

    def read(self, facts: ErrorFacts) -> tuple[str, str | None, str | None, str]:
        """The error class, type, message and fingerprint."""
        known = self._known.get(facts)
        if known is None:
            if len(self._known) >= self.MEMORY:
                self._known.clear()
            error_class = classify(facts, self.rules)
            error_type = _text(facts.exception_type or facts.error_type, 256)
            error_message = _text(facts.exception_message or facts.status_message)
            error_fingerprint = fingerprint(error_class, error_type, error_message)
            known = self._known[facts] = (error_class, error_type, error_message, error_fingerprint)
        return known


# The reader of each rule table in use, by the table's id: a reader holds its table, so that no
# other table can take the id while the reader is kept. A table is not changed once in use.
_READERS: dict[int, _ErrorReader] = {}


def _error_reader(rules: Sequence[Rule]) -> _ErrorReader:
    reader = _READERS.get(id(rules))
    if reader is None:
        if len(_READERS) >= 16:
            _READERS.clear()
        reader = _READERS[id(rules)] = _ErrorReader(rules)
    return reader


@dataclass(frozen=True)
class _Resource:
    """What every span of one resource shares."""

    project: str
    agent: Any
    service: str | None
    version: Any
    environment: Any
    json: str
    received_ns: int
    instance: str


def map_request(
    request: ExportTraceServiceRequest,
    project: str,
    *,
    max_attributes: int = 1024,
    max_value_chars: int = 4096,
    received_ns: int | None = None,
    rules: Sequence[Rule] = DEFAULT_RULES,
    redactor: Redactor = DEFAULT_REDACTOR,
) -> MappedBatch:
    """Map every span of a request to a row; invalid spans are rejected and counted.

    `rules` classify failed spans (the user's rules file, then the defaults); `redactor` hides
    the values of credential attributes (of spans, events and resources).
    """
    batch = MappedBatch()
    rows: list[tuple[Any, ...]] = []
    now = received_ns if received_ns is not None else time.time_ns()
    errors = _error_reader(rules)
    for resource_spans in request.resource_spans:
        attrs = attributes_dict(
            resource_spans.resource.attributes, max_attributes, max_value_chars, batch, redactor
        )
        resource = _Resource(
            project=project,
            agent=_first(attrs, (sc.AGENT,)),
            service=_as_str(attrs.get(sc.SERVICE_NAME)),
            version=_first(attrs, (sc.AGENT_VERSION, sc.SERVICE_VERSION)),
            environment=_first(attrs, _ENVIRONMENT_KEYS),
            json=_json(attrs),
            instance=str(attrs.get(sc.SERVICE_INSTANCE_ID) or attrs.get(sc.SERVICE_NAME) or ""),
            received_ns=now,
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                row = _span_row(
                    span, resource, batch, max_attributes, max_value_chars, errors, redactor
                )
                if row is not None:
                    rows.append(row)
    if rows:
        columns = zip(*rows, strict=True)
        batch.columns = dict(zip(SPAN_COLUMN_NAMES, columns, strict=True))
    return batch


def _invalid(trace_id: bytes, span_id: bytes, parent: bytes, start: int, end: int) -> str | None:
    """Why a span cannot be stored, if it cannot."""
    if len(trace_id) != 16 or trace_id == _ZERO_IDS[16]:
        return "trace_id must be 16 bytes (32 hex characters), not all zero"
    if len(span_id) != 8 or span_id == _ZERO_IDS[8]:
        return "span_id must be 8 bytes (16 hex characters), not all zero"
    if parent and len(parent) != 8:
        return "parent_span_id must be empty or 8 bytes (16 hex characters)"
    if end < start:
        return "end_time_unix_nano is before start_time_unix_nano"
    if start == 0:
        return "start_time_unix_nano is missing"
    return None


# A key with this prefix shows in a span's attribute JSON as `"firstwatch.check.`: one search of
# that text tells whether the keys need reading for failed checks at all.
_CHECK_KEY_IN_JSON = '"' + sc.CHECK_PREFIX


def _span_row(
    span: PbSpan,
    resource: _Resource,
    batch: MappedBatch,
    max_attributes: int,
    max_value_chars: int,
    errors: _ErrorReader,
    redactor: Redactor,
) -> tuple[Any, ...] | None:
    """One span's row in `SPAN_COLUMN_NAMES` order, or None when it is rejected (and counted)."""
    trace_id = span.trace_id
    span_id = span.span_id
    parent = span.parent_span_id
    start = span.start_time_unix_nano
    end = span.end_time_unix_nano
    problem = _invalid(trace_id, span_id, parent, start, end)
    if problem is not None:
        batch.reject(problem)
        return None
    attrs = attributes_dict(span.attributes, max_attributes, max_value_chars, batch, redactor)
    name = span.name
    if name == _SDK_REPORT:
        # The SDK's own report is read, not stored: it is no run of any agent.
        key = (resource.project, resource.instance)
        reported = _as_int(attrs.get(sc.SDK_DROPPED_SPANS)) or 0
        batch.sdk_dropped[key] = max(batch.sdk_dropped.get(key, 0), reported)
        return None
    span_events = span.events
    events = (
        [
            (
                event.name,
                attributes_dict(event.attributes, max_attributes, max_value_chars, batch, redactor),
                event.time_unix_nano,
            )
            for event in span_events
        ]
        if span_events
        else None
    )
    otel_kind = span.kind
    kind = span_kind(attrs, otel_kind)
    status = span.status
    status_message = status.message
    error_type = error_message = error_class = error_fingerprint = None
    is_error = status.code == _STATUS_ERROR
    if is_error:
        named_events = [(n, a) for n, a, _ in events] if events else []
        facts = facts_from_span(attrs, named_events, status_message or None, kind)
        error_class, error_type, error_message, error_fingerprint = errors.read(facts)
    attributes_json = _json(attrs)
    # Previews are read only from spans that can be runs (store.schema.RUN_ONLY_COLUMNS).
    can_be_run = kind == sc.KIND_RUN or not parent
    get = attrs.get
    return (
        resource.project,
        trace_id.hex(),
        span_id.hex(),
        parent.hex() if parent else None,
        name[:max_value_chars],
        int(otel_kind),
        kind,
        kind == sc.KIND_RUN,
        start,
        end,
        (end - start) / 1e6,
        "error" if is_error else "ok",
        status_message[:max_value_chars] or None,
        error_type,
        error_message,
        error_class,
        agent_name(attrs, resource.agent),
        _as_str(_first(attrs, _AGENT_VERSION_KEYS) or resource.version),
        str(resource.environment or _first(attrs, _ENVIRONMENT_KEYS) or "unknown"),
        resource.service,
        dependency_of(kind, attrs),
        _first_int(attrs, _HTTP_STATUS_KEYS),
        _first_int(attrs, _RETRY_KEYS),
        _as_float(get(sc.RETRY_WAIT_MS)),
        _first_str(attrs, _MODEL_KEYS),
        _first_int(attrs, _INPUT_TOKEN_KEYS),
        _first_int(attrs, _OUTPUT_TOKEN_KEYS),
        _as_str(get(sc.RESOURCE_KEY)),
        _as_str(get(sc.RESOURCE_OP)),
        _text(_first(attrs, _INPUT_KEYS)) if can_be_run else None,
        _text(_first(attrs, _OUTPUT_KEYS)) if can_be_run else None,
        attributes_json,
        resource.json,
        _json([{"name": n, "time_ns": t, "attributes": a} for n, a, t in events])
        if events
        else None,
        resource.received_ns,
        error_fingerprint,
        encode_checks(failed_checks(attrs)) if _CHECK_KEY_IN_JSON in attributes_json else None,
    )
