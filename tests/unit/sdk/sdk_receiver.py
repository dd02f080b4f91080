"""A small OTLP/HTTP trace receiver on 127.0.0.1 for the SDK's tests.

It decodes `ExportTraceServiceRequest` protobuf bodies, can answer scripted failures first (503 or
429, with Retry-After), and can hold its answers until released, to stall the exporter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def plain(value: AnyValue) -> Any:
    """An OTLP AnyValue as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [plain(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


@dataclass
class ReceivedSpan:
    """One decoded span with its resource's attributes."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int
    events: list[str]


@dataclass
class Attempt:
    """One POST as the receiver saw it (header names in lower case)."""

    path: str
    headers: dict[str, str]
    status: int
    at: float


@dataclass
class OtlpReceiver:
    """Collects spans POSTed to /v1/traces; see the module docstring."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    spans: list[ReceivedSpan] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self.gate.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.gate.wait(60)
                with receiver.lock:
                    status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                    receiver.attempts.append(
                        Attempt(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            status,
                            time.monotonic(),
                        )
                    )
                    if status == 200:
                        receiver._accept(body)
                payload = ExportTraceServiceResponse().SerializeToString() if status == 200 else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _accept(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: plain(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={a.key: plain(a.value) for a in span.attributes},
                            resource=resource,
                            status_code=span.status.code,
                            events=[e.name for e in span.events],
                        )
                    )

    def received(self, name: str | None = None) -> list[ReceivedSpan]:
        """Spans received so far (optionally only those with this name)."""
        with self.lock:
            return [s for s in self.spans if name is None or s.name == name]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Poll `predicate` until true or `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    def close(self) -> None:
        """Release any held answer and stop serving."""
        self.gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
