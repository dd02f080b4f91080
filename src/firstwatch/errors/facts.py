"""What a failed span says about its error, read from its attributes and events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeGuard

from firstwatch import semconv

# Not in semconv.py yet: the gRPC status code, deprecated form (int) and current form (name).
_RPC_GRPC_STATUS_CODE: Final = "rpc.grpc.status_code"
_RPC_RESPONSE_STATUS_CODE: Final = "rpc.response.status_code"

GRPC_CODES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "OK": 0,
        "CANCELLED": 1,
        "UNKNOWN": 2,
        "INVALID_ARGUMENT": 3,
        "DEADLINE_EXCEEDED": 4,
        "NOT_FOUND": 5,
        "ALREADY_EXISTS": 6,
        "PERMISSION_DENIED": 7,
        "RESOURCE_EXHAUSTED": 8,
        "FAILED_PRECONDITION": 9,
        "ABORTED": 10,
        "OUT_OF_RANGE": 11,
        "UNIMPLEMENTED": 12,
        "INTERNAL": 13,
        "UNAVAILABLE": 14,
        "DATA_LOSS": 15,
        "UNAUTHENTICATED": 16,
    }
)
"""gRPC status code names and their numbers."""

# Messages are searched up to this many characters: the telling words come first.
_MAX_TEXT: Final = 20_000

_CLASS_WRAPPER = re.compile(r"""\A<(?:class|type)\s+['"]?([^'"<>]*?)['"]?\s*>\Z""")
_TYPE_PREFIX = re.compile(r"\A\s*([A-Za-z_][A-Za-z0-9_.]*)\s*:\s")
_STATUS_IN_TEXT = re.compile(
    r"error code:?\s*([45]\d\d)\b"  # openai, anthropic: "Error code: 429 - {...}"
    r"|\b([45]\d\d) (?:client|server) error\b"  # requests: "503 Server Error: ..."
    r"|\b(?:client|server) error '([45]\d\d)\b"  # httpx: "Client error '429 Too Many ..."
    r"|\bstatus(?:[ _]?code)?\s*[:=]?\s*([45]\d\d)\b"
    r"|\bhttp(?:/[\d.]+)?\s+([45]\d\d)\b"
    # google.api_core: "429 Resource has been exhausted", perhaps after the type's name.
    r"|\A(?:[A-Za-z_][A-Za-z0-9_.]*:\s*)?([45]\d\d)\s+(?-i:[A-Z])",
    re.IGNORECASE,
)
_HAS_STATUS = re.compile(r"[45]\d\d")
_GRPC_IN_TEXT = re.compile(r"\bStatusCode\.([A-Z_]+)\b")


@dataclass(frozen=True)
class ErrorFacts:
    """What a failed span says about its error; every field may be missing.

    Attributes:
        exception_type: ``exception.type`` of the span's exception event.
        exception_message: ``exception.message`` of that event.
        error_type: the ``error.type`` attribute; may be a class repr such as
            ``"<class 'openai.RateLimitError'>"`` or an HTTP status such as ``"503"``.
        status_message: the OpenTelemetry span status description.
        http_status: ``http.response.status_code`` (or the older ``http.status_code``).
        grpc_code: the gRPC status code as a number.
        span_kind: the firstwatch kind: ``run``, ``step``, ``llm``, ``tool``, ``http``,
            ``resource``.
    """

    exception_type: str | None = None
    exception_message: str | None = None
    error_type: str | None = None
    status_message: str | None = None
    http_status: int | None = None
    grpc_code: int | None = None
    span_kind: str | None = None


class Evidence(NamedTuple):
    """The facts as rules read them: type names lowercased, statuses also found in messages."""

    types: tuple[str, ...]
    text: str
    http_status: int | None
    grpc_code: int | None
    span_kind: str | None


def is_int_in(value: object, low: int, high: int) -> TypeGuard[int]:
    """Whether a value is an int (not a bool) from low to high inclusive."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def normalize_type(raw: str | None) -> str | None:
    """Returns an exception type name without a ``<class '...'>`` wrapper, or None if empty."""
    if raw is None:
        return None
    name = raw.strip()
    wrapped = _CLASS_WRAPPER.match(name)
    if wrapped:
        name = wrapped.group(1).strip()
    return name or None


def _type_candidates(raw: str | None) -> tuple[str, ...]:
    name = normalize_type(raw)
    if name is None:
        return ()
    lowered = name.lower()
    last = lowered.rsplit(".", 1)[-1]
    return (lowered, last) if last and last != lowered else (lowered,)


def gather_evidence(facts: ErrorFacts) -> Evidence:
    """Reads the facts into the evidence rules match against."""
    messages = [m for m in (facts.exception_message, facts.status_message) if m]
    types = _type_candidates(facts.exception_type) + _type_candidates(facts.error_type)
    if facts.exception_type is None and facts.status_message:
        # The SDK writes "RateLimitError: Error code: 429 ..." as the status description.
        prefix = _TYPE_PREFIX.match(facts.status_message)
        if prefix:
            types += _type_candidates(prefix.group(1))

    http_status = facts.http_status if is_int_in(facts.http_status, 100, 599) else None
    if http_status is None and facts.error_type is not None:
        code = facts.error_type.strip()
        if len(code) == 3 and code.isascii() and code.isdigit() and code[0] in "45":
            http_status = int(code)
    if http_status is None:
        for message in messages:
            if not _HAS_STATUS.search(message[:_MAX_TEXT]):
                continue
            found = _STATUS_IN_TEXT.search(message[:_MAX_TEXT])
            if found:
                http_status = int(next(g for g in found.groups() if g))
                break

    grpc_code = facts.grpc_code if is_int_in(facts.grpc_code, 1, 16) else None
    if grpc_code is None:
        for message in (*messages, facts.error_type or ""):
            named = _GRPC_IN_TEXT.search(message[:_MAX_TEXT])
            if named and GRPC_CODES.get(named.group(1), 0) != 0:
                grpc_code = GRPC_CODES[named.group(1)]
                break

    return Evidence(
        types=types,
        text="\n".join(m[:_MAX_TEXT] for m in messages).lower(),
        http_status=http_status,
        grpc_code=grpc_code,
        span_kind=facts.span_kind,
    )


def facts_from_span(
    attributes: Mapping[str, Any],
    events: Sequence[tuple[str, Mapping[str, Any]]],
    status_message: str | None,
    kind: str | None,
) -> ErrorFacts:
    """Gathers the error facts of a span as OpenTelemetry exports it.

    Args:
        attributes: the span's attributes.
        events: the span's events as (name, attributes); the last ``exception`` event counts.
        status_message: the span status description.
        kind: the firstwatch kind of the span, if already known; else ``firstwatch.kind`` is read.

    Returns:
        The facts, with anything missing or malformed left as None.
    """
    exception: Mapping[str, Any] = attributes
    for name, event_attributes in events:
        if name == semconv.EXCEPTION_EVENT:
            exception = event_attributes
    return ErrorFacts(
        exception_type=_text(exception.get(semconv.EXCEPTION_TYPE)),
        exception_message=_text(exception.get(semconv.EXCEPTION_MESSAGE)),
        error_type=_text(attributes.get(semconv.ERROR_TYPE)),
        status_message=_text(status_message),
        http_status=_first_int(
            attributes, (semconv.HTTP_RESPONSE_STATUS_CODE, semconv.HTTP_STATUS_CODE_OLD)
        ),
        grpc_code=_grpc_code(attributes),
        span_kind=_text(kind) or _text(attributes.get(semconv.KIND)),
    )


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
        return text if text.strip() else None
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def _first_int(attributes: Mapping[str, Any], keys: Iterable[str]) -> int | None:
    for key in keys:
        number = _int(attributes.get(key))
        if number is not None:
            return number
    return None


def _grpc_code(attributes: Mapping[str, Any]) -> int | None:
    code = _first_int(attributes, (_RPC_GRPC_STATUS_CODE, _RPC_RESPONSE_STATUS_CODE))
    if code is not None:
        return code
    name = attributes.get(_RPC_RESPONSE_STATUS_CODE)
    if isinstance(name, str):
        return GRPC_CODES.get(name.strip().upper().removeprefix("STATUSCODE."))
    return None
