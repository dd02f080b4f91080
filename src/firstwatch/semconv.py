"""Attribute names on the wire (design.md §3).

Our SDK writes these and ingest reads them. Pure constants: importing this module costs nothing,
so the SDK, the profilers and the server can all share it.
"""

from __future__ import annotations

from typing import Final

PREFIX: Final = "firstwatch."

KIND: Final = "firstwatch.kind"
AGENT: Final = "firstwatch.agent"
AGENT_VERSION: Final = "firstwatch.agent.version"
INPUT_PREFIX: Final = "firstwatch.input."
OUTPUT_PREFIX: Final = "firstwatch.output."
OUTPUT_SHAPE_PREFIX: Final = "firstwatch.output.shape."
CHECK_PREFIX: Final = "firstwatch.check."
RETRY_COUNT: Final = "firstwatch.retry.count"
RETRY_WAIT_MS: Final = "firstwatch.retry.wait_ms"
RESOURCE_KEY: Final = "firstwatch.resource.key"
RESOURCE_OP: Final = "firstwatch.resource.op"
DEPENDENCY: Final = "firstwatch.dependency"

# Values of firstwatch.kind.
KIND_RUN: Final = "run"
KIND_STEP: Final = "step"
KIND_LLM: Final = "llm"
KIND_TOOL: Final = "tool"
KIND_HTTP: Final = "http"
KIND_RESOURCE: Final = "resource"
KINDS: Final = (KIND_RUN, KIND_STEP, KIND_LLM, KIND_TOOL, KIND_HTTP, KIND_RESOURCE)

# Common conventions that ingest maps (OpenTelemetry, OpenInference, GenAI, OpenLLMetry).
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment"
ERROR_TYPE: Final = "error.type"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
HTTP_STATUS_CODE_OLD: Final = "http.status_code"
HTTP_RESEND_COUNT: Final = "http.request.resend_count"
RPC_GRPC_STATUS_CODE: Final = "rpc.grpc.status_code"
RPC_RESPONSE_STATUS_CODE: Final = "rpc.response.status_code"
SERVER_ADDRESS: Final = "server.address"
NET_PEER_NAME_OLD: Final = "net.peer.name"
URL_FULL: Final = "url.full"
HTTP_URL_OLD: Final = "http.url"

OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
INPUT_VALUE: Final = "input.value"
OUTPUT_VALUE: Final = "output.value"
LLM_MODEL_NAME: Final = "llm.model_name"
LLM_PROVIDER: Final = "llm.provider"
LLM_SYSTEM: Final = "llm.system"
LLM_TOKENS_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKENS_COMPLETION: Final = "llm.token_count.completion"
TOOL_NAME_OI: Final = "tool.name"
AGENT_NAME_OI: Final = "agent.name"

GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_PROMPT_TOKENS_OLD: Final = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS_OLD: Final = "gen_ai.usage.completion_tokens"

TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME: Final = "traceloop.entity.name"
TRACELOOP_ENTITY_INPUT: Final = "traceloop.entity.input"
TRACELOOP_ENTITY_OUTPUT: Final = "traceloop.entity.output"

EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

# Our SDK's own reports and failures.
SDK_REPORT_SPAN: Final = "firstwatch.sdk.report"
SDK_DROPPED_SPANS: Final = "firstwatch.sdk.dropped_spans"
INPUT_PROFILE_ERROR: Final = "firstwatch.input.profile_error"
SERVICE_INSTANCE_ID: Final = "service.instance.id"
