"""The rules of run materialisation in plain Python: the reference the store's SQL is held to.

`firstwatch.store.duckdb_materialize` builds runs and steps inside DuckDB; the tests check it
against these functions, which state design.md §2 and §5 ("Runs and names") one trace at a time.

A run is the outermost agent-marked span of a trace, else the trace's root. Spans arrive in any
order, so this is recomputed from all the spans a trace has so far whenever new ones arrive: a late
child still counts, and a trace whose run span never arrived shows as one `incomplete` run, keyed
by the missing parent's span id, so nothing is lost.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from firstwatch import semconv as sc
from firstwatch.ingest.checks import decode_checks, encode_checks

Span = Mapping[str, Any]

INCOMPLETE = "incomplete"


def materialize_trace(spans: Iterable[Span]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs and steps of one trace.

    Args:
        spans: the trace's spans (any order; duplicates of a span id are ignored after the first).
            The previews (`firstwatch.store.schema.RUN_ONLY_COLUMNS`) are read only from spans
            that can be runs: agent-marked ones and those without a parent.

    Returns:
        (runs, steps) as dicts with the run and step columns of `firstwatch.store.schema`, less
        `project`.
    """
    by_id: dict[str, Span] = {}
    for span in spans:
        by_id.setdefault(span["span_id"], span)
    if not by_id:
        return [], []

    def parent_of(span: Span) -> str | None:
        parent = span.get("parent_span_id")
        return parent or None

    def top(span_id: str) -> tuple[str, list[str]]:
        """The topmost known ancestor (or the missing id above it) and the chain walked."""
        chain = [span_id]
        seen = {span_id}
        current = by_id[span_id]
        while True:
            parent = parent_of(current)
            if parent is None:
                return chain[-1], chain
            if parent not in by_id or parent in seen:
                return parent, chain
            chain.append(parent)
            seen.add(parent)
            current = by_id[parent]

    # Each span's chain of known ancestors, nearest first.
    chains = {span_id: top(span_id) for span_id in by_id}

    marked = {sid for sid, s in by_id.items() if s.get("agent_marked")}
    run_ids: list[str] = []
    if marked:
        for sid in marked:
            _, chain = chains[sid]
            if not any(a in marked for a in chain[1:]):
                run_ids.append(sid)
    else:
        run_ids = [sid for sid, s in by_id.items() if parent_of(s) is None]

    run_set = set(run_ids)
    # Spans above no run: their chain ends at a missing parent or at a root outside any run.
    owner: dict[str, str] = {}
    orphans: dict[str, list[str]] = {}
    for sid, (topmost, chain) in chains.items():
        if sid in run_set:
            owner[sid] = sid
            continue
        for ancestor in chain[1:]:
            if ancestor in run_set:
                owner[sid] = ancestor
                break
        else:
            if topmost not in by_id:
                orphans.setdefault(topmost, []).append(sid)

    runs: list[dict[str, Any]] = []
    complete_runs = sorted(run_ids, key=lambda r: by_id[r]["start_ns"])
    if orphans and complete_runs:
        # A missing span in the middle of a run: its subtree still belongs to the trace's run.
        for orphan_ids in orphans.values():
            for sid in orphan_ids:
                owner[sid] = complete_runs[0]
        orphans = {}

    steps: list[dict[str, Any]] = []
    members_of: dict[str, list[Span]] = {}
    for sid, run in owner.items():
        if sid != run:
            members_of.setdefault(run, []).append(by_id[sid])
    for run_id in complete_runs:
        run_span = by_id[run_id]
        members = members_of.get(run_id, [])
        run_row = _run_row(run_span, members, complete=True)
        runs.append(run_row)
        _add_steps(steps, members, run_id, run_row)
    for missing_id, member_ids in sorted(orphans.items()):
        orphan_spans = [by_id[m] for m in member_ids]
        row = _incomplete_run_row(missing_id, orphan_spans)
        runs.append(row)
        _add_steps(steps, orphan_spans, missing_id, row)
    return runs, steps


def _agent_of(run: Span, members: list[Span]) -> str | None:
    """The run's own agent name, else the nearest named agent inside it, else its service."""
    if run.get("agent"):
        return str(run["agent"])
    inner = sorted(
        (s for s in members if s.get("agent_marked") and s.get("agent")),
        key=lambda s: s["start_ns"],
    )
    if inner:
        return str(inner[0]["agent"])
    service = run.get("service")
    return str(service) if service else None


def _run_row(run: Span, members: list[Span], *, complete: bool) -> dict[str, Any]:
    # An agent span nested in the run that failed fails the run: instrumentations that wrap the
    # agent in an outer workflow span often leave that outer span OK.
    nested_failed = any(s.get("agent_marked") and s.get("status") == "error" for s in members)
    status = "error" if run.get("status") == "error" or nested_failed else "ok"
    error_class = fingerprint = None
    if status == "error":
        error_class, fingerprint = run_error(run, members)
    checks = run_checks(run, members)
    return {
        "trace_id": run["trace_id"],
        "span_id": run["span_id"],
        "name": run.get("name"),
        "agent": _agent_of(run, members),
        "version": run.get("version"),
        "environment": run.get("environment") or "unknown",
        "start_ns": run["start_ns"],
        "end_ns": run["end_ns"],
        "duration_ms": run["duration_ms"],
        "status": status,
        "error_class": error_class,
        "complete": complete,
        "step_count": len(members),
        "error_step_count": sum(1 for s in members if s.get("status") == "error"),
        "retry_count": retry_count(run, members),
        "retry_wait_ms": retry_wait_ms(run, members),
        "input_preview": run.get("input_preview"),
        "output_preview": run.get("output_preview"),
        "error_fingerprint": fingerprint,
        "failed_checks": encode_checks(checks),
        "silent_failure": status == "ok" and bool(checks),
        "first_attempt_ms": first_attempt_ms(run, members),
    }


def _incomplete_run_row(missing_id: str, members: list[Span]) -> dict[str, Any]:
    first = min(members, key=lambda s: s["start_ns"])
    start = first["start_ns"]
    end = max(s["end_ns"] for s in members)
    # Identity from the members: the agent attributes usually sit on the resource of every span.
    ordered = sorted(members, key=lambda s: s["start_ns"])
    named = next((s for s in ordered if s.get("agent")), None)
    service = next((s.get("service") for s in ordered if s.get("service")), None)
    stand_in = {"duration_ms": (end - start) / 1e6}
    error_class, fingerprint = (
        run_error(stand_in, members)
        if any(s.get("status") == "error" for s in members)
        else (None, None)
    )
    return {
        "trace_id": first["trace_id"],
        "span_id": missing_id,
        "name": None,
        "agent": named.get("agent") if named else service,
        "version": (named or first).get("version"),
        "environment": (named or first).get("environment") or "unknown",
        "start_ns": start,
        "end_ns": end,
        "duration_ms": (end - start) / 1e6,
        "status": INCOMPLETE,
        "error_class": error_class,
        "complete": False,
        "step_count": len(members),
        "error_step_count": sum(1 for s in members if s.get("status") == "error"),
        "retry_count": retry_count(stand_in, members),
        "retry_wait_ms": retry_wait_ms(stand_in, members),
        "input_preview": None,
        "output_preview": None,
        "error_fingerprint": fingerprint,
        "failed_checks": encode_checks(run_checks(stand_in, members)),
        "silent_failure": False,
        "first_attempt_ms": first_attempt_ms(stand_in, members),
    }


def _add_steps(
    steps: list[dict[str, Any]], members: Iterable[Span], run_id: str, run: Mapping[str, Any]
) -> None:
    agent = run.get("agent")
    version = run.get("version")
    environment = run.get("environment") or "unknown"
    for span in members:
        failed = span.get("status") == "error"
        steps.append(
            {
                "trace_id": span["trace_id"],
                "span_id": span["span_id"],
                "parent_span_id": span.get("parent_span_id") or None,
                "run_span_id": run_id,
                "name": span.get("name"),
                "kind": span.get("kind"),
                "agent": agent,
                "version": version,
                "environment": environment,
                "start_ns": span["start_ns"],
                "end_ns": span["end_ns"],
                "duration_ms": span["duration_ms"],
                "status": "error" if failed else "ok",
                "error_class": span.get("error_class") if failed else None,
                "dependency": span.get("dependency"),
                "http_status": span.get("http_status"),
                "retry_count": span.get("retry_count"),
                "retry_wait_ms": span.get("retry_wait_ms"),
                "error_fingerprint": span.get("error_fingerprint") if failed else None,
                "failed_checks": span.get("failed_checks"),
                "model": span.get("model"),
                "input_tokens": span.get("input_tokens"),
                "output_tokens": span.get("output_tokens"),
            }
        )


_ATTEMPT_KINDS = (sc.KIND_HTTP, sc.KIND_LLM)


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
