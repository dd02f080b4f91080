"""Runs, steps and resource accesses: the objects an agent records through.

Each is a context manager (sync and async) over one OpenTelemetry span. Without a configured SDK
they record nothing and cost little. Nothing here raises into the agent: internal failures are
logged, and the agent's own exceptions are recorded on the span and re-raised unchanged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, TypeVar

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import INVALID_SPAN, Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from firstwatch import semconv
from firstwatch.sdk.clock import Timestamp
from firstwatch.sdk.guard import internal_error
from firstwatch.sdk.inputs import input_attributes
from firstwatch.sdk.runtime import Runtime
from firstwatch.sdk.shape import shape_of

log = logging.getLogger("firstwatch.sdk")

SCOPE_KEY: Final = context_api.create_key("firstwatch.scope")
PREVIEW_CHARS: Final = 256
REASON_CHARS: Final = 1024
_PREVIEW_ITEMS: Final = 32
STEP_KINDS: Final = (
    semconv.KIND_STEP,
    semconv.KIND_LLM,
    semconv.KIND_TOOL,
    semconv.KIND_HTTP,
    semconv.KIND_RESOURCE,
)
RESOURCE_OPS: Final = ("read", "write")
_OUTPUT: Final = semconv.OUTPUT_PREFIX
_SHAPE: Final = semconv.OUTPUT_SHAPE_PREFIX

_counter_lock = threading.Lock()
_S = TypeVar("_S", bound="Scope")
_R = TypeVar("_R", bound="ResourceAccess")


def preview(value: object) -> str:
    """A short text preview of an output value, at most `PREVIEW_CHARS` characters."""
    if isinstance(value, str):
        return value[:PREVIEW_CHARS]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)[:PREVIEW_CHARS]
    if isinstance(value, dict):
        value = dict(list(value.items())[:_PREVIEW_ITEMS])
    elif isinstance(value, list | tuple):
        value = list(value[:_PREVIEW_ITEMS])
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:PREVIEW_CHARS]
    except Exception:
        return type(value).__name__


def error_type(exc: BaseException) -> str:
    """`error.type` of an exception: its class, qualified by module unless a builtin."""
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def current_scope() -> Scope | None:
    """The innermost run, step or resource access entered in this context, if any."""
    scope = context_api.get_value(SCOPE_KEY)
    return scope if isinstance(scope, Scope) else None


class Scope:
    """What runs, steps and resource accesses share: outputs, checks, retries, nesting."""

    __slots__ = (
        "__weakref__",
        "_attributes",
        "_ctx",
        "_done",
        "_end_time",
        "_name",
        "_parent",
        "_retries",
        "_retry_wait_ms",
        "_rt",
        "_run",
        "_span",
        "_start_time",
        "_token",
        "http_ledger",
    )

    def __init__(
        self,
        rt: Runtime | None,
        run: Run | None,
        parent: Scope | None,
        name: str,
        attributes: dict[str, Any],
        start_time: Timestamp | None,
        end_time: Timestamp | None,
    ) -> None:
        self._rt = rt
        self._run = run
        self._parent = parent
        self._name = name
        self._attributes = attributes
        self._start_time = start_time
        self._end_time = end_time
        self._span: Span | None = None
        self._ctx: context_api.Context | None = None
        self._token: object = None
        self._done = False
        self._retries = 0
        self._retry_wait_ms = 0.0
        self.http_ledger: object = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self: _S) -> _S:
        self._start()
        self._attach()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc)

    async def __aenter__(self: _S) -> _S:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc)

    @property
    def recording(self) -> bool:
        """Whether this scope is recording (an SDK is configured and it has been entered)."""
        return self._span is not None and not self._done

    @property
    def span(self) -> Span:
        """The OpenTelemetry span underneath (a non-recording span when nothing is recorded)."""
        return self._span if self._span is not None else INVALID_SPAN

    def _parent_context(self) -> context_api.Context | None:
        parent = self._parent
        if parent is None:
            return context_api.get_current()
        if parent._ctx is None or parent._done or parent._token is None:
            return None
        current = current_scope()
        while current is not None:
            if current is parent:
                return context_api.get_current()
            current = current._parent
        return parent._ctx

    def _start_attributes(self) -> dict[str, Any]:
        return self._attributes

    def declared_dependency(self) -> str | None:
        """The `firstwatch.dependency` this scope or the nearest enclosing one was given."""
        scope: Scope | None = self
        while scope is not None:
            declared = scope._attributes.get(semconv.DEPENDENCY)
            if isinstance(declared, str) and declared:
                return declared
            scope = scope._parent
        return None

    def _start_ns(self, rt: Runtime) -> int | None:
        if self._start_time is None and rt.clock is None:
            return None
        return rt.time_ns(self._start_time)

    def _start(self) -> None:
        rt = self._rt
        if rt is None or self._span is not None:
            return
        try:
            parent_ctx = self._parent_context()
            if parent_ctx is None:
                return
            span = rt.tracer.start_span(
                self._name,
                context=parent_ctx,
                attributes=self._start_attributes(),
                start_time=self._start_ns(rt),
            )
            self._ctx = trace_api.set_span_in_context(span, parent_ctx)
            self._span = span
        except Exception:
            internal_error("start")

    def _attach(self) -> None:
        # The context holds this scope (so nested work finds it) only while it is entered: that
        # reference cycle is broken again in _finish.
        if self._ctx is not None and self._token is None and not self._done:
            self._ctx = context_api.set_value(SCOPE_KEY, self, self._ctx)
            self._token = context_api.attach(self._ctx)

    def _finish(self, exc: BaseException | None, end_ns: int | None = None) -> None:
        span = self._span
        if span is None or self._done:
            return
        self._done = True
        self._ctx = None
        token, self._token = self._token, None
        if token is not None:
            try:
                context_api.detach(token)  # type: ignore[arg-type]
            except Exception:
                internal_error("detach")
        try:
            if exc is not None:
                _record_error(span, exc)
            rt = self._rt
            if end_ns is None and rt is not None and (self._end_time or rt.clock) is not None:
                end_ns = rt.time_ns(self._end_time)
            span.end(end_time=end_ns)
        except Exception:
            internal_error("end")

    # -- recording ---------------------------------------------------------------------------

    def step(
        self,
        name: str,
        *,
        kind: str = semconv.KIND_STEP,
        start_time: Timestamp | None = None,
        end_time: Timestamp | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Step:
        """A step inside this scope, to use as a context manager.

        Args:
            name: The step's name (the span name).
            kind: `step`, `llm`, `tool`, `http` or `resource` (anything else is logged and
                recorded as `step`).
            start_time: Explicit start (epoch seconds or datetime); else the clock's time.
            end_time: Explicit end; else the time the block is left.
            attributes: Extra span attributes.

        Returns:
            The step.
        """
        if kind not in STEP_KINDS:
            log.warning("firstwatch: unknown step kind %r recorded as %r", kind, semconv.KIND_STEP)
            kind = semconv.KIND_STEP
        attrs: dict[str, Any] = dict(attributes) if attributes else {}
        attrs[semconv.KIND] = kind
        return Step(self._rt, self._run, self, str(name), attrs, start_time, end_time)

    def resource(
        self,
        key: str,
        op: str = "read",
        *,
        start_time: Timestamp | None = None,
        end_time: Timestamp | None = None,
    ) -> ResourceAccess:
        """Record an access to a shared resource (a row, a file, a cache key…).

        Called alone it records an instant access; used as a context manager it covers the
        access from entry to exit.

        Args:
            key: The resource's key; accesses by different runs to one key are compared.
            op: `read` or `write` (anything else is logged and recorded as `write`).
            start_time: Explicit start; else the clock's time.
            end_time: Explicit end; else the time the block is left.

        Returns:
            The access.
        """
        if op not in RESOURCE_OPS:
            log.warning("firstwatch: unknown resource op %r recorded as 'write'", op)
            op = "write"
        attrs: dict[str, Any] = {
            semconv.KIND: semconv.KIND_RESOURCE,
            semconv.RESOURCE_KEY: str(key),
            semconv.RESOURCE_OP: op,
        }
        access = ResourceAccess(
            self._rt, self._run, self, f"{op} {key}", attrs, start_time, end_time
        )
        access._start()
        return access

    def output(self, fields: Mapping[str, object] | None = None, /, **values: object) -> None:
        """Record output fields: a preview of each value and its shape.

        Args:
            fields: Fields by name (for names that are not identifiers).
            **values: Fields by name.
        """
        span = self._span
        if span is None or self._done:
            return
        try:
            attrs: dict[str, AttributeValue] = {}
            for items in (fields, values) if fields else (values,):
                for name, value in items.items():
                    attrs[_OUTPUT + str(name)] = preview(value)
                    attrs[_SHAPE + str(name)] = shape_of(value)
            span.set_attributes(attrs)
        except Exception:
            internal_error("output")

    def check(self, name: str, ok: object, reason: str | None = None) -> bool:
        """Record an output check as `pass` or `fail`.

        Args:
            name: The check's name.
            ok: Whether it passed (any truthy value passes).
            reason: Why, especially when it failed.

        Returns:
            Whether it passed, so it can be used inline.
        """
        passed = bool(ok)
        span = self._span
        if span is None or self._done:
            return passed
        try:
            key = semconv.CHECK_PREFIX + str(name)
            span.set_attribute(key, "pass" if passed else "fail")
            if reason is not None:
                span.set_attribute(key + ".reason", str(reason)[:REASON_CHARS])
        except Exception:
            internal_error("check")
        return passed

    def retry(self, wait_ms: float = 0.0, *, count: int = 1) -> None:
        """Record retries made inside this scope and the time spent waiting for them.

        Adds to `firstwatch.retry.count` and `firstwatch.retry.wait_ms` of this span.

        Args:
            wait_ms: Milliseconds waited before retrying (backoff, Retry-After…).
            count: Retries made.
        """
        span = self._span
        if span is None or self._done:
            return
        try:
            with _counter_lock:
                self._retries += int(count)
                self._retry_wait_ms += float(wait_ms)
                attrs: dict[str, AttributeValue] = {
                    semconv.RETRY_COUNT: self._retries,
                    semconv.RETRY_WAIT_MS: round(self._retry_wait_ms, 3),
                }
            span.set_attributes(attrs)
        except Exception:
            internal_error("retry")

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Set any attribute on this scope's span."""
        span = self._span
        if span is None or self._done:
            return
        try:
            span.set_attribute(key, value)
        except Exception:
            internal_error("set_attribute")


class Run(Scope):
    """One agent invocation: the outermost span of its work (`firstwatch.kind=run`)."""

    __slots__ = ("_filename", "_input", "_media_type")

    def __init__(
        self,
        rt: Runtime | None,
        name: str,
        attributes: dict[str, Any],
        *,
        input: object = None,
        filename: str | None = None,
        media_type: str | None = None,
        start_time: Timestamp | None = None,
        end_time: Timestamp | None = None,
    ) -> None:
        super().__init__(rt, None, None, name, attributes, start_time, end_time)
        self._run = self
        self._input = input
        self._filename = filename
        self._media_type = media_type

    def _start_attributes(self) -> dict[str, Any]:
        attrs = self._attributes
        rt = self._rt
        if self._input is not None and rt is not None:
            try:
                attrs.update(
                    input_attributes(
                        self._input,
                        filename=self._filename,
                        media_type=self._media_type,
                        profiler=rt.profiler,
                        send_inputs=rt.send_inputs,
                    )
                )
            except Exception:
                internal_error("profile")
        self._input = None
        return attrs


class Step(Scope):
    """A unit of work inside a run: a step, an LLM call, a tool call…"""

    __slots__ = ()


class ResourceAccess(Scope):
    """An access to a shared resource; an instant unless used as a context manager."""

    __slots__ = ("_entered", "_instant_ns")

    def __init__(
        self,
        rt: Runtime | None,
        run: Run | None,
        parent: Scope | None,
        name: str,
        attributes: dict[str, Any],
        start_time: Timestamp | None,
        end_time: Timestamp | None,
    ) -> None:
        super().__init__(rt, run, parent, name, attributes, start_time, end_time)
        self._entered = False
        self._instant_ns = 0
        if rt is not None:
            self._instant_ns = rt.time_ns(start_time) or time.time_ns()

    def _start_ns(self, rt: Runtime) -> int | None:
        return self._instant_ns

    def __enter__(self: _R) -> _R:
        self._entered = True
        self._attach()
        return self

    async def __aenter__(self: _R) -> _R:
        return self.__enter__()

    def __del__(self) -> None:
        if not self._entered and self._span is not None and not self._done:
            end_ns = self._instant_ns
            if self._end_time is not None and self._rt is not None:
                end_ns = self._rt.time_ns(self._end_time) or end_ns
            self._finish(None, end_ns)


def _record_error(span: Span, exc: BaseException) -> None:
    try:
        description = f"{type(exc).__name__}: {exc}"
    except Exception:
        description = type(exc).__name__
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, description[:REASON_CHARS]))
    span.set_attribute(semconv.ERROR_TYPE, error_type(exc))
