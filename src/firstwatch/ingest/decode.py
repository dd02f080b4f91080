"""Decode an OTLP/HTTP request body into an `ExportTraceServiceRequest` (OTLP spec, design.md §5).

Errors carry the HTTP status the spec asks for: 400 for what does not decode, 413 for what is too
large (checked before and after decompression, so a gzip bomb is refused without being
inflated), 415 for media types other than protobuf and JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class DecodeError(Exception):
    """The body cannot be accepted; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header (`application/json; charset=utf-8` → JSON)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def inflate(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Undo Content-Encoding, refusing output larger than max_bytes."""
    enc = (encoding or "identity").strip().lower()
    if enc in ("", "identity"):
        return body
    if enc not in ("gzip", "deflate"):
        raise DecodeError(415, f"unsupported Content-Encoding {encoding!r}: use gzip or none")
    wbits = 16 + zlib.MAX_WBITS if enc == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise DecodeError(400, f"body is not valid {enc}: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise DecodeError(413, f"decompressed body is larger than the limit of {max_bytes} bytes")
    if not inflater.eof:
        raise DecodeError(400, f"body is truncated {enc} data")
    return out


def decode_request(
    body: bytes, content_type: str | None, content_encoding: str | None, max_bytes: int
) -> ExportTraceServiceRequest:
    """Decode a whole OTLP/HTTP trace request body."""
    kind = media_type(content_type)
    if kind not in (PROTOBUF, JSON):
        raise DecodeError(
            415,
            f"unsupported Content-Type {content_type!r}: OTLP/HTTP accepts {PROTOBUF} or {JSON}",
        )
    if len(body) > max_bytes:
        raise DecodeError(413, f"body of {len(body)} bytes is larger than the limit of {max_bytes}")
    raw = inflate(body, content_encoding, max_bytes)
    if kind == PROTOBUF:
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(raw)
        except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
            raise DecodeError(400, f"body is not a valid OTLP protobuf message: {exc}") from None
        return request
    return decode_json(raw)


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(node: Any) -> None:
    """OTLP/JSON carries ids as hex; protobuf's JSON mapping expects base64 for bytes."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
                except ValueError:
                    # Not hex: leave an empty id so the span is rejected alone (partial success).
                    node[key] = ""
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def decode_json(raw: bytes) -> ExportTraceServiceRequest:
    """Decode an OTLP/JSON body (hex ids, lowerCamelCase or snake_case field names)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(400, f"body is not valid UTF-8: {exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise DecodeError(400, "body must be a JSON object with a resourceSpans array")
    _hex_ids_to_base64(document)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, ValueError, TypeError) as exc:
        raise DecodeError(400, f"body is not a valid OTLP/JSON trace request: {exc}") from None
    return request
