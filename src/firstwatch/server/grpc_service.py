"""OTLP/gRPC: the trace service on port 4317, sharing the HTTP path's ingestor and log."""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from firstwatch.ingest.pipeline import NotDurable, Overloaded
from firstwatch.server.auth import KEY_CHECK_RETRY_S, AuthError, authenticate, key_from_headers
from firstwatch.server.state import AppState

log = logging.getLogger(__name__)


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """`opentelemetry.proto.collector.trace.v1.TraceService/Export`."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def Export(
        self, request: ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> ExportTraceServiceResponse:
        """Map, log durably, then answer; errors map to the OTLP/gRPC status codes."""
        metadata = {k.lower(): v for k, v in context.invocation_metadata()}
        auth = metadata.get("authorization")
        api_key = metadata.get("x-api-key")
        try:
            principal = authenticate(
                self.state.store,
                key_from_headers(
                    auth if isinstance(auth, str) else None,
                    api_key if isinstance(api_key, str) else None,
                ),
                keys_required=self.state.settings.keys_required,
                need="ingest",
            )
        except AuthError as exc:
            if exc.status == 503:
                self.state.ingestor.stats.request_rejected("key_unchecked")
                _unavailable(context, exc.message, KEY_CHECK_RETRY_S)
            self.state.ingestor.stats.request_rejected("unauthorized")
            code = (
                grpc.StatusCode.UNAUTHENTICATED
                if exc.status == 401
                else (grpc.StatusCode.PERMISSION_DENIED)
            )
            context.abort(code, exc.message)
        if request.ByteSize() > self.state.settings.max_body_bytes:
            self.state.ingestor.stats.request_rejected("http_413")
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "request is larger than the limit")
        try:
            batch = self.state.ingestor.accept(request, principal.project)
        except Overloaded as exc:
            _unavailable(context, str(exc), exc.retry_after_s)
        except NotDurable as exc:
            _unavailable(context, str(exc), 5)
        self.state.wake_writer()
        response = ExportTraceServiceResponse()
        if batch.rejected:
            response.partial_success.rejected_spans = batch.rejected
            response.partial_success.error_message = batch.message()
        return response


def _unavailable(context: grpc.ServicerContext, message: str, retry_after_s: int) -> None:
    """End the call with UNAVAILABLE and how long to wait before retrying, where OTLP/gRPC
    exporters read it: a `RetryInfo` in the `google.rpc.retryinfo-bin` trailer (OpenTelemetry
    Python) and among the status details of `grpc-status-details-bin` (the Go and Java SDKs)."""
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after_s))
    detail = any_pb2.Any()
    detail.Pack(retry)
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message, details=[detail])
    context.set_trailing_metadata(
        (
            ("google.rpc.retryinfo-bin", retry.SerializeToString()),
            ("grpc-status-details-bin", status.SerializeToString()),
        )
    )
    context.abort(grpc.StatusCode.UNAVAILABLE, message)


def start_grpc(state: AppState, host: str, port: int) -> tuple[grpc.Server, int]:
    """Start the gRPC server; returns it and the port it bound."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="firstwatch-grpc"),
        options=[
            ("grpc.max_receive_message_length", state.settings.max_body_bytes),
        ],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        TraceService(state), server
    )
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot bind OTLP/gRPC on {address}")
    server.start()
    return server, bound
