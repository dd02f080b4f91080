"""A run's input, as attributes: the profilers' features, and the raw value only when asked.

The profilers (`firstwatch.profiling.profile_input`) are imported on first use and capped in time
by their own limits; whatever they do, a failure becomes `firstwatch.input.profile_error` and the
run goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from firstwatch import semconv
from firstwatch.sdk.runtime import Profiler

log = logging.getLogger("firstwatch.sdk")

PROFILE_ERROR: Final = semconv.INPUT_PREFIX + "profile_error"
MAX_INPUT_VALUE_CHARS: Final = 65_536
_MAX_ERROR_CHARS: Final = 256

_default: list[Profiler | str] = []


def _default_profiler() -> Profiler | str:
    """`firstwatch.profiling.profile_input`, or why it cannot be had (looked up once)."""
    if not _default:
        try:
            from firstwatch.profiling import profile_input
        except Exception as exc:
            _default.append(f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS])
        else:
            _default.append(profile_input)
    return _default[0]


def input_attributes(
    value: object,
    *,
    filename: str | None,
    media_type: str | None,
    profiler: Profiler | None,
    send_inputs: bool,
) -> dict[str, Any]:
    """The attributes a run carries about its input.

    Args:
        value: The input as the agent received it.
        filename: Its file name, if it is a document.
        media_type: Its declared media type.
        profiler: A profiler to use instead of `firstwatch.profiling.profile_input`.
        send_inputs: Whether the raw value may leave the process (as `input.value`).

    Returns:
        `firstwatch.input.<feature>` for every feature, or `firstwatch.input.profile_error`,
        plus `input.value` when inputs are sent.
    """
    attributes: dict[str, Any] = {}
    chosen = profiler if profiler is not None else _default_profiler()
    if isinstance(chosen, str):
        attributes[PROFILE_ERROR] = chosen
    else:
        _profile_into(attributes, chosen, value, filename, media_type)
    if send_inputs:
        text = _as_text(value)
        if text is not None:
            attributes[semconv.INPUT_VALUE] = text[:MAX_INPUT_VALUE_CHARS]
    return attributes


def _profile_into(
    attributes: dict[str, Any],
    profiler: Callable[..., Mapping[str, Any]],
    value: object,
    filename: str | None,
    media_type: str | None,
) -> None:
    try:
        features = profiler(value, filename=filename, media_type=media_type)
        for name, feature in features.items():
            if isinstance(feature, str | bool | int | float):
                attributes[semconv.INPUT_PREFIX + str(name)] = feature
    except Exception as exc:
        attributes[PROFILE_ERROR] = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except Exception:
        return None
