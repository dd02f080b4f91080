"""The calls an agent makes: `run`, `@agent`, `step`, `current_run`, `retry`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from opentelemetry.util.types import AttributeValue

from firstwatch import semconv
from firstwatch.sdk import lifecycle
from firstwatch.sdk.clock import Timestamp
from firstwatch.sdk.guard import internal_error
from firstwatch.sdk.scopes import Run, Step, current_scope

F = TypeVar("F", bound=Callable[..., Any])


def run(
    agent: str | None = None,
    *,
    input: object = None,
    filename: str | None = None,
    media_type: str | None = None,
    version: str | None = None,
    name: str | None = None,
    start_time: Timestamp | None = None,
    end_time: Timestamp | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Run:
    """One agent invocation, to use as a context manager (`with` or `async with`).

    Args:
        agent: The agent's name; the one given to `init` by default.
        input: The agent's input, handed to the profilers (features become
            `firstwatch.input.<feature>`); the raw value is sent only with `send_inputs`.
        filename: The input document's file name, for its declared media type.
        media_type: The input document's declared media type.
        version: The agent's version; the one given to `init` by default.
        name: The span's name; the agent's name by default.
        start_time: Explicit start (epoch seconds or datetime); else the clock's time.
        end_time: Explicit end; else the time the block is left.
        attributes: Extra span attributes.

    Returns:
        The run (recording nothing before `init`).
    """
    rt = lifecycle.runtime()
    if rt is None:
        return Run(None, "", {})
    try:
        agent_name = agent if agent is not None else rt.agent
        agent_version = version if version is not None else rt.version
        attrs: dict[str, Any] = dict(attributes) if attributes else {}
        attrs[semconv.KIND] = semconv.KIND_RUN
        if agent_name is not None:
            attrs[semconv.AGENT] = agent_name
        if agent_version is not None:
            attrs[semconv.AGENT_VERSION] = agent_version
        return Run(
            rt,
            name or agent_name or semconv.KIND_RUN,
            attrs,
            input=input,
            filename=filename,
            media_type=media_type,
            start_time=start_time,
            end_time=end_time,
        )
    except Exception:
        internal_error("run")
        return Run(None, "", {})


def current_run() -> Run:
    """The run entered in this context, or a run that records nothing when there is none."""
    scope = current_scope()
    found = scope._run if scope is not None else None
    return found if found is not None else Run(None, "", {})


def step(
    name: str,
    *,
    kind: str = semconv.KIND_STEP,
    start_time: Timestamp | None = None,
    end_time: Timestamp | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Step:
    """A step inside the current run or step (recording nothing outside a run).

    Args:
        name: The step's name.
        kind: `step`, `llm`, `tool`, `http` or `resource`.
        start_time: Explicit start; else the clock's time.
        end_time: Explicit end; else the time the block is left.
        attributes: Extra span attributes.

    Returns:
        The step, to use as a context manager.
    """
    scope = current_scope()
    if scope is None:
        return Step(None, None, None, str(name), {}, None, None)
    return scope.step(
        name, kind=kind, start_time=start_time, end_time=end_time, attributes=attributes
    )


def retry(wait_ms: float = 0.0, *, count: int = 1) -> None:
    """Record retries on the current run or step: `firstwatch.retry.count` / `.wait_ms`.

    Args:
        wait_ms: Milliseconds waited before retrying.
        count: Retries made.
    """
    scope = current_scope()
    if scope is not None:
        scope.retry(wait_ms, count=count)


@overload
def agent(name: F, /) -> F: ...


@overload
def agent(
    name: str | None = None, /, *, version: str | None = None, input_arg: str | None = None
) -> Callable[[F], F]: ...


def agent(
    name: str | Callable[..., Any] | None = None,
    /,
    *,
    version: str | None = None,
    input_arg: str | None = None,
) -> Any:
    """Decorate a function (sync or async) so each call is a run.

    Use bare (`@firstwatch.agent`) or with arguments (`@firstwatch.agent("extractor",
    input_arg="document")`). Inside, `firstwatch.current_run()` is the run.

    Args:
        name: The agent's name; the one given to `init` by default.
        version: The agent's version; the one given to `init` by default.
        input_arg: The parameter whose value is the run's input (profiled).

    Returns:
        The decorator, or the decorated function when used bare.
    """
    if callable(name):
        return _decorate(name, None, version, input_arg)

    def decorator(fn: F) -> F:
        return _decorate(fn, name, version, input_arg)

    return decorator


def _decorate(fn: F, name: str | None, version: str | None, input_arg: str | None) -> F:
    signature = inspect.signature(fn) if input_arg else None
    span_name = name or fn.__qualname__

    def pick_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        if signature is None or input_arg is None:
            return None
        try:
            return signature.bind_partial(*args, **kwargs).arguments.get(input_arg)
        except TypeError:
            return None

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with run(name, version=version, input=pick_input(args, kwargs), name=span_name):
                return await fn(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with run(name, version=version, input=pick_input(args, kwargs), name=span_name):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
