"""Sort a failed span into one error class by ordered, data-driven rules (design.md §4.2).

The facts of an error (exception type and message, ``error.type``, status description, HTTP
status, gRPC code, span kind) are tried against a table of rules, first match wins. Users put
their own rules, from a TOML file, in front of the defaults.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeGuard

from firstwatch import semconv
from firstwatch.errors.taxonomy import ERROR_CLASSES

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


class _Evidence(NamedTuple):
    types: tuple[str, ...]
    text: str
    http_status: int | None
    grpc_code: int | None
    span_kind: str | None


class _RuleError(ValueError):
    def __init__(self, name: object, problem: str) -> None:
        super().__init__(f"rule {name!r}: {problem}")
        self.problem = problem


@dataclass(frozen=True)
class Rule:
    """One row of the rule table: conditions on the facts and the class they imply.

    A rule matches when every condition it sets holds; a condition holds when any of its
    values matches. At least one condition must be set.

    Attributes:
        name: a short unique name, shown when explaining a classification.
        error_class: the class given on a match, one of ``ERROR_CLASSES``.
        types: exception type patterns (shell-style, case-insensitive), each tried against the
            full dotted name and its last component, of the exception type and ``error.type``
            (``"RateLimitError"`` matches ``openai.RateLimitError``; ``"*Timeout"`` matches
            ``httpx.ReadTimeout``).
        http_status: HTTP status codes; also read from messages such as ``"Error code: 429"``.
        grpc_codes: gRPC status codes by number; also read from ``StatusCode.NAME`` in messages.
        message: a regular expression searched, case-insensitively, in the exception message
            and the status description.
        span_kinds: firstwatch span kinds the rule is limited to.
    """

    name: str
    error_class: str
    types: tuple[str, ...] = ()
    http_status: frozenset[int] = frozenset()
    grpc_codes: frozenset[int] = frozenset()
    message: str | None = None
    span_kinds: frozenset[str] = frozenset()
    _type_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _message_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise _RuleError(self.name, "name must be a non-empty string")
        if self.error_class not in ERROR_CLASSES:
            raise _RuleError(
                self.name,
                f"unknown error class {self.error_class!r}; "
                f"expected one of: {', '.join(ERROR_CLASSES)}",
            )
        types = _as_tuple(self.types)
        kinds = frozenset(_as_tuple(self.span_kinds))
        if not all(isinstance(t, str) and t.strip() for t in types):
            raise _RuleError(self.name, "types must be non-empty strings")
        if not all(isinstance(k, str) and k for k in kinds):
            raise _RuleError(self.name, "span_kinds must be non-empty strings")
        http_status = frozenset(self.http_status)
        bad_http = sorted(str(c) for c in http_status if not _is_int_in(c, 100, 599))
        if bad_http:
            raise _RuleError(self.name, f"HTTP status codes must be 100-599, not {bad_http}")
        grpc_codes = frozenset(self.grpc_codes)
        bad_grpc = sorted(str(c) for c in grpc_codes if not _is_int_in(c, 0, 16))
        if bad_grpc:
            raise _RuleError(self.name, f"gRPC codes must be 0-16, not {bad_grpc}")
        message_re = None
        if self.message is not None:
            if not isinstance(self.message, str) or not self.message:
                raise _RuleError(self.name, "message must be a non-empty regular expression")
            # Messages are searched lowercased; a pattern with capitals needs IGNORECASE.
            capitals = any(c.isupper() for c in re.sub(r"\\.", "", self.message))
            try:
                message_re = re.compile(self.message, re.IGNORECASE if capitals else 0)
            except re.error as exc:
                raise _RuleError(self.name, f"message is not a valid regex: {exc}") from exc
        if not (types or http_status or grpc_codes or message_re or kinds):
            raise _RuleError(
                self.name,
                "needs at least one condition: types, http_status, grpc_codes, message "
                "or span_kinds",
            )
        type_re = (
            re.compile("|".join(fnmatch.translate(t.strip().lower()) for t in types))
            if types
            else None
        )
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "span_kinds", kinds)
        object.__setattr__(self, "http_status", http_status)
        object.__setattr__(self, "grpc_codes", grpc_codes)
        object.__setattr__(self, "_type_re", type_re)
        object.__setattr__(self, "_message_re", message_re)

    def _matches(self, evidence: _Evidence) -> bool:
        if self._type_re is not None and not any(self._type_re.match(t) for t in evidence.types):
            return False
        if self.http_status and evidence.http_status not in self.http_status:
            return False
        if self.grpc_codes and evidence.grpc_code not in self.grpc_codes:
            return False
        if self._message_re is not None and not self._message_re.search(evidence.text):
            return False
        return not self.span_kinds or evidence.span_kind in self.span_kinds


def _as_tuple(value: Iterable[str] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _is_int_in(value: object, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _rule(
    name: str,
    error_class: str,
    *,
    types: tuple[str, ...] = (),
    http: Collection[int] = (),
    grpc: Collection[str] = (),
    message: str | None = None,
    kinds: tuple[str, ...] = (),
) -> Rule:
    return Rule(
        name,
        error_class,
        types=types,
        http_status=frozenset(http),
        grpc_codes=frozenset(GRPC_CODES[g] for g in grpc),
        message=message,
        span_kinds=frozenset(kinds),
    )


_CONNECTION_TYPES: Final = (
    "ConnectionError",
    "APIConnectionError",
    "MaxRetryError",
    "NewConnectionError",
)

DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    # Types that mean one thing whatever the message says.
    _rule(
        "cancelled-type",
        "cancelled",
        types=("CancelledError", "Cancelled", "KeyboardInterrupt", "APIUserAbortError"),
    ),
    _rule(
        "rate-limited-type",
        "rate_limited",
        types=(
            "RateLimitError",
            "RateLimitExceeded*",
            "TooManyRequests*",
            "ResourceExhausted",
            "ThrottlingException",
        ),
    ),
    _rule(
        "content-filtered-type",
        "content_filtered",
        types=(
            "ContentFilterFinishReasonError",
            "ContentPolicyViolationError",
            "BlockedPromptException",
        ),
    ),
    _rule("context-overflow-type", "context_overflow", types=("ContextWindowExceededError",)),
    _rule(
        "agent-bug-type",
        "agent_bug",
        types=(
            "KeyError",
            "TypeError",
            "AttributeError",
            "IndexError",
            "NameError",
            "UnboundLocalError",
            "ZeroDivisionError",
            "AssertionError",
            "NotImplementedError",
            "RecursionError",
            "GraphRecursionError",
            "ImportError",
            "ModuleNotFoundError",
        ),
    ),
    # Messages specific enough to win over the type and the status code.
    _rule(
        "conflict-message",
        "conflict",
        message=(
            r"version conflict|could not serialize|deadlock detected|deadlock found"
            r"|duplicate key|unique constraint|write-write conflict|conflict on (?:update|tuple)"
            r"|lock wait timeout|could not obtain lock|database is locked"
        ),
    ),
    _rule(
        "context-overflow-message",
        "context_overflow",
        message=(
            r"maximum context length|context[_ ]length[_ ]exceeded|context length"
            r"|context[_ ]window|too many tokens|prompt is too long|input is too long"
            r"|exceeds the maximum number of tokens|maximum sequence length"
            r"|reduce the length of the messages"
        ),
    ),
    _rule(
        "content-filtered-message",
        "content_filtered",
        message=(
            r"\bcontent[_ ]filter(?:ed|ing)?\b|content management policy|\bsafety\b"
            r"|responsibleaipolicyviolation|flagged as potentially violating|usage polic(?:y|ies)"
        ),
    ),
    _rule(
        "input-unreadable-message",
        "input_unreadable",
        message=(
            r"no text layer|unsupported file (?:type|format)|not a pdf|eof marker not found"
            r"|cannot identify image file|file is not a zip file|file has not been decrypted"
            r"|cannot read an empty file|password[- ]protected"
        ),
    ),
    _rule(
        "output-invalid-message",
        "output_invalid",
        message=(
            r"invalid json output|could not parse (?:the )?(?:llm |model )?(?:output|response)"
            r"|failed to parse \S+ from completion|did not match (?:the )?(?:output )?schema"
        ),
    ),
    # Types.
    _rule(
        "connection-timed-out",
        "timeout",
        types=_CONNECTION_TYPES,
        message=r"timed? ?out\b|timeout",
    ),
    _rule(
        "timeout-type",
        "timeout",
        types=(
            "*Timeout",
            "*TimeoutError",
            "*TimeoutException",
            "TimeoutExpired",
            "DeadlineExceeded",
        ),
    ),
    _rule(
        "upstream-unavailable-type",
        "upstream_unavailable",
        types=(
            *_CONNECTION_TYPES,
            "ConnectionRefusedError",
            "ConnectionResetError",
            "ConnectionAbortedError",
            "BrokenPipeError",
            "ConnectError",
            "RemoteProtocolError",
            "httpx.ReadError",
            "httpx.WriteError",
            "InternalServerError",
            "OverloadedError",
            "BadGateway",
            "ServiceUnavailable*",
            "socket.gaierror",
            "gaierror",
        ),
    ),
    _rule(
        "auth-type",
        "auth",
        types=(
            "AuthenticationError",
            "PermissionDeniedError",
            "PermissionDenied",
            "Unauthenticated",
            "Unauthorized",
            "Forbidden",
            "NoCredentialsError",
            "InvalidPassword",
        ),
    ),
    _rule(
        "conflict-type",
        "conflict",
        types=(
            "IntegrityError",
            "UniqueViolation",
            "SerializationFailure",
            "DeadlockDetected",
            "LockNotAvailable",
            "TransactionRollbackError",
            "StaleDataError",
            "TransactionException",
            "ConflictError",
            "ConstraintException",
        ),
    ),
    _rule(
        "output-invalid-type",
        "output_invalid",
        types=(
            "JSONDecodeError",
            "ValidationError",
            "OutputParserException",
            "LengthFinishReasonError",
            "InstructorRetryException",
            "UnexpectedModelBehavior",
        ),
    ),
    _rule(
        "input-unreadable-type",
        "input_unreadable",
        types=(
            "PdfReadError",
            "PdfStreamError",
            "EmptyFileError",
            "FileNotDecryptedError",
            "PDFSyntaxError",
            "FileDataError",
            "UnidentifiedImageError",
            "BadZipFile",
            "docx.opc.exceptions.PackageNotFoundError",
            "UnicodeDecodeError",
        ),
    ),
    _rule(
        "bad-request-type",
        "bad_request",
        types=(
            "BadRequestError",
            "NotFoundError",
            "UnprocessableEntityError",
            "InvalidRequestError",
            "InvalidArgument",
        ),
    ),
    # Status codes.
    _rule("http-429", "rate_limited", http=(429,)),
    _rule("http-timeout", "timeout", http=(408, 504, 524)),
    _rule("http-auth", "auth", http=(401, 403, 407)),
    _rule("http-conflict", "conflict", http=(409, 412, 423)),
    _rule("http-499", "cancelled", http=(499,)),
    _rule("http-5xx", "upstream_unavailable", http=range(500, 600)),
    _rule("http-4xx", "bad_request", http=range(400, 500)),
    _rule("grpc-rate-limited", "rate_limited", grpc=("RESOURCE_EXHAUSTED",)),
    _rule("grpc-timeout", "timeout", grpc=("DEADLINE_EXCEEDED",)),
    _rule(
        "grpc-unavailable", "upstream_unavailable", grpc=("UNAVAILABLE", "INTERNAL", "DATA_LOSS")
    ),
    _rule("grpc-auth", "auth", grpc=("UNAUTHENTICATED", "PERMISSION_DENIED")),
    _rule("grpc-cancelled", "cancelled", grpc=("CANCELLED",)),
    _rule("grpc-conflict", "conflict", grpc=("ABORTED", "ALREADY_EXISTS")),
    _rule(
        "grpc-bad-request",
        "bad_request",
        grpc=("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "OUT_OF_RANGE"),
    ),
    # Messages alone, when nothing more precise was said.
    _rule(
        "rate-limited-message",
        "rate_limited",
        message=(
            r"rate[ _-]?limit|too many requests|throttl|quota exceeded|exceeded your current quota"
            r"|resource[_ ]exhausted|resource has been exhausted"
        ),
    ),
    _rule(
        "timeout-message",
        "timeout",
        message=r"\btimed? ?out\b|timeout|deadline exceeded",
    ),
    _rule(
        "upstream-unavailable-message",
        "upstream_unavailable",
        message=(
            r"connection (?:refused|reset|aborted|error|closed)|server disconnected"
            r"|service unavailable|temporarily unavailable|bad gateway|overloaded"
            r"|internal server error|failed to establish a new connection|remote end closed"
            r"|name or service not known|nodename nor servname|no route to host"
            r"|network is unreachable|econnrefused|econnreset"
        ),
    ),
    _rule(
        "auth-message",
        "auth",
        message=(
            r"unauthori[sz]ed|invalid api[ _-]?key|incorrect api key|invalid x-api-key"
            r"|authentication|permission denied|forbidden|access denied|api key not valid"
        ),
    ),
    _rule(
        "cancelled-message",
        "cancelled",
        message=r"\bcancel+ed\b|canceling statement due to user request|request was aborted",
    ),
    # Bug-like types that libraries also raise for API problems: after the messages.
    _rule("agent-bug-value-error", "agent_bug", types=("ValueError", "LookupError")),
    _rule(
        "tool-error-type",
        "tool_error",
        types=("ToolException", "ToolError", "ToolExecutionError"),
    ),
    _rule("tool-span", "tool_error", kinds=(semconv.KIND_TOOL,)),
)
"""The default rule table, tried in order after any user rules."""


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


def _evidence(facts: ErrorFacts) -> _Evidence:
    messages = [m for m in (facts.exception_message, facts.status_message) if m]
    types = _type_candidates(facts.exception_type) + _type_candidates(facts.error_type)
    if facts.exception_type is None and facts.status_message:
        # The SDK writes "RateLimitError: Error code: 429 ..." as the status description.
        prefix = _TYPE_PREFIX.match(facts.status_message)
        if prefix:
            types += _type_candidates(prefix.group(1))

    http_status = facts.http_status if _is_int_in(facts.http_status, 100, 599) else None
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

    grpc_code = facts.grpc_code if _is_int_in(facts.grpc_code, 1, 16) else None
    if grpc_code is None:
        for message in (*messages, facts.error_type or ""):
            named = _GRPC_IN_TEXT.search(message[:_MAX_TEXT])
            if named and GRPC_CODES.get(named.group(1), 0) != 0:
                grpc_code = GRPC_CODES[named.group(1)]
                break

    return _Evidence(
        types=types,
        text="\n".join(m[:_MAX_TEXT] for m in messages).lower(),
        http_status=http_status,
        grpc_code=grpc_code,
        span_kind=facts.span_kind,
    )


def matching_rule(facts: ErrorFacts, rules: Sequence[Rule] = DEFAULT_RULES) -> Rule | None:
    """Returns the first rule that matches the facts, or None.

    Args:
        facts: what the failed span says about its error.
        rules: the rule table, in order.
    """
    evidence = _evidence(facts)
    return next((rule for rule in rules if rule._matches(evidence)), None)


def classify(facts: ErrorFacts, rules: Sequence[Rule] = DEFAULT_RULES) -> str:
    """Returns the error class of a failed span: the first matching rule's, else ``unknown``.

    Args:
        facts: what the failed span says about its error.
        rules: the rule table, in order; ``load_rules`` gives user rules followed by the
            defaults.

    Returns:
        One of ``ERROR_CLASSES``.
    """
    rule = matching_rule(facts, rules)
    return "unknown" if rule is None else rule.error_class


_RULE_KEYS: Final = ("name", "class", "types", "http_status", "grpc_codes", "message", "span_kinds")


def load_rules(path: Path, *, defaults: Sequence[Rule] = DEFAULT_RULES) -> tuple[Rule, ...]:
    """Reads user rules from a TOML file and puts them in front of the defaults.

    The file holds an array of ``[[rule]]`` tables::

        [[rule]]
        name = "acme-quota"
        class = "rate_limited"
        types = ["acme.QuotaError"]        # patterns, see Rule.types
        http_status = [402, "5xx"]         # numbers, or "4xx"/"5xx"
        grpc_codes = ["RESOURCE_EXHAUSTED"]  # numbers or names
        message = "quota .* exceeded"      # a regular expression
        span_kinds = ["tool"]

    Args:
        path: the TOML file.
        defaults: the rules tried after the file's; pass ``()`` for the file's rules alone.

    Returns:
        The file's rules in file order, followed by ``defaults``.

    Raises:
        ValueError: the file is not valid TOML, or a rule is malformed; the message names the
            file and the rule.
        OSError: the file cannot be read.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        data = _parse_toml(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise ValueError(f"{path}: unknown top-level key(s) {extra}; rules go in [[rule]] tables")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{path}: 'rule' must be an array of tables, written [[rule]]")

    rules: list[Rule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        label = f"{path}: rule #{index}"
        if isinstance(table.get("name"), str):
            label += f" {table['name']!r}"
        try:
            rule = _rule_from_table(table)
        except _RuleError as exc:
            raise ValueError(f"{label}: {exc.problem}") from None
        if rule.name in seen:
            raise ValueError(f"{label}: duplicate rule name")
        seen.add(rule.name)
        rules.append(rule)
    return (*rules, *defaults)


def _parse_toml(raw: bytes) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    parsed: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    return parsed


def _rule_from_table(table: Mapping[str, Any]) -> Rule:
    name = table.get("name")
    unknown = sorted(set(table) - set(_RULE_KEYS))
    if unknown:
        raise _RuleError(name, f"unknown key(s) {unknown}; allowed: {', '.join(_RULE_KEYS)}")
    if not isinstance(name, str) or not name.strip():
        raise _RuleError(name, "'name' is required and must be a non-empty string")
    if not isinstance(table.get("class"), str):
        raise _RuleError(name, f"'class' is required, one of: {', '.join(ERROR_CLASSES)}")
    message = table.get("message")
    if message is not None and not isinstance(message, str):
        raise _RuleError(name, "'message' must be a string (a regular expression)")
    return Rule(
        name,
        table["class"],
        types=_strings(name, "types", table.get("types", ())),
        http_status=frozenset(_http_codes(name, table.get("http_status", ()))),
        grpc_codes=frozenset(_grpc_codes(name, table.get("grpc_codes", ()))),
        message=message,
        span_kinds=frozenset(_strings(name, "span_kinds", table.get("span_kinds", ()))),
    )


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _strings(name: str, key: str, value: object) -> tuple[str, ...]:
    items = _listed(value)
    if not all(isinstance(item, str) for item in items):
        raise _RuleError(name, f"'{key}' must be a string or a list of strings")
    return tuple(str(item) for item in items)


def _http_codes(name: str, value: object) -> Iterable[int]:
    for item in _listed(value):
        if isinstance(item, str) and re.fullmatch(r"[1-5]xx", item, re.IGNORECASE):
            hundreds = int(item[0]) * 100
            yield from range(hundreds, hundreds + 100)
        elif _is_int_in(item, 100, 599):
            yield item
        else:
            raise _RuleError(
                name, f"'http_status' takes codes 100-599 or '4xx'/'5xx', not {item!r}"
            )


def _grpc_codes(name: str, value: object) -> Iterable[int]:
    for item in _listed(value):
        if isinstance(item, str) and item.upper() in GRPC_CODES:
            yield GRPC_CODES[item.upper()]
        elif _is_int_in(item, 0, 16):
            yield item
        else:
            raise _RuleError(
                name, f"'grpc_codes' takes numbers 0-16 or names like UNAVAILABLE, not {item!r}"
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
