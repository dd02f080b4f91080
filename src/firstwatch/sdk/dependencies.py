"""httpx and requests calls made inside a run, as dependency spans that show silent retries.

OpenTelemetry's own instrumentations make the spans (on our tracer provider, whose sampler keeps
them only inside a run); our hooks add `firstwatch.kind=http` and `firstwatch.dependency` (the
one declared on the enclosing step, as in `run.step("search", kind="tool", attributes={
"firstwatch.dependency": "company-registry"})`, else the host called), and
notice resends: a call to the same host and path, in the same step, after an attempt that failed
with 429, a 5xx or no response at all, gets `http.request.resend_count` and the time waited since
that attempt ended in `firstwatch.retry.wait_ms` (on the warped timeline, if there is a warp).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry.trace import Span, TracerProvider

from firstwatch import semconv
from firstwatch.sdk import lifecycle
from firstwatch.sdk.guard import internal_error
from firstwatch.sdk.scopes import current_scope
from firstwatch.sdk.timewarp import warped_ms

log = logging.getLogger("firstwatch.sdk")

_MAX_KEYS: Final = 256
# A call is identified by (host, port, path): the same call sent again is a resend.
_Key = tuple[str, str, str]
_MAX_ATTEMPTS: Final = 64
_ledger_lock = threading.Lock()


def is_retryable_status(status: int) -> bool:
    """Whether a response status usually leads a client to send the request again."""
    return status == 429 or status >= 500


class _Attempt:
    __slots__ = ("failed", "resend", "retried", "span")

    def __init__(self, span: Span, resend: int) -> None:
        self.span = span
        self.resend = resend
        self.failed: bool | None = None
        self.retried = False

    def has_failed(self) -> bool:
        if self.failed is not None:
            return self.failed
        return getattr(self.span, "end_time", None) is not None


class Ledger:
    """The HTTP attempts of one step, by host and path, to tell resends from first sends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: dict[_Key, list[_Attempt]] = {}

    def begin(self, span: Span, key: _Key) -> tuple[int, float | None]:
        """Register an attempt; returns its resend count and the ms waited since the failed one."""
        with self._lock:
            attempts = self._attempts.get(key)
            if attempts is None:
                if len(self._attempts) >= _MAX_KEYS:
                    return 0, None
                attempts = self._attempts[key] = []
            prior = next((a for a in attempts if not a.retried and a.has_failed()), None)
            attempt = _Attempt(span, prior.resend + 1 if prior is not None else 0)
            if prior is not None:
                prior.retried = True
            attempts[:] = [a for a in attempts if not a.retried][-_MAX_ATTEMPTS + 1 :]
            attempts.append(attempt)
        if prior is None:
            return 0, None
        waited: float | None = None
        start = getattr(span, "start_time", None)
        end = getattr(prior.span, "end_time", None)
        if isinstance(start, int) and isinstance(end, int):
            rt = lifecycle.runtime()
            waited = warped_ms(rt.warp if rt is not None else None, end, start)
        return attempt.resend, waited

    def end(self, span: Span, key: _Key, status: int) -> None:
        """Record the status an attempt got."""
        with self._lock:
            attempts = self._attempts.get(key, [])
            for attempt in attempts:
                if attempt.span is span:
                    attempt.failed = is_retryable_status(status)
                    if not attempt.failed:
                        attempts.remove(attempt)
                    break


def _ledger() -> Ledger | None:
    scope = current_scope()
    if scope is None:
        return None
    ledger = scope.http_ledger
    if isinstance(ledger, Ledger):
        return ledger
    with _ledger_lock:
        if not isinstance(scope.http_ledger, Ledger):
            scope.http_ledger = Ledger()
        return scope.http_ledger


def _httpx_key(url: Any) -> _Key:
    if isinstance(url, tuple):
        host, port, target = url[1], url[2], url[3]
        host = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
        target = target.decode("ascii", "replace") if isinstance(target, bytes) else str(target)
        return host, str(port or ""), target.split("?", 1)[0]
    return str(url.host), str(url.port or ""), str(url.path)


def _url_key(url: str) -> _Key:
    parts = urlsplit(url)
    return parts.hostname or "", str(parts.port or ""), parts.path or "/"


def _on_request(span: Span, key: _Key) -> None:
    if not span.is_recording():
        return
    try:
        host = key[0]
        scope = current_scope()
        declared = scope.declared_dependency() if scope is not None else None
        attributes: dict[str, Any] = {
            semconv.KIND: semconv.KIND_HTTP,
            semconv.DEPENDENCY: declared or host,
            semconv.SERVER_ADDRESS: host,
        }
        ledger = _ledger()
        if ledger is not None:
            resend, waited = ledger.begin(span, key)
            if resend:
                attributes[semconv.HTTP_RESEND_COUNT] = resend
                if waited is not None:
                    attributes[semconv.RETRY_WAIT_MS] = round(waited, 3)
        span.set_attributes(attributes)
    except Exception:
        internal_error("http request hook")


def _on_response(span: Span, key: _Key, status: int | None) -> None:
    if not span.is_recording() or status is None:
        return
    try:
        span.set_attribute(semconv.HTTP_RESPONSE_STATUS_CODE, int(status))
        ledger = _ledger()
        if ledger is not None:
            ledger.end(span, key, int(status))
    except Exception:
        internal_error("http response hook")


def _httpx_request(span: Span, request: Any) -> None:
    _on_request(span, _httpx_key(request[1]))


def _httpx_response(span: Span, request: Any, response: Any) -> None:
    _on_response(span, _httpx_key(request[1]), response[0])


async def _httpx_async_request(span: Span, request: Any) -> None:
    _httpx_request(span, request)


async def _httpx_async_response(span: Span, request: Any, response: Any) -> None:
    _httpx_response(span, request, response)


def _requests_request(span: Span, request: Any) -> None:
    _on_request(span, _url_key(str(request.url)))


def _requests_response(span: Span, request: Any, response: Any) -> None:
    _on_response(span, _url_key(str(request.url)), getattr(response, "status_code", None))


class HttpInstrumentation:
    """Turns the httpx and requests instrumentations on for our provider, and off again."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._ours: list[Any] = []

    def start(self) -> None:
        """Instrument whichever of httpx and requests is installed and not instrumented yet."""
        for name, hooks in (
            (
                "httpx",
                {
                    "request_hook": _httpx_request,
                    "response_hook": _httpx_response,
                    "async_request_hook": _httpx_async_request,
                    "async_response_hook": _httpx_async_response,
                },
            ),
            (
                "requests",
                {"request_hook": _requests_request, "response_hook": _requests_response},
            ),
        ):
            try:
                instrumentor = _instrumentor(name)
                if instrumentor is None:
                    continue
                if instrumentor.is_instrumented_by_opentelemetry:
                    log.info("firstwatch: %s is already instrumented; not recording it", name)
                    continue
                instrumentor.instrument(tracer_provider=self._provider, **hooks)
                if instrumentor.is_instrumented_by_opentelemetry:
                    self._ours.append(instrumentor)
            except Exception:
                internal_error(f"instrument {name}")

    def stop(self) -> None:
        """Undo what `start` did."""
        while self._ours:
            instrumentor = self._ours.pop()
            try:
                instrumentor.uninstrument()
            except Exception:
                internal_error("uninstrument")


def _instrumentor(name: str) -> Any:
    try:
        if name == "httpx":
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            return HTTPXClientInstrumentor()
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        return RequestsInstrumentor()
    except ImportError:
        log.debug("firstwatch: no instrumentation for %s", name)
        return None
