"""The default rule table of the error classifier (design.md §4.2).

Order matters, first match wins: types that mean one thing whatever the message says, then
messages specific enough to beat a type or a status, then types, HTTP and gRPC status codes,
generic messages, and last the catch-alls for bug-like types and tool spans.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from firstwatch import semconv
from firstwatch.errors.facts import GRPC_CODES
from firstwatch.errors.rule import Rule


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
