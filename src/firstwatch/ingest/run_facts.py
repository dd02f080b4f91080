"""Facts of a run computed from its steps: retries, first-attempt latency, failed checks, class.

Pure functions over the span rows of one run (design.md §4.1, §4.2 and §5).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from firstwatch import semconv as sc

Span = Mapping[str, Any]

_ATTEMPT_KINDS = (sc.KIND_HTTP, sc.KIND_LLM)
_CHECK_SUFFIX = ".reason"


def failed_checks(attributes: Mapping[str, Any]) -> list[str]:
    """Names of the output checks a span records as failed (`firstwatch.check.<name>=fail`)."""
    names = []
    for key, value in attributes.items():
        if (
            key.startswith(sc.CHECK_PREFIX)
            and not key.endswith(_CHECK_SUFFIX)
            and isinstance(value, str)
            and value.lower() == "fail"
        ):
            names.append(key[len(sc.CHECK_PREFIX) :])
    return sorted(names)


def encode_checks(names: Sequence[str]) -> str | None:
    """The stored form of a list of failed checks (None when there are none)."""
    return json.dumps(list(names)) if names else None


def decode_checks(text: str | None) -> list[str]:
    """Inverse of `encode_checks`."""
    return list(json.loads(text)) if text else []


def retried_attempts(members: Sequence[Span]) -> set[str]:
    """Span ids of failed calls that were sent again: a later call of the same name and
    dependency under the same parent started after the failed one did."""
    calls: dict[tuple[Any, Any, Any], list[Span]] = {}
    for span in members:
        if span.get("kind") in _ATTEMPT_KINDS:
            key = (span.get("parent_span_id"), span.get("name"), span.get("dependency"))
            calls.setdefault(key, []).append(span)
    retried: set[str] = set()
    for attempts in calls.values():
        if len(attempts) < 2:
            continue
        attempts.sort(key=lambda s: s["start_ns"])
        for earlier, _later in itertools.pairwise(attempts):
            if earlier.get("status") == "error":
                retried.add(str(earlier["span_id"]))
    return retried


def retry_count(run: Span, members: Iterable[Span]) -> int:
    """Retries made in a run: each resent HTTP call counts once (its resend count is an attempt
    number), other spans count what they recorded with `firstwatch.retry.count`."""
    total = int(run.get("retry_count") or 0)
    for span in members:
        count = int(span.get("retry_count") or 0)
        if span.get("kind") == sc.KIND_HTTP:
            total += 1 if count > 0 else 0
        else:
            total += count
    return total


def retry_wait_ms(run: Span, members: Iterable[Span]) -> float:
    """Time the run spent waiting before retries (rate-limit waits included)."""
    return float(run.get("retry_wait_ms") or 0.0) + sum(
        float(s.get("retry_wait_ms") or 0.0) for s in members
    )


def first_attempt_ms(run: Span, members: Sequence[Span]) -> float:
    """Duration minus retry waits minus the time of failed attempts that were retried (§5)."""
    retried = retried_attempts(members)
    lost = sum(float(s.get("duration_ms") or 0.0) for s in members if s["span_id"] in retried)
    return max(0.0, float(run["duration_ms"]) - retry_wait_ms(run, members) - lost)


def run_error(run: Span, members: Sequence[Span]) -> tuple[str, str | None]:
    """The class of a failed run and the fingerprint of the error it came from.

    The class is that of the run's earliest failed step whose class is not `unknown`, leaving out
    failed calls that were retried (the run survived those); then the run span's own.
    """
    retried = retried_attempts(members)
    failed = sorted(
        (s for s in members if s.get("status") == "error" and s.get("error_class")),
        key=lambda s: (s["span_id"] in retried, s["start_ns"]),
    )
    for span in failed:
        if span["span_id"] not in retried and span["error_class"] != "unknown":
            return str(span["error_class"]), span.get("error_fingerprint")
    own = run.get("error_class")
    if own and own != "unknown":
        return str(own), run.get("error_fingerprint")
    for span in failed:
        if span["error_class"] != "unknown":
            return str(span["error_class"]), span.get("error_fingerprint")
    return str(own or "unknown"), run.get("error_fingerprint")


def run_checks(run: Span, members: Iterable[Span]) -> list[str]:
    """Every output check that failed in a run, on the run span or any of its steps."""
    names = set(decode_checks(run.get("failed_checks")))
    for span in members:
        names.update(decode_checks(span.get("failed_checks")))
    return sorted(names)
