"""OTLP/HTTP: `POST /v1/traces` per the OTLP spec, with the statuses of design.md §5."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.concurrency import run_in_threadpool

from firstwatch.ingest.decode import JSON, PROTOBUF, DecodeError, media_type
from firstwatch.ingest.pipeline import NotDurable, Overloaded
from firstwatch.server.auth import KEY_CHECK_RETRY_S, AuthError, authenticate, key_from_headers
from firstwatch.server.state import AppState

router = APIRouter()

# gRPC codes used in google.rpc.Status bodies.
_GRPC_CODE = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 503: 14}


def _status_response(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> Response:
    body = status_pb2.Status(code=_GRPC_CODE.get(status, 2), message=message)
    if kind == PROTOBUF:
        return Response(body.SerializeToString(), status, headers=headers, media_type=PROTOBUF)
    payload = json_format.MessageToDict(body)
    return Response(json.dumps(payload), status, headers=headers, media_type=JSON)


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than `limit` bytes whether or not Content-Length is set."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise DecodeError(413, f"body of {declared} bytes is larger than the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DecodeError(413, f"body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/traces", include_in_schema=False)
async def export_traces(request: Request) -> Response:
    """OTLP/HTTP trace export."""
    state: AppState = request.app.state.firstwatch
    kind = media_type(request.headers.get("content-type"))
    reply_kind = PROTOBUF if kind == PROTOBUF else JSON
    try:
        principal = authenticate(
            state.store,
            key_from_headers(
                request.headers.get("authorization"), request.headers.get("x-api-key")
            ),
            keys_required=state.settings.keys_required,
            need="ingest",
        )
    except AuthError as exc:
        if exc.status == 503:
            state.ingestor.stats.request_rejected("key_unchecked")
            retry = {"Retry-After": str(KEY_CHECK_RETRY_S)}
            return _status_response(503, exc.message, reply_kind, headers=retry)
        state.ingestor.stats.request_rejected("unauthorized")
        return _status_response(exc.status, exc.message, reply_kind)
    try:
        if kind not in (PROTOBUF, JSON):
            raise DecodeError(
                415,
                f"unsupported Content-Type {request.headers.get('content-type')!r}: "
                f"OTLP/HTTP accepts {PROTOBUF} or {JSON}",
            )
        body = await _read_body(request, state.settings.max_body_bytes)
        batch = await run_in_threadpool(
            state.ingestor.accept_body,
            body,
            request.headers.get("content-type"),
            request.headers.get("content-encoding"),
            principal.project,
        )
    except DecodeError as exc:
        state.ingestor.stats.request_rejected(f"http_{exc.status}")
        return _status_response(exc.status, exc.message, reply_kind)
    except Overloaded as exc:
        return _status_response(
            503, str(exc), reply_kind, headers={"Retry-After": str(exc.retry_after_s)}
        )
    except NotDurable as exc:
        return _status_response(503, str(exc), reply_kind, headers={"Retry-After": "5"})
    state.wake_writer()
    response = ExportTraceServiceResponse()
    if batch.rejected:
        response.partial_success.rejected_spans = batch.rejected
        response.partial_success.error_message = batch.message()
    if reply_kind == PROTOBUF:
        return Response(response.SerializeToString(), 200, media_type=PROTOBUF)
    payload: dict[str, Any] = json_format.MessageToDict(response)
    return Response(json.dumps(payload), 200, media_type=JSON)


def _only_traces(signal: str) -> Response:
    return Response(
        json.dumps(
            {
                "code": 5,
                "message": f"firstwatch accepts traces only (POST /v1/traces); {signal} are not "
                "collected",
            }
        ),
        404,
        media_type=JSON,
    )


@router.post("/v1/metrics", include_in_schema=False)
async def export_metrics() -> Response:
    """Metrics are not collected."""
    return _only_traces("metrics")


@router.post("/v1/logs", include_in_schema=False)
async def export_logs() -> Response:
    """Logs are not collected."""
    return _only_traces("logs")
