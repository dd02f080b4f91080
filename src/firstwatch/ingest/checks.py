"""Output checks a span records as failed, and their stored form (a JSON list of names).

The run-level facts (retries, first-attempt latency, class) are computed by the store when it
materialises runs (`firstwatch.store.duckdb_materialize`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from firstwatch import semconv as sc

_CHECK_PREFIX = sc.CHECK_PREFIX
_CHECK_SUFFIX = ".reason"


def failed_checks(attributes: Mapping[str, Any]) -> list[str]:
    """Names of the output checks a span records as failed (`firstwatch.check.<name>=fail`)."""
    names = [
        key[len(_CHECK_PREFIX) :]
        for key, value in attributes.items()
        if key.startswith(_CHECK_PREFIX)
        and isinstance(value, str)
        and value.lower() == "fail"
        and not key.endswith(_CHECK_SUFFIX)
    ]
    names.sort()
    return names


def encode_checks(names: Sequence[str]) -> str | None:
    """The stored form of a list of failed checks (None when there are none)."""
    return json.dumps(list(names)) if names else None


def decode_checks(text: str | None) -> list[str]:
    """Inverse of `encode_checks`."""
    return list(json.loads(text)) if text else []
