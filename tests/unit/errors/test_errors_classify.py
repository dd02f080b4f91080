"""The classifier on error shapes as real libraries and instrumentations report them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firstwatch.errors import (
    DEFAULT_RULES,
    ERROR_CLASS_DESCRIPTIONS,
    ERROR_CLASSES,
    ErrorFacts,
    Rule,
    classify,
    matching_rule,
    normalize_type,
)


def exc(
    exception_type: str, message: str | None = None, span_kind: str | None = None
) -> ErrorFacts:
    return ErrorFacts(exception_type=exception_type, exception_message=message, span_kind=span_kind)


OPENAI_429 = (
    "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4 in organization "
    "org-abc123 on tokens per min (TPM): Limit 10000, Used 9800, Requested 500. Please try "
    "again in 1.8s. Visit https://platform.openai.com/account/rate-limits to learn more.', "
    "'type': 'tokens', 'param': None, 'code': 'rate_limit_exceeded'}}"
)
OPENAI_CONTEXT = (
    "Error code: 400 - {'error': {'message': \"This model's maximum context length is 8192 "
    "tokens. However, your messages resulted in 9013 tokens. Please reduce the length of the "
    "messages.\", 'type': 'invalid_request_error', 'param': 'messages', "
    "'code': 'context_length_exceeded'}}"
)
AZURE_FILTER = (
    "Error code: 400 - {'error': {'message': \"The response was filtered due to the prompt "
    "triggering Azure OpenAI's content management policy. Please modify your prompt and "
    "retry.\", 'type': None, 'param': 'prompt', 'code': 'content_filter', 'status': 400, "
    "'innererror': {'code': 'ResponsibleAIPolicyViolation'}}}"
)
OPENAI_401 = (
    "Error code: 401 - {'error': {'message': 'Incorrect API key provided: sk-abc***xyz. You "
    "can find your API key at https://platform.openai.com/account/api-keys.', "
    "'type': 'invalid_request_error', 'param': None, 'code': 'invalid_api_key'}}"
)
OPENAI_404 = (
    "Error code: 404 - {'error': {'message': 'The model `gpt-5-turbo` does not exist or you do "
    "not have access to it.', 'type': 'invalid_request_error', 'param': None, "
    "'code': 'model_not_found'}}"
)
OPENAI_500 = (
    "Error code: 500 - {'error': {'message': 'The server had an error while processing your "
    "request. Sorry about that!', 'type': 'server_error', 'param': None, 'code': None}}"
)
ANTHROPIC_429 = (
    "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': "
    "'This request would exceed the rate limit for your organization (5f1c) of 50,000 input "
    "tokens per minute.'}}"
)
ANTHROPIC_529 = (
    "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', "
    "'message': 'Overloaded'}}"
)
ANTHROPIC_TOO_LONG = (
    "Error code: 400 - {'type': 'error', 'error': {'type': 'invalid_request_error', "
    "'message': 'prompt is too long: 215321 tokens > 200000 maximum'}}"
)
ANTHROPIC_401 = (
    "Error code: 401 - {'type': 'error', 'error': {'type': 'authentication_error', "
    "'message': 'invalid x-api-key'}}"
)
ANTHROPIC_403 = (
    "Error code: 403 - {'type': 'error', 'error': {'type': 'permission_error', 'message': "
    "'Your API key does not have permission to use the specified resource.'}}"
)
REQUESTS_REFUSED = (
    "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /v1 (Caused "
    "by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f2d3c4b5e50>: "
    "Failed to establish a new connection: [Errno 111] Connection refused'))"
)
REQUESTS_CONNECT_TIMEOUT = (
    "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: "
    "/v1/search (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at "
    "0x7f1b2c3d4e5f>, 'Connection to api.example.com timed out. (connect timeout=5)'))"
)
REQUESTS_READ_TIMEOUT_RETRIED = (
    "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: "
    "/v1 (Caused by ReadTimeoutError(\"HTTPSConnectionPool(host='api.example.com', port=443): "
    'Read timed out. (read timeout=10)"))'
)
SQLA_UNIQUE = (
    "(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "
    '"users_email_key"\nDETAIL:  Key (email)=(a@example.com) already exists.\n\n'
    "[SQL: INSERT INTO users (email) VALUES (%(email)s)]\n"
    "[parameters: {'email': 'a@example.com'}]\n"
    "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
)
GRPC_UNAVAILABLE = (
    "<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.UNAVAILABLE\n\t"
    'details = "failed to connect to all addresses; last error: UNKNOWN: '
    'ipv4:127.0.0.1:50051: Failed to connect to remote host: Connection refused"\n>'
)
PYDANTIC = (
    "1 validation error for Invoice\ntotal\n  Input should be a valid number, unable to parse "
    "string as a number [type=float_parsing, input_value='twelve', input_type=str]\n"
    "    For further information visit https://errors.pydantic.dev/2.14/v/float_parsing"
)

SHAPES = [
    # rate_limited
    pytest.param(exc("openai.RateLimitError", OPENAI_429), "rate_limited", id="openai-429"),
    pytest.param(
        exc("anthropic.RateLimitError", ANTHROPIC_429), "rate_limited", id="anthropic-429"
    ),
    pytest.param(exc("RateLimitError", "Rate limit exceeded"), "rate_limited", id="bare-type"),
    pytest.param(
        ErrorFacts(error_type="<class 'openai.RateLimitError'>"),
        "rate_limited",
        id="error-type-class-repr-only",
    ),
    pytest.param(ErrorFacts(status_message=OPENAI_429), "rate_limited", id="status-message-429"),
    pytest.param(ErrorFacts(http_status=429), "rate_limited", id="http-429"),
    pytest.param(ErrorFacts(grpc_code=8), "rate_limited", id="grpc-resource-exhausted"),
    pytest.param(
        exc("google.api_core.exceptions.ResourceExhausted", "429 Resource has been exhausted"),
        "rate_limited",
        id="google-resource-exhausted",
    ),
    pytest.param(
        exc(
            "botocore.exceptions.ClientError",
            "An error occurred (ThrottlingException) when calling the InvokeModel operation "
            "(reached max retries: 4): Too many requests, please wait before trying again.",
        ),
        "rate_limited",
        id="bedrock-throttling",
    ),
    pytest.param(
        exc(
            "httpx.HTTPStatusError",
            "Client error '429 Too Many Requests' for url 'http://127.0.0.1:8000/v1'\n"
            "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/"
            "Status/429",
        ),
        "rate_limited",
        id="httpx-status-429",
    ),
    # timeout
    pytest.param(
        exc("openai.APITimeoutError", "Request timed out."), "timeout", id="openai-timeout"
    ),
    pytest.param(exc("httpx.ReadTimeout", "timed out"), "timeout", id="httpx-read-timeout"),
    pytest.param(
        exc("requests.exceptions.ConnectTimeout", REQUESTS_CONNECT_TIMEOUT),
        "timeout",
        id="requests-connect-timeout",
    ),
    pytest.param(
        exc("requests.exceptions.ConnectionError", REQUESTS_READ_TIMEOUT_RETRIED),
        "timeout",
        id="requests-connection-error-read-timed-out",
    ),
    pytest.param(exc("asyncio.exceptions.TimeoutError"), "timeout", id="asyncio-timeout-3.10"),
    pytest.param(exc("TimeoutError"), "timeout", id="asyncio-timeout-3.11"),
    pytest.param(ErrorFacts(status_message="Request timed out."), "timeout", id="status-timed-out"),
    pytest.param(ErrorFacts(http_status=504), "timeout", id="http-504"),
    pytest.param(ErrorFacts(http_status=408), "timeout", id="http-408"),
    pytest.param(ErrorFacts(grpc_code=4), "timeout", id="grpc-deadline-exceeded"),
    pytest.param(
        exc("psycopg.errors.QueryCanceled", "canceling statement due to statement timeout"),
        "timeout",
        id="psycopg-statement-timeout",
    ),
    pytest.param(
        exc(
            "sqlalchemy.exc.TimeoutError",
            "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00",
        ),
        "timeout",
        id="sqlalchemy-pool-timeout",
    ),
    # upstream_unavailable
    pytest.param(
        exc("ConnectionRefusedError", "[Errno 111] Connection refused"),
        "upstream_unavailable",
        id="connection-refused",
    ),
    pytest.param(
        exc("httpx.ConnectError", "[Errno 111] Connection refused"),
        "upstream_unavailable",
        id="httpx-connect-error",
    ),
    pytest.param(
        exc("httpx.RemoteProtocolError", "Server disconnected without sending a response."),
        "upstream_unavailable",
        id="httpx-server-disconnected",
    ),
    pytest.param(
        exc("openai.APIConnectionError", "Connection error."),
        "upstream_unavailable",
        id="openai-connection-error",
    ),
    pytest.param(
        exc("openai.InternalServerError", OPENAI_500), "upstream_unavailable", id="openai-500"
    ),
    pytest.param(
        exc("anthropic.InternalServerError", ANTHROPIC_529),
        "upstream_unavailable",
        id="anthropic-overloaded-529",
    ),
    pytest.param(
        exc("requests.exceptions.ConnectionError", REQUESTS_REFUSED),
        "upstream_unavailable",
        id="requests-refused",
    ),
    pytest.param(
        exc(
            "requests.exceptions.HTTPError",
            "503 Server Error: Service Unavailable for url: https://api.example.com/v1/search",
        ),
        "upstream_unavailable",
        id="requests-503",
    ),
    pytest.param(
        ErrorFacts(status_message="Connection refused"),
        "upstream_unavailable",
        id="status-connection-refused",
    ),
    pytest.param(ErrorFacts(http_status=502), "upstream_unavailable", id="http-502"),
    pytest.param(ErrorFacts(error_type="503"), "upstream_unavailable", id="error-type-503"),
    pytest.param(
        exc("grpc._channel._InactiveRpcError", GRPC_UNAVAILABLE),
        "upstream_unavailable",
        id="grpc-inactive-rpc-unavailable",
    ),
    pytest.param(ErrorFacts(grpc_code=14), "upstream_unavailable", id="grpc-unavailable"),
    pytest.param(
        exc(
            "psycopg.OperationalError",
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
            "connections?",
        ),
        "upstream_unavailable",
        id="psycopg-refused",
    ),
    # auth
    pytest.param(exc("openai.AuthenticationError", OPENAI_401), "auth", id="openai-401"),
    pytest.param(exc("anthropic.AuthenticationError", ANTHROPIC_401), "auth", id="anthropic-401"),
    pytest.param(exc("anthropic.PermissionDeniedError", ANTHROPIC_403), "auth", id="anthropic-403"),
    pytest.param(ErrorFacts(http_status=401), "auth", id="http-401"),
    pytest.param(ErrorFacts(http_status=403), "auth", id="http-403"),
    pytest.param(ErrorFacts(grpc_code=16), "auth", id="grpc-unauthenticated"),
    pytest.param(ErrorFacts(grpc_code=7), "auth", id="grpc-permission-denied"),
    pytest.param(
        exc(
            "psycopg.OperationalError",
            'connection failed: FATAL:  password authentication failed for user "agent"',
        ),
        "auth",
        id="psycopg-password",
    ),
    # bad_request
    pytest.param(exc("openai.NotFoundError", OPENAI_404), "bad_request", id="openai-404"),
    pytest.param(
        exc(
            "openai.BadRequestError",
            "Error code: 400 - {'error': {'message': \"Invalid "
            "value for 'temperature': expected a number.\"}}",
        ),
        "bad_request",
        id="openai-400-invalid-param",
    ),
    pytest.param(ErrorFacts(http_status=400), "bad_request", id="http-400"),
    pytest.param(ErrorFacts(http_status=404), "bad_request", id="http-404"),
    pytest.param(ErrorFacts(http_status=422), "bad_request", id="http-422"),
    pytest.param(ErrorFacts(grpc_code=3), "bad_request", id="grpc-invalid-argument"),
    # context_overflow
    pytest.param(
        exc("openai.BadRequestError", OPENAI_CONTEXT), "context_overflow", id="openai-context"
    ),
    pytest.param(
        exc("anthropic.BadRequestError", ANTHROPIC_TOO_LONG),
        "context_overflow",
        id="anthropic-prompt-too-long",
    ),
    pytest.param(
        exc("ValueError", "Requested tokens (5000) exceed context length of 4096"),
        "context_overflow",
        id="value-error-context-length",
    ),
    pytest.param(
        ErrorFacts(status_message="Too many tokens in the request"),
        "context_overflow",
        id="status-too-many-tokens",
    ),
    pytest.param(
        exc("litellm.ContextWindowExceededError", "litellm.BadRequestError: ..."),
        "context_overflow",
        id="litellm-context-window",
    ),
    # content_filtered
    pytest.param(
        exc("openai.BadRequestError", AZURE_FILTER), "content_filtered", id="azure-content-filter"
    ),
    pytest.param(
        exc(
            "openai.ContentFilterFinishReasonError",
            "Could not parse response content as the request was rejected by the content filter",
        ),
        "content_filtered",
        id="openai-content-filter-finish",
    ),
    pytest.param(
        exc(
            "ValueError",
            "Invalid operation: the response was blocked. The candidate's finish_reason is 3 "
            "(SAFETY).",
        ),
        "content_filtered",
        id="gemini-safety",
    ),
    # output_invalid
    pytest.param(
        exc("json.decoder.JSONDecodeError", "Expecting value: line 1 column 1 (char 0)"),
        "output_invalid",
        id="json-decode",
    ),
    pytest.param(
        exc("pydantic_core._pydantic_core.ValidationError", PYDANTIC),
        "output_invalid",
        id="pydantic-validation",
    ),
    pytest.param(
        exc(
            "langchain_core.exceptions.OutputParserException",
            "Invalid json output: Sure! Here is the JSON you asked for:",
        ),
        "output_invalid",
        id="langchain-output-parser",
    ),
    pytest.param(
        exc(
            "openai.LengthFinishReasonError",
            "Could not parse response content as the length limit was reached",
        ),
        "output_invalid",
        id="openai-length-finish",
    ),
    # input_unreadable
    pytest.param(
        exc("pypdf.errors.PdfReadError", "EOF marker not found"),
        "input_unreadable",
        id="pypdf-eof",
    ),
    pytest.param(
        exc("ValueError", "document has no text layer (scanned?)"),
        "input_unreadable",
        id="no-text-layer",
    ),
    pytest.param(
        exc(
            "UnicodeDecodeError",
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        ),
        "input_unreadable",
        id="unicode-decode",
    ),
    pytest.param(
        exc("RuntimeError", "unsupported file type: application/x-msdownload"),
        "input_unreadable",
        id="unsupported-file-type",
    ),
    pytest.param(
        exc(
            "PIL.UnidentifiedImageError",
            "cannot identify image file <_io.BytesIO object at 0x7f3a2b1c0d90>",
        ),
        "input_unreadable",
        id="pil-unidentified",
    ),
    # tool_error
    pytest.param(
        exc("RuntimeError", "search backend returned nothing", span_kind="tool"),
        "tool_error",
        id="tool-span-runtime-error",
    ),
    pytest.param(
        exc("langchain_core.tools.base.ToolException", "Weather API returned no results"),
        "tool_error",
        id="langchain-tool-exception",
    ),
    pytest.param(ErrorFacts(span_kind="tool"), "tool_error", id="tool-span-no-detail"),
    # conflict
    pytest.param(
        exc(
            "psycopg.errors.SerializationFailure",
            "could not serialize access due to concurrent update",
        ),
        "conflict",
        id="psycopg-serialization",
    ),
    pytest.param(
        exc(
            "psycopg.errors.DeadlockDetected",
            "deadlock detected\nDETAIL:  Process 1234 waits for ShareLock on transaction 5678; "
            "blocked by process 4321.",
        ),
        "conflict",
        id="psycopg-deadlock",
    ),
    pytest.param(
        exc("sqlalchemy.exc.IntegrityError", SQLA_UNIQUE), "conflict", id="sqlalchemy-unique"
    ),
    pytest.param(
        exc(
            "sqlalchemy.orm.exc.StaleDataError",
            "UPDATE statement on table 'documents' expected to update 1 row(s); 0 were matched.",
        ),
        "conflict",
        id="sqlalchemy-stale-data",
    ),
    pytest.param(
        exc(
            "pymysql.err.OperationalError",
            "(1205, 'Lock wait timeout exceeded; try restarting transaction')",
        ),
        "conflict",
        id="mysql-lock-wait",
    ),
    pytest.param(
        exc(
            "elasticsearch.ConflictError",
            "ApiError(409, 'version_conflict_engine_exception', '[doc-1]: version conflict, "
            "required seqNo [5], primary term [1]')",
        ),
        "conflict",
        id="elasticsearch-version-conflict",
    ),
    pytest.param(ErrorFacts(http_status=409), "conflict", id="http-409"),
    pytest.param(ErrorFacts(http_status=412), "conflict", id="http-412"),
    pytest.param(ErrorFacts(grpc_code=10), "conflict", id="grpc-aborted"),
    pytest.param(ErrorFacts(grpc_code=6), "conflict", id="grpc-already-exists"),
    # cancelled
    pytest.param(exc("asyncio.exceptions.CancelledError"), "cancelled", id="asyncio-cancelled"),
    pytest.param(exc("KeyboardInterrupt"), "cancelled", id="keyboard-interrupt"),
    pytest.param(ErrorFacts(grpc_code=1), "cancelled", id="grpc-cancelled"),
    # agent_bug
    pytest.param(exc("KeyError", "'choices'"), "agent_bug", id="key-error"),
    pytest.param(
        exc("TypeError", "unsupported operand type(s) for +: 'int' and 'str'"),
        "agent_bug",
        id="type-error",
    ),
    pytest.param(
        exc("AttributeError", "'NoneType' object has no attribute 'content'"),
        "agent_bug",
        id="attribute-error",
    ),
    pytest.param(exc("IndexError", "list index out of range"), "agent_bug", id="index-error"),
    pytest.param(exc("NameError", "name 'clent' is not defined"), "agent_bug", id="name-error"),
    pytest.param(exc("ZeroDivisionError", "division by zero"), "agent_bug", id="zero-division"),
    pytest.param(exc("AssertionError"), "agent_bug", id="assertion"),
    pytest.param(
        exc("ValueError", "invalid literal for int() with base 10: 'abc'"),
        "agent_bug",
        id="value-error",
    ),
    pytest.param(
        exc("KeyError", "'rate_limit'", span_kind="tool"),
        "agent_bug",
        id="key-error-in-tool-naming-rate-limit",
    ),
    pytest.param(
        exc(
            "langgraph.errors.GraphRecursionError",
            "Recursion limit of 25 reached without hitting a stop condition.",
        ),
        "agent_bug",
        id="langgraph-recursion",
    ),
    # unknown
    pytest.param(ErrorFacts(), "unknown", id="nothing"),
    pytest.param(exc("RuntimeError", "something odd happened"), "unknown", id="runtime-error"),
    pytest.param(
        ErrorFacts(error_type="_OTHER", span_kind="llm"), "unknown", id="error-type-other"
    ),
]


@pytest.mark.parametrize(("facts", "expected"), SHAPES)
def test_real_error_shapes(facts: ErrorFacts, expected: str) -> None:
    assert classify(facts) == expected


def test_the_table_is_large_and_covers_every_class() -> None:
    expected = [param.values[1] for param in SHAPES]
    assert len(SHAPES) >= 40
    assert set(expected) == set(ERROR_CLASSES)


def test_taxonomy_has_fourteen_described_classes_in_design_order() -> None:
    assert ERROR_CLASSES == (
        "rate_limited",
        "timeout",
        "upstream_unavailable",
        "auth",
        "bad_request",
        "context_overflow",
        "content_filtered",
        "output_invalid",
        "input_unreadable",
        "tool_error",
        "conflict",
        "cancelled",
        "agent_bug",
        "unknown",
    )
    assert all(ERROR_CLASS_DESCRIPTIONS[name].strip() for name in ERROR_CLASSES)


def test_every_default_rule_gives_a_known_class_and_has_a_unique_name() -> None:
    names = [rule.name for rule in DEFAULT_RULES]
    assert len(names) == len(set(names))
    assert {rule.error_class for rule in DEFAULT_RULES} == set(ERROR_CLASSES) - {"unknown"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<class 'openai.RateLimitError'>", "openai.RateLimitError"),
        ('<class "KeyError">', "KeyError"),
        ("  httpx.ReadTimeout ", "httpx.ReadTimeout"),
        ("", None),
        (None, None),
    ],
)
def test_normalize_type_strips_the_class_wrapper(raw: str | None, expected: str | None) -> None:
    assert normalize_type(raw) == expected


def test_types_match_by_full_name_as_well_as_last_component() -> None:
    # The default table names docx's PackageNotFoundError in full: importlib's is not an input.
    docx = exc("docx.opc.exceptions.PackageNotFoundError", "Package not found at 'a.docx'")
    importlib = exc("importlib.metadata.PackageNotFoundError", "No package metadata for x")
    assert classify(docx) == "input_unreadable"
    assert classify(importlib) == "unknown"


def test_type_patterns_are_shell_style_and_case_insensitive() -> None:
    rule = Rule("vendor", "timeout", types=("acme.*Slow",))
    assert classify(exc("ACME.ReallySlow"), [rule]) == "timeout"
    assert classify(exc("other.ReallySlow"), [rule]) == "unknown"


def test_message_patterns_ignore_case_whether_or_not_they_have_capitals() -> None:
    lower = Rule("lower", "timeout", message=r"too slow\b")
    upper = Rule("upper", "timeout", message=r"\AToo SLOW")
    for rule in (lower, upper):
        assert classify(exc("acme.Error", "Too Slow"), [rule]) == "timeout"
        assert classify(exc("acme.Error", "TOO SLOW"), [rule]) == "timeout"
        assert classify(exc("acme.Error", "fast enough"), [rule]) == "unknown"


def test_every_condition_of_a_rule_must_hold() -> None:
    rule = Rule("acme-quota", "rate_limited", types=("acme.Error",), message=r"quota")
    assert classify(exc("acme.Error", "monthly quota used up"), [rule]) == "rate_limited"
    assert classify(exc("acme.Error", "disk full"), [rule]) == "unknown"
    assert classify(exc("other.Error", "quota"), [rule]) == "unknown"
    assert classify(exc("acme.Error", "quota", span_kind="llm"), [rule]) == "rate_limited"
    tool_only = Rule("tool-only", "tool_error", message="quota", span_kinds=frozenset({"tool"}))
    assert classify(exc("acme.Error", "quota", span_kind="llm"), [tool_only]) == "unknown"


def test_the_first_matching_rule_wins() -> None:
    facts = exc("ValueError", "maximum context length is 4096 tokens")
    rule = matching_rule(facts)
    assert rule is not None
    assert rule.error_class == "context_overflow"
    first = Rule("mine", "agent_bug", types=("ValueError",))
    assert classify(facts, [first, *DEFAULT_RULES]) == "agent_bug"
    assert matching_rule(facts, [first, *DEFAULT_RULES]) is first


def test_the_status_description_names_the_type_when_there_is_no_exception_event() -> None:
    # The OpenTelemetry SDK writes "<type name>: <message>" as the status description.
    assert classify(ErrorFacts(status_message="KeyError: 'choices'")) == "agent_bug"
    assert classify(ErrorFacts(status_message="ReadTimeout: The read operation")) == "timeout"


def test_a_number_in_a_message_is_not_taken_for_a_status() -> None:
    assert classify(exc("RuntimeError", "500 tokens were dropped")) == "unknown"
    assert classify(exc("RuntimeError", "503 Service Unavailable")) == "upstream_unavailable"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"types": ("X",), "error_class": "rate_limit"}, "unknown error class 'rate_limit'"),
        ({"error_class": "timeout"}, "at least one condition"),
        ({"error_class": "timeout", "message": "("}, "not a valid regex"),
        ({"error_class": "timeout", "http_status": frozenset({999})}, "100-599"),
        ({"error_class": "timeout", "grpc_codes": frozenset({17})}, "0-16"),
    ],
)
def test_a_malformed_rule_is_refused_with_its_name(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match="rule 'bad'") as raised:
        Rule("bad", **kwargs)  # type: ignore[arg-type]
    assert problem in str(raised.value)


TEXT = st.one_of(st.none(), st.text(max_size=300))
FACTS = st.builds(
    ErrorFacts,
    exception_type=st.one_of(TEXT, st.sampled_from(["<class 'x'>", "a.b.C", "<class ''>", "."])),
    exception_message=TEXT,
    error_type=st.one_of(TEXT, st.sampled_from(["429", "<class '503'>", "StatusCode.ABORTED"])),
    status_message=TEXT,
    http_status=st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63)),
    grpc_code=st.one_of(st.none(), st.integers(min_value=-100, max_value=100)),
    span_kind=st.one_of(st.none(), st.sampled_from(["run", "step", "llm", "tool"]), st.text()),
)


@settings(max_examples=300, deadline=None)
@given(FACTS)
def test_classify_always_answers_a_known_class(facts: ErrorFacts) -> None:
    assert classify(facts) in ERROR_CLASSES


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_classify_never_raises_on_any_message(text: str) -> None:
    for facts in (
        ErrorFacts(exception_message=text),
        ErrorFacts(status_message=text),
        ErrorFacts(exception_type=text, error_type=text),
    ):
        assert classify(facts) in ERROR_CLASSES
