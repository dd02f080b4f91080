"""Configure the SDK once (`init`), send what is queued (`flush`), and stop it (`shutdown`).

`init` builds a tracer provider of our own (the application's global provider is left alone
unless asked), a byte-bounded batch processor and the OTLP/HTTP exporter, and turns on the
httpx/requests instrumentation. It never raises: a failure is logged and the SDK stays a no-op.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from firstwatch import semconv
from firstwatch.sdk.clock import Clock, TimeWarp
from firstwatch.sdk.config import SdkSettings
from firstwatch.sdk.guard import internal_error
from firstwatch.sdk.runtime import Profiler, Runtime

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("firstwatch.sdk")

INSTRUMENTATION_NAME = "firstwatch"
MAX_SPAN_ATTRIBUTES = 1024


@dataclass
class _Pipeline:
    settings: SdkSettings
    runtime: Runtime
    provider: Any
    processor: Any
    http: Any


_lock = threading.RLock()
_pipeline: _Pipeline | None = None
_atexit_registered = False


def runtime() -> Runtime | None:
    """The live runtime, or None before `init` (everything is then a no-op)."""
    pipeline = _pipeline
    return pipeline.runtime if pipeline is not None else None


def settings() -> SdkSettings | None:
    """The settings in force, or None before `init`."""
    pipeline = _pipeline
    return pipeline.settings if pipeline is not None else None


def init(
    agent: str | None = None,
    version: str | None = None,
    environment: str | None = None,
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    queue_mb: float | None = None,
    send_inputs: bool | None = None,
    disabled: bool | None = None,
    instrument_http: bool | None = None,
    export_timeout: float | None = None,
    exit_timeout: float | None = None,
    clock: Clock | None = None,
    time_warp: TimeWarp | None = None,
    profiler: Profiler | None = None,
    exporter: SpanExporter | None = None,
    set_global_provider: bool = False,
) -> None:
    """Configure the SDK. Until it is called, runs and steps record nothing.

    Every setting is taken from its argument, else its environment variable, else its default
    (see `SdkSettings`); a bad value is logged and skipped. Calling `init` again replaces the
    previous configuration. This never raises.

    Args:
        agent: The agent's name (`FIRSTWATCH_AGENT`).
        version: The agent's version (`FIRSTWATCH_AGENT_VERSION`).
        environment: The deployment environment (`FIRSTWATCH_ENVIRONMENT`).
        endpoint: Server base URL (`FIRSTWATCH_ENDPOINT`, default http://127.0.0.1:4318).
        api_key: Ingest key (`FIRSTWATCH_API_KEY`).
        queue_mb: Memory bound of the span queue (`FIRSTWATCH_QUEUE_MB`, default 64).
        send_inputs: Send raw inputs too (`FIRSTWATCH_SEND_INPUTS`, default false).
        disabled: Stay a no-op (`FIRSTWATCH_DISABLED`).
        instrument_http: Record httpx/requests calls in runs (`FIRSTWATCH_INSTRUMENT_HTTP`).
        export_timeout: Seconds per batch before giving up (`FIRSTWATCH_EXPORT_TIMEOUT`).
        exit_timeout: Seconds allowed at exit to send the queue (`FIRSTWATCH_EXIT_TIMEOUT`).
        clock: A callable giving the current time (epoch seconds or datetime), for
            simulations and replays; spans without an explicit time take theirs from it.
        time_warp: A monotone map from real to recorded time (nanoseconds since the epoch),
            for simulations that compress time: applied to every span as it ends (start,
            end, events; ours and auto-instrumented ones alike, explicit and clock times
            too) and to the resend waits the SDK measures. Waits given to `retry` are
            recorded as given.
        profiler: Replaces `firstwatch.profiling.profile_input` as the input profiler.
        exporter: Send spans to this exporter instead of OTLP/HTTP (tests, other backends).
        set_global_provider: Also make our tracer provider OpenTelemetry's global one.
    """
    arguments: dict[str, object] = {
        "agent": agent,
        "version": version,
        "environment": environment,
        "endpoint": endpoint,
        "api_key": api_key,
        "queue_mb": queue_mb,
        "send_inputs": send_inputs,
        "disabled": disabled,
        "instrument_http": instrument_http,
        "export_timeout": export_timeout,
        "exit_timeout": exit_timeout,
    }
    try:
        resolved = SdkSettings.load(arguments)
        with _lock:
            shutdown()
            if resolved.disabled:
                log.info("firstwatch: disabled; recording nothing")
                return
            _start(resolved, clock, time_warp, profiler, exporter, set_global_provider)
    except Exception:
        internal_error("init")


def _start(
    resolved: SdkSettings,
    clock: Clock | None,
    time_warp: TimeWarp | None,
    profiler: Profiler | None,
    exporter: SpanExporter | None,
    set_global_provider: bool,
) -> None:
    global _pipeline, _atexit_registered
    from opentelemetry import trace as trace_api
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from firstwatch import __version__
    from firstwatch.sdk.dependencies import HttpInstrumentation
    from firstwatch.sdk.processor import BoundedBatchSpanProcessor
    from firstwatch.sdk.sampler import RunScopedSampler

    resource = Resource.create(_resource_attributes(resolved))
    provider = TracerProvider(
        resource=resource,
        sampler=RunScopedSampler(),
        span_limits=SpanLimits(max_span_attributes=MAX_SPAN_ATTRIBUTES),
        shutdown_on_exit=False,
    )
    processor = BoundedBatchSpanProcessor(
        exporter if exporter is not None else _otlp_exporter(resolved),
        max_queue_bytes=int(resolved.queue_mb * 1024 * 1024),
        resource=resource,
        scope=InstrumentationScope(INSTRUMENTATION_NAME, __version__),
        time_warp=time_warp,
    )
    provider.add_span_processor(processor)
    if set_global_provider:
        trace_api.set_tracer_provider(provider)
    http = HttpInstrumentation(provider)
    if resolved.instrument_http:
        http.start()
    rt = Runtime(
        tracer=provider.get_tracer(INSTRUMENTATION_NAME, __version__),
        agent=resolved.agent,
        version=resolved.version,
        send_inputs=resolved.send_inputs,
        clock=clock,
        profiler=profiler,
        warp=time_warp,
    )
    _pipeline = _Pipeline(resolved, rt, provider, processor, http)
    if not _atexit_registered:
        atexit.register(_at_exit)
        _atexit_registered = True


def _resource_attributes(resolved: SdkSettings) -> Mapping[str, str]:
    attributes: dict[str, str] = {}
    if resolved.agent is not None:
        attributes[semconv.SERVICE_NAME] = resolved.agent
        attributes[semconv.AGENT] = resolved.agent
    if resolved.version is not None:
        attributes[semconv.SERVICE_VERSION] = resolved.version
        attributes[semconv.AGENT_VERSION] = resolved.version
    if resolved.environment is not None:
        attributes[semconv.DEPLOYMENT_ENVIRONMENT_NAME] = resolved.environment
    return attributes


def _otlp_exporter(resolved: SdkSettings) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = {"Authorization": f"Bearer {resolved.api_key}"} if resolved.api_key else {}
    return OTLPSpanExporter(
        endpoint=f"{resolved.endpoint}/v1/traces",
        headers=headers,
        timeout=resolved.export_timeout,
    )


def flush(timeout: float = 5.0) -> bool:
    """Send everything queued so far, waiting at most `timeout` seconds.

    Args:
        timeout: Longest wait in seconds.

    Returns:
        True if everything queued was handed to the exporter in time (before `init`: True).
    """
    pipeline = _pipeline
    if pipeline is None:
        return True
    return _bounded(pipeline.processor.force_flush, timeout)


def shutdown(timeout: float = 5.0) -> None:
    """Flush within `timeout` seconds, then stop; recording is a no-op until the next `init`.

    Args:
        timeout: Longest time spent, in seconds, flushing and stopping together.
    """
    global _pipeline
    with _lock:
        pipeline, _pipeline = _pipeline, None
    if pipeline is None:
        return
    try:
        pipeline.http.stop()
        _bounded(pipeline.processor.force_flush, timeout / 2)
        pipeline.processor.shutdown(timeout_millis=int(timeout * 500))
    except Exception:
        internal_error("shutdown")


def _at_exit() -> None:
    pipeline = _pipeline
    if pipeline is not None:
        shutdown(pipeline.settings.exit_timeout)


def _bounded(work: Any, timeout: float) -> bool:
    """Run `work()` in a helper thread and wait at most `timeout` seconds for its answer."""
    answer: list[bool] = []

    def target() -> None:
        try:
            answer.append(bool(work()))
        except Exception:
            internal_error("flush")

    thread = threading.Thread(target=target, name="firstwatch-flush", daemon=True)
    thread.start()
    thread.join(max(0.0, timeout))
    return bool(answer and answer[0])
