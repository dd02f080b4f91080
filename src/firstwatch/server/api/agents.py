"""`/api/v1/agents`: every agent, version and environment seen, with its runs in a window."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from firstwatch.analytics.status import Status
from firstwatch.server.api.deps import reader, state_of, window
from firstwatch.server.api.errors import StatusBoard
from firstwatch.server.auth import Principal
from firstwatch.server.timeparse import iso

router = APIRouter(prefix="/api/v1", tags=["agents"])


class AgentSummary(BaseModel):
    """One agent version in one environment."""

    agent: str | None
    version: str | None
    environment: str
    runs: int
    errors: int
    incomplete: int
    error_rate: float
    silent_failures: int = Field(description="Runs that ended OK but failed an output check.")
    silent_failure_rate: float
    status: Status = Field(description="healthy, degraded, failing or silent (status window).")
    reason: str = Field(description="Why, in a sentence.")
    first_seen: str | None
    last_seen: str | None
    p50_ms: float | None = Field(None, description="Median duration of its complete runs.")
    p99_ms: float | None = Field(None, description="99th percentile of the same.")


class AgentList(BaseModel):
    """Agents seen in the window."""

    agents: list[AgentSummary]
    status_since: str | None = Field(
        description="Start of the window status is judged over: `since`, else the last hour."
    )
    status_until: str | None = Field(description="Its end: `until`, else now.")


def _key(row: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return (row["agent"], row["version"], row["environment"])


_Key = tuple[str | None, str | None, str | None]


def _latency(
    request: Request, project: str, since_ns: int | None, until_ns: int | None
) -> dict[_Key, dict[str, Any]]:
    """p50 and p99 of complete runs per agent, version and environment."""
    rows = state_of(request).store.latency_summary(project, since_ns, until_ns)
    return {(r["agent"], r["version"], r["environment"]): r for r in rows}


def _quantile(latency: dict[_Key, dict[str, Any]], row: dict[str, Any], name: str) -> float | None:
    found = latency.get((row["agent"], row["version"], row["environment"]))
    return None if found is None else found[name]


@router.get("/agents", response_model=AgentList)
def list_agents(
    request: Request,
    who: Annotated[Principal, Depends(reader)],
    since: Annotated[str | None, Query(description="RFC 3339 or relative (24h)")] = None,
    until: Annotated[str | None, Query(description="RFC 3339 or relative (1h)")] = None,
) -> AgentList:
    """Agents with run and error counts for the window (all time when no window is given), and
    each one's status over the window (the last hour when no window is given); an agent gone
    silent is listed even with no runs in the window."""
    since_ns, until_ns = window(since, until)
    state = state_of(request)
    rows = state.store.agents(who.project, since_ns, until_ns)
    latency = _latency(request, who.project, since_ns, until_ns)
    board = StatusBoard(state.store, state.settings, who.project, since_ns, until_ns)
    if since_ns is not None:
        rows = rows + board.missing_rows(rows)
    health = {_key(r): board.health(*_key(r)) for r in rows}
    silent = {key: board.listed(*key).silent_failures for key in health}
    return AgentList(
        agents=[
            AgentSummary(
                agent=r["agent"],
                version=r["version"],
                environment=r["environment"] or "unknown",
                runs=r["runs"],
                errors=r["errors"],
                incomplete=r["incomplete"],
                error_rate=r["errors"] / r["runs"] if r["runs"] else 0.0,
                silent_failures=silent[_key(r)],
                silent_failure_rate=silent[_key(r)] / r["runs"] if r["runs"] else 0.0,
                status=health[_key(r)].status,
                reason=health[_key(r)].reason,
                first_seen=iso(r["first_seen_ns"]),
                last_seen=iso(r["last_seen_ns"]),
                p50_ms=_quantile(latency, r, "p50_ms"),
                p99_ms=_quantile(latency, r, "p99_ms"),
            )
            for r in rows
        ],
        status_since=iso(board.since_ns),
        status_until=iso(board.until_ns if board.until_ns is not None else board.now_ns),
    )
