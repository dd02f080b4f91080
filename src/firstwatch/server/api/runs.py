"""`/api/v1/runs`: list runs, open a trace's runs with their steps as a tree."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from firstwatch.ingest.checks import decode_checks
from firstwatch.server.api.deps import reader, state_of, window
from firstwatch.server.auth import Principal
from firstwatch.server.timeparse import iso
from firstwatch.store.base import RunFilter

router = APIRouter(prefix="/api/v1", tags=["runs"])


class Run(BaseModel):
    """One agent invocation."""

    trace_id: str
    span_id: str
    name: str | None
    agent: str | None
    version: str | None
    environment: str
    status: str
    error_class: str | None
    complete: bool
    start_time: str
    duration_ms: float
    step_count: int
    error_step_count: int
    retry_count: int
    retry_wait_ms: float
    first_attempt_ms: float | None = Field(
        None, description="Duration without retry waits and the failed attempts that were retried."
    )
    silent_failure: bool = Field(
        False, description="Ended OK but failed an output check (see failed_checks)."
    )
    failed_checks: list[str] = Field(default_factory=list)
    error_fingerprint: str | None = None
    input_preview: str | None = None
    output_preview: str | None = None


class RunPage(BaseModel):
    """A page of runs; pass `next_cursor` as `cursor` for the next."""

    runs: list[Run]
    next_cursor: str | None


class Step(BaseModel):
    """A span inside a run, with its children."""

    span_id: str
    parent_span_id: str | None
    name: str | None
    kind: str | None
    status: str
    error_class: str | None
    error_type: str | None
    error_message: str | None
    start_time: str
    duration_ms: float
    dependency: str | None
    http_status: int | None
    retry_count: int | None
    retry_wait_ms: float | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    resource_key: str | None
    resource_op: str | None
    attributes: dict[str, Any]
    events: list[dict[str, Any]]
    children: list[Step]


class RunDetail(Run):
    """A run with its attributes and its steps as a tree."""

    attributes: dict[str, Any]
    resource: dict[str, Any]
    steps: list[Step]


class Trace(BaseModel):
    """The runs of one trace."""

    trace_id: str
    runs: list[RunDetail]


def _run(row: dict[str, Any]) -> Run:
    return Run(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        name=row["name"],
        agent=row["agent"],
        version=row["version"],
        environment=row["environment"] or "unknown",
        status=row["status"],
        error_class=row["error_class"],
        complete=bool(row["complete"]),
        start_time=iso(row["start_ns"]) or "",
        duration_ms=float(row["duration_ms"] or 0.0),
        step_count=int(row["step_count"] or 0),
        error_step_count=int(row["error_step_count"] or 0),
        retry_count=int(row["retry_count"] or 0),
        retry_wait_ms=float(row["retry_wait_ms"] or 0.0),
        first_attempt_ms=row.get("first_attempt_ms"),
        silent_failure=bool(row.get("silent_failure")),
        failed_checks=decode_checks(row.get("failed_checks")),
        error_fingerprint=row.get("error_fingerprint"),
        input_preview=row.get("input_preview"),
        output_preview=row.get("output_preview"),
    )


def _encode_cursor(row: dict[str, Any]) -> str:
    raw = json.dumps([row["start_ns"], row["trace_id"], row["span_id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start, trace_id, span_id = json.loads(raw)
        return int(start), str(trace_id), str(span_id)
    except (ValueError, TypeError):
        raise HTTPException(400, "cursor is not one this server returned") from None


@router.get("/runs", response_model=RunPage)
def list_runs(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    agent: str | None = None,
    version: str | None = None,
    environment: str | None = None,
    status: Annotated[str | None, Query(pattern="^(ok|error|incomplete)$")] = None,
    since: Annotated[str | None, Query(description="RFC 3339 or relative (24h)")] = None,
    until: Annotated[str | None, Query(description="RFC 3339 or relative (1h)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> RunPage:
    """Runs, newest first, with filters and cursor pagination."""
    since_ns, until_ns = window(since, until)
    where = RunFilter(
        project=who.project,
        agent=agent,
        version=version,
        environment=environment,
        status=status,
        since_ns=since_ns,
        until_ns=until_ns,
    )
    after = _decode_cursor(cursor) if cursor else None
    rows = state_of(request).store.list_runs(where, limit + 1, after)
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(
        runs=[_run(r) for r in rows],
        next_cursor=_encode_cursor(rows[-1]) if more and rows else None,
    )


def _step(row: dict[str, Any]) -> Step:
    return Step(
        span_id=row["span_id"],
        parent_span_id=row["parent_span_id"],
        name=row["name"],
        kind=row["kind"],
        status=row["status"],
        error_class=row["error_class"],
        error_type=row["error_type"],
        error_message=row["error_message"],
        start_time=iso(row["start_ns"]) or "",
        duration_ms=float(row["duration_ms"] or 0.0),
        dependency=row["dependency"],
        http_status=row["http_status"],
        retry_count=row["retry_count"],
        retry_wait_ms=row["retry_wait_ms"],
        model=row["model"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        resource_key=row["resource_key"],
        resource_op=row["resource_op"],
        attributes=json.loads(row["attributes"] or "{}"),
        events=json.loads(row["events"] or "[]"),
        children=[],
    )


@router.get("/runs/{trace_id}", response_model=Trace)
def get_trace(request: Request, trace_id: str, who: Annotated[Principal, Depends(reader)]) -> Trace:
    """The runs of one trace, each with its steps as a tree."""
    trace_id = trace_id.lower()
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        raise HTTPException(400, "trace_id must be 32 hex characters")
    store = state_of(request).store
    runs, steps = store.trace(who.project, trace_id)
    if not runs:
        raise HTTPException(404, f"no runs in trace {trace_id}")
    spans = {r["span_id"]: r for r in store.run_spans(who.project, trace_id)}
    nodes = {row["span_id"]: (_step(row), row["run_span_id"]) for row in steps}
    roots: dict[str, list[Step]] = {}
    for node, run_id in nodes.values():
        parent = nodes.get(node.parent_span_id or "")
        if parent is not None and parent[1] == run_id:
            parent[0].children.append(node)
        else:
            roots.setdefault(run_id, []).append(node)
    details = []
    for row in runs:
        stored = spans.get(row["span_id"], {})
        details.append(
            RunDetail(
                **_run(row).model_dump(),
                attributes=json.loads(stored.get("attributes") or "{}"),
                resource=json.loads(stored.get("resource") or "{}"),
                steps=roots.get(row["span_id"], []),
            )
        )
    return Trace(trace_id=trace_id, runs=details)
