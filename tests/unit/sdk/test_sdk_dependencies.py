"""httpx and requests calls inside a run become dependency spans that show silent retries."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import firstwatch
from firstwatch import semconv


class FlakyApi:
    """A local HTTP API that answers 429 to the first call of each path, then 200."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                n = api.calls[self.path] = api.calls.get(self.path, 0) + 1
                status = 429 if n == 1 and self.path.startswith("/flaky") else 200
                body = b"slow down" if status == 429 else b'{"ok": true}'
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[FlakyApi]:
    server = FlakyApi()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def traced() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    firstwatch.init(agent="caller", exporter=exporter)
    return exporter


def finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    assert firstwatch.flush(timeout=10)
    return list(exporter.get_finished_spans())


def http_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    found = [s for s in spans if (s.attributes or {}).get(semconv.KIND) == semconv.KIND_HTTP]
    return sorted(found, key=lambda s: s.start_time or 0)


def check_retry_pair(spans: Sequence[ReadableSpan], parent_name: str) -> None:
    parent = next(s for s in spans if s.name == parent_name)
    assert parent.context is not None
    first, second = http_spans(spans)
    for span in (first, second):
        a = span.attributes or {}
        assert a[semconv.DEPENDENCY] == "127.0.0.1"
        assert a[semconv.SERVER_ADDRESS] == "127.0.0.1"
        assert span.parent is not None and span.parent.span_id == parent.context.span_id
    a1, a2 = first.attributes or {}, second.attributes or {}
    assert a1[semconv.HTTP_RESPONSE_STATUS_CODE] == 429
    assert semconv.HTTP_RESEND_COUNT not in a1
    assert a2[semconv.HTTP_RESPONSE_STATUS_CODE] == 200
    assert a2[semconv.HTTP_RESEND_COUNT] == 1
    # The agent slept 50 ms between the attempts: that wait is the retry's cost.
    waited = a2[semconv.RETRY_WAIT_MS]
    assert isinstance(waited, float) and waited >= 50


def test_httpx_retry_after_429_is_visible(api: FlakyApi, traced: InMemorySpanExporter) -> None:
    with firstwatch.run() as run, run.step("fetch"), httpx.Client() as client:
        response = client.get(f"{api.url}/flaky/items?page=1")
        if response.status_code == 429:
            time.sleep(0.05)
            response = client.get(f"{api.url}/flaky/items?page=1")
        assert response.status_code == 200
    check_retry_pair(finished(traced), "fetch")


def test_requests_retry_after_429_is_visible(api: FlakyApi, traced: InMemorySpanExporter) -> None:
    with firstwatch.run() as run, run.step("fetch"):
        response = requests.get(f"{api.url}/flaky/r", timeout=10)
        if response.status_code == 429:
            time.sleep(0.05)
            response = requests.get(f"{api.url}/flaky/r", timeout=10)
        assert response.status_code == 200
    check_retry_pair(finished(traced), "fetch")


def test_async_httpx_in_a_run(api: FlakyApi, traced: InMemorySpanExporter) -> None:
    async def agent() -> int:
        async with firstwatch.run("async agent"), httpx.AsyncClient() as client:
            response = await client.get(f"{api.url}/flaky/async")
            await asyncio.sleep(0.05)
            response = await client.get(f"{api.url}/flaky/async")
            return response.status_code

    assert asyncio.run(agent()) == 200
    check_retry_pair(finished(traced), "async agent")


def test_a_different_path_is_not_a_resend(api: FlakyApi, traced: InMemorySpanExporter) -> None:
    with firstwatch.run(), httpx.Client() as client:
        assert client.get(f"{api.url}/flaky/one").status_code == 429
        assert client.get(f"{api.url}/other").status_code == 200
        assert client.get(f"{api.url}/other").status_code == 200
    spans = http_spans(finished(traced))
    assert len(spans) == 3
    assert all(semconv.HTTP_RESEND_COUNT not in (s.attributes or {}) for s in spans)


def test_calls_outside_a_run_are_not_recorded(api: FlakyApi, traced: InMemorySpanExporter) -> None:
    with httpx.Client() as client:
        assert client.get(f"{api.url}/other").status_code == 200
    assert requests.get(f"{api.url}/other", timeout=10).status_code == 200
    with firstwatch.run("inside"), httpx.Client() as client:
        client.get(f"{api.url}/other")
    spans = finished(traced)
    assert [s.name for s in spans if s.name != "inside"] == ["GET"]


def test_shutdown_removes_the_instrumentation(api: FlakyApi) -> None:
    firstwatch.init(agent="a", exporter=InMemorySpanExporter())
    firstwatch.shutdown()
    exporter = InMemorySpanExporter()
    firstwatch.init(agent="b", exporter=exporter, instrument_http=False)
    with firstwatch.run(), httpx.Client() as client:
        client.get(f"{api.url}/other")
    assert http_spans(finished(exporter)) == []


def test_a_step_names_the_dependency_of_its_calls(
    api: FlakyApi, traced: InMemorySpanExporter
) -> None:
    registry = {semconv.DEPENDENCY: "company-registry"}
    with firstwatch.run() as run, httpx.Client() as client:
        with run.step("lookup", kind="tool", attributes=registry) as step, step.step("inner"):
            client.get(f"{api.url}/other")
        with run.step("plain"):
            client.get(f"{api.url}/other")
    first, second = http_spans(finished(traced))
    assert (first.attributes or {})[semconv.DEPENDENCY] == "company-registry"
    assert (first.attributes or {})[semconv.SERVER_ADDRESS] == "127.0.0.1"
    assert (second.attributes or {})[semconv.DEPENDENCY] == "127.0.0.1"


def test_a_time_warp_moves_http_spans_and_resend_waits(api: FlakyApi) -> None:
    origin = time.time_ns()
    day = 86_400 * 10**9

    def tenfold_a_day_ago(real_ns: int) -> int:
        return origin - day + (real_ns - origin) * 10

    exporter = InMemorySpanExporter()
    firstwatch.init(agent="sim", exporter=exporter, time_warp=tenfold_a_day_ago)
    with firstwatch.run() as run, run.step("fetch"), httpx.Client() as client:
        response = client.get(f"{api.url}/flaky/warped")
        time.sleep(0.05)
        response = client.get(f"{api.url}/flaky/warped")
        assert response.status_code == 200
    after = time.time_ns()
    spans = finished(exporter)
    first, second = http_spans(spans)
    for span in spans:
        assert span.start_time is not None and span.end_time is not None
        assert origin - day <= span.start_time <= span.end_time <= tenfold_a_day_ago(after)
    assert second.start_time is not None and first.end_time is not None
    # The resend's wait is measured on the warped timeline: ten times the 50 ms slept.
    waited = (second.attributes or {})[semconv.RETRY_WAIT_MS]
    assert isinstance(waited, float) and waited >= 500
    assert waited == pytest.approx((second.start_time - first.end_time) / 1e6, abs=1.0)
