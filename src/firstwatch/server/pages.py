"""The dashboard: server-rendered HTML over the same store queries as the REST API."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from firstwatch.server.api.deps import principal, state_of
from firstwatch.server.timeparse import iso
from firstwatch.store.base import RunFilter

router = APIRouter(include_in_schema=False)

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
.sub { color: #5b6475; margin-bottom: 1.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e4e7ee; }
th { font-weight: 600; color: #5b6475; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.error { color: #b42318; font-weight: 600; } .incomplete { color: #b54708; } .ok { color: #067647; }
code { font-size: 12px; color: #5b6475; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='15'>"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    """Agents and the latest runs of the caller's project."""
    try:
        who = principal(request, "read")
    except HTTPException as exc:
        return HTMLResponse(_page("firstwatch", f"<h1>firstwatch</h1><p>{_e(exc.detail)}</p>"), 401)
    store = state_of(request).store
    agents = store.agents(who.project, None, None)
    runs = store.list_runs(RunFilter(project=who.project), 50, None)
    rows = "".join(
        "<tr>"
        f"<td>{_e(a['agent'])}</td><td>{_e(a['version'])}</td><td>{_e(a['environment'])}</td>"
        f"<td class='num'>{a['runs']}</td><td class='num'>{a['errors']}</td>"
        f"<td class='num'>{(a['errors'] / a['runs'] if a['runs'] else 0):.1%}</td>"
        f"<td>{_e(iso(a['last_seen_ns']))}</td>"
        "</tr>"
        for a in agents
    )
    run_rows = "".join(
        "<tr>"
        f"<td>{_e(iso(r['start_ns']))}</td><td>{_e(r['agent'])}</td><td>{_e(r['version'])}</td>"
        f"<td>{_e(r['environment'])}</td><td class='{_e(r['status'])}'>{_e(r['status'])}</td>"
        f"<td>{_e(r['error_class'])}</td><td class='num'>{float(r['duration_ms'] or 0):,.0f}</td>"
        f"<td><a href='/api/v1/runs/{_e(r['trace_id'])}'><code>{_e(r['trace_id'])}</code></a></td>"
        "</tr>"
        for r in runs
    )
    body = (
        "<h1>firstwatch</h1>"
        f"<div class='sub'>project <b>{_e(who.project)}</b> · "
        "<a href='/docs'>API</a> · <a href='/metrics'>metrics</a></div>"
        "<h2>Agents</h2>"
        + (
            "<table><tr><th>agent</th><th>version</th><th>environment</th><th>runs</th>"
            f"<th>errors</th><th>error rate</th><th>last run</th></tr>{rows}</table>"
            if agents
            else "<p>No runs yet. Point an OpenTelemetry exporter at this server "
            "(OTLP/HTTP on this port, OTLP/gRPC on 4317).</p>"
        )
        + "<h2>Latest runs</h2>"
        + (
            "<table><tr><th>start</th><th>agent</th><th>version</th><th>environment</th>"
            "<th>status</th><th>error class</th><th>ms</th><th>trace</th></tr>"
            f"{run_rows}</table>"
            if runs
            else "<p>None yet.</p>"
        )
    )
    return HTMLResponse(_page("firstwatch", body))
