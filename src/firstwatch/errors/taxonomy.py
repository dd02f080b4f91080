"""The error classes every failed run and step is sorted into (design.md §4.2)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

ERROR_CLASS_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "rate_limited": "A provider refused the call for exceeding a rate or quota (HTTP 429).",
        "timeout": "A call or operation ran out of time (HTTP 408/504, DEADLINE_EXCEEDED).",
        "upstream_unavailable": "A dependency was unreachable or failed (5xx, connection refused).",
        "auth": "Credentials were missing, invalid or not allowed (HTTP 401/403).",
        "bad_request": "A dependency rejected the request as invalid (other 4xx).",
        "context_overflow": "The prompt did not fit the model's context window.",
        "content_filtered": "A safety or content filter blocked the prompt or the completion.",
        "output_invalid": "The model's output failed to parse or validate.",
        "input_unreadable": "The input could not be read: no text layer, corrupt or mislabelled.",
        "tool_error": "A tool failed for a reason no other class explains.",
        "conflict": "Concurrent writers collided: version, lock, serialization or unique key.",
        "cancelled": "The work was cancelled or interrupted before it finished.",
        "agent_bug": "A programming error in agent code (KeyError, TypeError, ...).",
        "unknown": "No rule recognised the error.",
    }
)
"""One line per error class, in the order of ``ERROR_CLASSES``."""

ERROR_CLASSES: Final[tuple[str, ...]] = tuple(ERROR_CLASS_DESCRIPTIONS)
"""The 14 error classes, in the order design.md §4.2 lists them."""
