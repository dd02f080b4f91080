"""`/`: every agent, version and environment with its status and why, at a glance."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from firstwatch.analytics.status import SEVERITY_ORDER
from firstwatch.server.api.agents import AgentSummary, list_agents
from firstwatch.server.api.deps import state_of
from firstwatch.server.api.drift import STAGING, get_drift
from firstwatch.server.api.errors import Key, counts_by_agent
from firstwatch.server.api.runs import list_runs
from firstwatch.server.auth import Principal
from firstwatch.server.pages.context import PageError, Window, signed_in, viewer
from firstwatch.server.pages.layout import (
    badge,
    e,
    href,
    ms,
    page,
    pct,
    q,
    table,
    td,
    window_links,
)
from firstwatch.server.timeparse import iso
from firstwatch.store.base import RunFilter

router = APIRouter(include_in_schema=False)

LATEST_RUNS = 20
"""Runs listed under the agents."""
TOP_CLASSES = 3
"""Error classes shown per row."""
DRIFT_MAX_AGE_S = 300
"""How long the overview shows a row's drift verdict before computing it again."""
DRIFT_MEMO_SIZE = 1024
"""Most drift verdicts kept (all are dropped when it fills)."""


def agent_link(agent: str | None, params: dict[str, str | None]) -> str:
    """The agent's name, linking to its page."""
    if agent is None:
        return "<span class='muted'>(no agent)</span>"
    return f"<a href='{href('/agents/' + q(agent), params)}'>{e(agent)}</a>"


def _classes(classes: dict[str, int]) -> str:
    top = sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CLASSES]
    return ", ".join(f"<code>{e(name)}</code> {count}" for name, count in top)


@dataclass(frozen=True)
class _Drift:
    verdict: str
    reason: str
    at_ns: int


_DriftKey = tuple[str, str, str | None, str, str, str | None]


def _drift(request: Request, who: Principal, row: AgentSummary, w: Window) -> _Drift | None:
    """Input drift of a row against its default baseline (staging), for rows outside staging.

    Reading both sides' input features (up to 20,000 runs each) is the slowest part of the
    page, and drift over a window moves slowly: a verdict is kept for DRIFT_MAX_AGE_S per row
    and window, in the app's state. The agent page always computes it afresh.
    """
    if row.agent is None or row.environment == STAGING or not row.runs:
        return None
    memo: dict[_DriftKey, _Drift] | None = getattr(request.app.state, "dashboard_drift", None)
    if memo is None:
        memo = {}
        request.app.state.dashboard_drift = memo
    key = (who.project, row.agent, row.version, row.environment, w.since, w.until)
    now = time.time_ns()
    held = memo.get(key)
    if held is not None and now - held.at_ns < DRIFT_MAX_AGE_S * 1_000_000_000:
        return held
    report = get_drift(
        request,
        who,
        agent=row.agent,
        environment=row.environment,
        version=row.version,
        baseline=None,
        since=w.since_iso,
        until=w.until_iso,
    )
    if len(memo) >= DRIFT_MEMO_SIZE:
        memo.clear()
    memo[key] = _Drift(report.verdict, report.reason, now)
    return memo[key]


def _row(
    request: Request, who: Principal, row: AgentSummary, classes: dict[str, int], w: Window
) -> str:
    drift = _drift(request, who, row, w)
    params = {
        "version": row.version,
        "environment": row.environment,
        "since": w.since,
        "until": w.until,
    }
    drift_cell = (
        "<span class='muted'>–</span>"
        if drift is None
        else f"<a href='{href('/agents/' + q(row.agent), params)}#drift'>"
        f"{badge(drift.verdict, f'{drift.reason} (as of {iso(drift.at_ns)})')}</a>"
    )
    return (
        f"<tr data-agent='{e(row.agent)}' data-environment='{e(row.environment)}'>"
        + td(agent_link(row.agent, params), css="agent")
        + td(e(row.version))
        + td(e(row.environment))
        + td(badge(row.status), css="status")
        + td(e(row.reason), css="reason")
        + td(f"{row.runs:,}", numeric=True)
        + td(pct(row.error_rate), numeric=True)
        + td(pct(row.silent_failure_rate), numeric=True)
        + td(ms(row.p50_ms), numeric=True)
        + td(ms(row.p99_ms), numeric=True)
        + td(_classes(classes), css="classes")
        + td(drift_cell)
        + "</tr>"
    )


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Agents of the caller's project with their status, rates, latency, error classes and
    drift over the window (the last 24 h by default), and the latest runs."""
    try:
        who = viewer(request)
        w = Window.parse(since, until)
    except PageError as exc:
        return exc.response()
    store = state_of(request).store
    listing = list_agents(request, who, since=w.since_iso, until=w.until_iso)
    classes: dict[Key, dict[str, int]] = {
        key: got.classes
        for key, got in counts_by_agent(
            store.error_counts(RunFilter(who.project, since_ns=w.since_ns, until_ns=w.until_ns))
        ).items()
    }
    rows = sorted(
        listing.agents,
        key=lambda r: (-SEVERITY_ORDER[r.status], r.agent or "", r.environment, r.version or ""),
    )
    tally = {s: sum(r.status == s for r in rows) for s in SEVERITY_ORDER}
    summary = " · ".join(
        f"{badge(s)} {n}"
        for s, n in sorted(tally.items(), key=lambda kv: -SEVERITY_ORDER[kv[0]])
        if n
    )
    runs = list_runs(
        request,
        who,
        agent=None,
        version=None,
        environment=None,
        status=None,
        since=w.since_iso,
        until=w.until_iso,
        limit=LATEST_RUNS,
        cursor=None,
    ).runs
    if rows:
        agents_html = (
            f"<p class='note'>{summary} — status judged over the {e(w.describe())}.</p>"
            + table(
                "agent|version|environment|status|why|runs|errors|silent failures|p50|p99"
                "|top error classes|input drift",
                (
                    _row(request, who, r, classes.get((r.agent, r.version, r.environment), {}), w)
                    for r in rows
                ),
                numeric=(5, 6, 7, 8, 9),
            )
        )
    elif store.list_runs(RunFilter(project=who.project), 1, None):
        agents_html = f"<p>No runs in the {e(w.describe())}. Choose a longer window above.</p>"
    else:
        agents_html = (
            "<p>No runs yet. Point an OpenTelemetry exporter at this server "
            "(OTLP/HTTP on this port, OTLP/gRPC on 4317).</p>"
        )
    run_rows = (
        "<tr>"
        + td(e(r.start_time), css="mono")
        + td(agent_link(r.agent, {"since": w.since, "until": w.until}))
        + td(e(r.version))
        + td(e(r.environment))
        + td(badge("silent-failure" if r.silent_failure else r.status))
        + td(f"<code>{e(r.error_class)}</code>" if r.error_class else "")
        + td(ms(r.duration_ms), numeric=True)
        + td(f"<a href='/runs/{q(r.trace_id)}'><code>{e(r.trace_id)}</code></a>")
        + "</tr>"
        for r in runs
    )
    body = (
        "<h1>firstwatch</h1>"
        f"<div class='sub'>project <b>{e(who.project)}</b> · "
        f"{window_links('/', {'until': w.until}, w.since)} · "
        "<a href='/docs'>API</a> · <a href='/metrics'>metrics</a></div>"
        "<h2>Agents</h2>"
        + agents_html
        + "<h2>Latest runs</h2>"
        + (
            table(
                "start|agent|version|environment|status|error class|duration|trace",
                run_rows,
                numeric=(6,),
            )
            if runs
            else "<p>None in this window.</p>"
        )
    )
    return HTMLResponse(page("firstwatch", body, signed_in=signed_in(request)))
