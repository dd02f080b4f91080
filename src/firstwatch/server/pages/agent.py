"""`/agents/{name}`: why one agent is in the state it is in.

Its status per version and environment, its error classes with a sample message, the steps
that failed, latency over time (end to end and first attempt), the third-party services it
calls, input drift against its baseline, and its recent runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from firstwatch.server.api.agents import list_agents
from firstwatch.server.api.deps import state_of
from firstwatch.server.api.drift import PRODUCTION, STAGING, DriftReport, FeatureReport, get_drift
from firstwatch.server.api.errors import ErrorReport, errors
from firstwatch.server.api.runs import RunPage, list_runs
from firstwatch.server.auth import Principal
from firstwatch.server.pages.context import PageError, Window, signed_in, viewer
from firstwatch.server.pages.layout import (
    Series,
    badge,
    e,
    href,
    ms,
    num,
    page,
    pct,
    q,
    sparkline,
    table,
    td,
    window_links,
)
from firstwatch.server.timeparse import iso
from firstwatch.store.base import Row, RunFilter, SpanFilter, Store

router = APIRouter(include_in_schema=False)

RECENT_RUNS = 50
"""Runs listed per page."""
SAMPLE_MESSAGES = 100
"""Message groups read to find a sample message per error class."""
FEATURES_SHOWN = 20
"""Drift features listed (the most severe first)."""


class _Scope:
    """The agent, the optional version and environment, and the window a page shows."""

    def __init__(self, agent: str, version: str | None, environment: str | None, w: Window) -> None:
        self.agent = agent
        self.version = version or None
        self.environment = environment or None
        self.w = w

    def params(self, **more: str | None) -> dict[str, str | None]:
        """The query that shows this scope again, changed by `more`."""
        return {
            "version": self.version,
            "environment": self.environment,
            "since": self.w.since,
            "until": self.w.until,
            **more,
        }

    def path(self) -> str:
        return "/agents/" + q(self.agent)


def _link(s: _Scope, version: str | None, environment: str) -> str:
    target = href(s.path(), s.params(version=version, environment=environment))
    return f"<a href='{target}'>{e(version) if version is not None else '(no version)'}</a>"


def _status(request: Request, who: Principal, s: _Scope) -> str:
    rows = [
        r
        for r in list_agents(request, who, since=s.w.since_iso, until=s.w.until_iso).agents
        if r.agent == s.agent
        and (s.version is None or r.version == s.version)
        and (s.environment is None or r.environment == s.environment)
    ]
    if not rows:
        return f"<p>No runs in the {e(s.w.describe())}.</p>"
    return table(
        "version|environment|status|why|runs|errors|silent failures|p50|p99|last run",
        (
            f"<tr data-version='{e(r.version)}' data-environment='{e(r.environment)}'>"
            + td(_link(s, r.version, r.environment))
            + td(e(r.environment))
            + td(badge(r.status), css="status")
            + td(e(r.reason), css="reason")
            + td(f"{r.runs:,}", numeric=True)
            + td(pct(r.error_rate), numeric=True)
            + td(pct(r.silent_failure_rate), numeric=True)
            + td(ms(r.p50_ms), numeric=True)
            + td(ms(r.p99_ms), numeric=True)
            + td(e(r.last_seen), css="mono")
            + "</tr>"
            for r in rows
        ),
        numeric=(4, 5, 6, 7, 8),
    )


def _errors(report: ErrorReport) -> str:
    if not report.by_class:
        return (
            f"<p>No failed runs: {report.totals.runs:,} runs, "
            f"{report.totals.silent_failures:,} silent failures.</p>"
        )
    samples: dict[str, tuple[str | None, str]] = {}
    for group in report.by_fingerprint:
        samples.setdefault(group.error_class, (group.message, group.example.trace_id))
    rows = []
    for c in report.by_class:
        message, trace_id = samples.get(c.error_class, (None, ""))
        sample = (
            f"<div class='msg'>{e(message)}</div><a href='/runs/{q(trace_id)}'>example run</a>"
            if trace_id
            else ""
        )
        steps = ", ".join(f"{e(step.step or '(the run itself)')} {step.count}" for step in c.steps)
        new = " <span class='badge major' title='its baseline never had it'>new</span>"
        rows.append(
            f"<tr data-class='{e(c.error_class)}'>"
            + td(f"<code>{e(c.error_class)}</code>{new if c.new else ''}", css="class")
            + td(f"{e(c.description)}")
            + td(f"{e(c.version)} · {e(c.environment)}")
            + td(f"{c.count:,}", numeric=True)
            + td(pct(c.rate), numeric=True)
            + td(steps)
            + td(sample, css="sample")
            + "</tr>"
        )
    totals = report.totals
    return (
        f"<p class='note'>{totals.errors:,} of {totals.runs:,} runs failed "
        f"({pct(totals.error_rate)}); {totals.silent_failures:,} ended OK but failed an output "
        f"check ({pct(totals.silent_failure_rate)}). Classes new against "
        f"{e(report.baseline.description)} are marked.</p>"
        + table(
            "class|meaning|version · environment|runs|rate|from step|sample message",
            rows,
            numeric=(3, 4),
        )
    )


def _error_chart(report: ErrorReport) -> str:
    """Error and silent-failure rates per bucket of the window."""
    if not report.totals.runs:
        return ""
    buckets = report.over_time
    lines: list[Series] = [
        (
            label,
            colour,
            [None if not b.runs else getattr(b, field) / b.runs for b in buckets],
        )
        for label, colour, field in (
            ("error rate", "#dc2626", "errors"),
            ("silent-failure rate", "#d97706", "silent_failures"),
        )
    ]
    return (
        f"<p class='note'>Share of runs that failed, or ended OK but failed a check, per "
        f"{e(report.scope.bucket)} bucket.</p>"
        + sparkline(lines, [b.start for b in buckets], fmt=pct)
    )


def _failed_steps(report: ErrorReport) -> str:
    if not report.failed_steps:
        return ""
    return (
        "<h3>Failed steps</h3><p class='note'>Whether their run failed or went on (a call that "
        "was retried and then succeeded still failed once).</p>"
        + table(
            "step|kind|dependency|class|failures|in runs",
            (
                "<tr>"
                + td(e(f.step))
                + td(e(f.kind))
                + td(e(f.dependency))
                + td(f"<code>{e(f.error_class)}</code>")
                + td(f"{f.count:,}", numeric=True)
                + td(f"{f.runs:,}", numeric=True)
                + "</tr>"
                for f in report.failed_steps
            ),
            numeric=(4, 5),
        )
    )


def _share(part: float | None, whole: float | None) -> float | None:
    return None if not whole else float(part or 0) / float(whole)


def _latency_chart(series: Sequence[Row], s: _Scope, size_ns: int) -> str:
    """End-to-end p50 and p99 and first-attempt p50 per bucket (`Store.latency` rows)."""
    by_start = {int(row["bucket_ns"]): row for row in series}
    starts = s.w.bucket_starts(size_ns)
    labels = [iso(start) or "" for start in starts]
    found = [by_start.get(start) for start in starts]
    lines: list[Series] = [
        (label, colour, [None if row is None else row[key] for row in found])
        for label, colour, key in (
            ("p50", "#2563eb", "p50_ms"),
            ("p99", "#dc2626", "p99_ms"),
            ("first-attempt p50", "#16a34a", "first_attempt_p50_ms"),
        )
    ]
    rows = (
        "<tr>"
        + td(e(label), css="mono")
        + td(f"{row['n']:,}", numeric=True)
        + td(ms(row["p50_ms"]), numeric=True)
        + td(ms(row["p99_ms"]), numeric=True)
        + td(ms(row["first_attempt_p50_ms"]), numeric=True)
        + td(pct(_share(row["errors"], row["n"])), numeric=True)
        + td(pct(_share(row["retried"], row["n"])), numeric=True)
        + "</tr>"
        for label, row in zip(labels, found, strict=True)
        if row is not None
    )
    return (
        sparkline(lines, labels)
        + "<details><summary>per bucket</summary>"
        + table(
            "bucket start|runs|p50|p99|first-attempt p50|errors|retried",
            rows,
            numeric=(1, 2, 3, 4, 5, 6),
        )
        + "</details>"
    )


def _latency_totals(groups: Sequence[Row]) -> str:
    """Percentiles per version and environment (`Store.latency` rows)."""
    if not groups:
        return "<p>No complete runs in this window.</p>"
    return table(
        "version|environment|runs|p50|p90|p99|first-attempt p50|first-attempt p99"
        "|ok after retries|time lost to retries",
        (
            "<tr>"
            + td(e(g["version"]))
            + td(e(g["environment"]))
            + td(f"{g['n']:,}", numeric=True)
            + td(ms(g["p50_ms"]), numeric=True)
            + td(ms(g["p90_ms"]), numeric=True)
            + td(ms(g["p99_ms"]), numeric=True)
            + td(ms(g["first_attempt_p50_ms"]), numeric=True)
            + td(ms(g["first_attempt_p99_ms"]), numeric=True)
            + td(f"{g['retried_ok'] or 0:,}", numeric=True)
            + td(pct(_share(g["retry_ms"], g["total_ms"])), numeric=True)
            + "</tr>"
            for g in groups
        ),
        numeric=(2, 3, 4, 5, 6, 7, 8, 9),
    )


def _dependencies(store: Store, scope: SpanFilter, size_ns: int) -> str:
    """Per dependency the agent calls: latency, errors, 429s, timeouts and its slowest bucket,
    the one with the highest lower bound of its median (as `/api/v1/dependencies`)."""
    totals = store.dependency_latency(scope)
    if not totals:
        return "<p>No calls to third-party services in this window.</p>"
    classes: dict[str, list[str]] = {}
    for row in store.dependency_errors(scope):
        classes.setdefault(row["dependency"], []).append(
            f"<code>{e(row['error_class'] or 'unknown')}</code> {row['calls']}"
        )
    slowest: dict[str, Row] = {}
    for row in store.dependency_latency(scope, size_ns):
        bound = row["median_low_ms"]
        held = slowest.get(row["dependency"])
        if bound is not None and (held is None or bound > held["median_low_ms"]):
            slowest[row["dependency"]] = row
    return table(
        "dependency|calls|p50|p99|max|errors|429|timeouts|error classes|slowest bucket",
        (
            f"<tr data-dependency='{e(d['dependency'])}'>"
            + td(e(d["dependency"]))
            + td(f"{d['calls']:,}", numeric=True)
            + td(ms(d["p50_ms"]), numeric=True)
            + td(ms(d["p99_ms"]), numeric=True)
            + td(ms(d["max_ms"]), numeric=True)
            + td(pct(_share(d["errors"], d["calls"])), numeric=True)
            + td(pct(_share(d["rate_limited"], d["calls"])), numeric=True)
            + td(pct(_share(d["timeouts"], d["calls"])), numeric=True)
            + td(", ".join(classes.get(d["dependency"], [])))
            + td(_slow(slowest.get(d["dependency"])))
            + "</tr>"
            for d in totals
        ),
        numeric=(1, 2, 3, 4, 5, 6, 7),
    )


def _slow(row: Row | None) -> str:
    if row is None:
        return ""
    return f"<span class='mono'>{e(iso(row['bucket_ns']))}</span> p50 {ms(row['p50_ms'])}"


def _side(feature: FeatureReport, current: bool) -> str:
    side = feature.current if current else feature.baseline
    if feature.kind == "numeric":
        return f"p50 {num(side.p50)} · p95 {num(side.p95)} ({side.n:,})"
    top = ", ".join(f"{e(name)} {share:.0%}" for name, share in (side.top or [])[:3])
    return f"{top} ({side.n:,})"


def _drift(report: DriftReport | None) -> str:
    if report is None:
        return (
            "<p>Drift compares an environment's runs with the staging baseline: choose another "
            "environment.</p>"
        )
    head = (
        f"<p class='note'>{badge(report.verdict)} {e(report.reason)}. "
        f"{e(report.window.environment)}: {report.window.runs:,} runs; baseline: "
        f"{e(report.baseline.description)} ({report.baseline.runs:,} runs).</p>"
    )
    if report.verdict == "not_enough_data" or not report.features:
        return head
    return head + table(
        "feature|kind|severity|PSI|KS / JS|p (Holm)|baseline|now|new categories",
        (
            f"<tr data-feature='{e(f.feature)}'>"
            + td(f"<code>{e(f.feature)}</code>")
            + td(e(f.kind))
            + td(badge(f.severity))
            + td(num(f.psi), numeric=True)
            + td(num(f.ks if f.kind == "numeric" else f.js), numeric=True)
            + td(num(f.p_adjusted, 2), numeric=True)
            + td(_side(f, current=False))
            + td(_side(f, current=True))
            + td(", ".join(e(c) for c in f.novel_categories[:5]))
            + "</tr>"
            for f in report.features[:FEATURES_SHOWN]
        ),
        numeric=(3, 4, 5),
    )


def _runs(found: RunPage, s: _Scope, status: str | None) -> str:
    filters = " · ".join(
        f"<a href='{href(s.path(), s.params(status=choice))}#runs'>{label}</a>"
        for choice, label in ((None, "all"), ("error", "failed"), ("ok", "ok"))
        if choice != status
    )
    if not found.runs:
        return f"<p class='note'>{filters}</p><p>None in this window.</p>"
    rows = (
        "<tr>"
        + td(e(r.start_time), css="mono")
        + td(e(r.version))
        + td(e(r.environment))
        + td(badge("silent-failure" if r.silent_failure else r.status))
        + td(
            (f"<code>{e(r.error_class)}</code>" if r.error_class else "")
            + "".join(f" <code>{e(check)}</code>" for check in r.failed_checks)
        )
        + td(ms(r.duration_ms), numeric=True)
        + td(ms(r.first_attempt_ms), numeric=True)
        + td(str(r.retry_count), numeric=True)
        + td(str(r.step_count), numeric=True)
        + td(f"<a href='/runs/{q(r.trace_id)}'><code>{e(r.trace_id)}</code></a>")
        + "</tr>"
        for r in found.runs
    )
    more = (
        f"<p><a href='{href(s.path(), s.params(status=status, cursor=found.next_cursor))}#runs'>"
        "older runs →</a></p>"
        if found.next_cursor
        else ""
    )
    return (
        f"<p class='note'>{filters}</p>"
        + table(
            "start|version|environment|status|error class / failed checks|duration"
            "|first attempt|retries|steps|trace",
            rows,
            numeric=(5, 6, 7, 8),
        )
        + more
    )


@router.get("/agents/{name:path}", response_class=HTMLResponse)
def agent_page(
    request: Request,
    name: str,
    version: Annotated[str | None, Query()] = None,
    environment: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query()] = None,
    until: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """One agent over the window (the last 24 h by default), of one version and environment
    when given."""
    try:
        who = viewer(request)
        s = _Scope(name, version, environment, Window.parse(since, until))
        if status not in (None, "ok", "error", "incomplete"):
            raise PageError(400, "status is ok, error or incomplete")
        store = state_of(request).store
        seen = RunFilter(who.project, agent=name, version=s.version, environment=s.environment)
        if not store.list_runs(seen, 1, None):
            raise PageError(404, f"no runs of agent {name!r} with these filters")
    except PageError as exc:
        return exc.response()
    w = s.w
    bucket, size_ns = w.bucket()
    report = errors(
        request,
        who,
        agent=name,
        version=s.version,
        environment=s.environment,
        step=None,
        since=w.since_iso,
        until=w.until_iso,
        bucket=bucket,
        baseline=None,
        fingerprints=SAMPLE_MESSAGES,
    )
    runs_scope = SpanFilter(
        who.project,
        agent=name,
        version=s.version,
        environment=s.environment,
        since_ns=w.since_ns,
        until_ns=w.until_ns,
    )
    # Calls of every version of the agent, as /api/v1/dependencies filters them.
    calls_scope = replace(runs_scope, version=None)
    drift_env = s.environment or PRODUCTION
    drift = (
        None
        if drift_env == STAGING
        else get_drift(
            request,
            who,
            agent=name,
            environment=drift_env,
            version=s.version,
            baseline=None,
            since=w.since_iso,
            until=w.until_iso,
        )
    )
    try:
        recent = list_runs(
            request,
            who,
            agent=name,
            version=s.version,
            environment=s.environment,
            status=status,
            since=w.since_iso,
            until=w.until_iso,
            limit=RECENT_RUNS,
            cursor=cursor,
        )
    except HTTPException as exc:  # a cursor this server did not hand out
        return PageError(exc.status_code, str(exc.detail)).response()
    scope_words = " · ".join(
        f"{label} <b>{e(value)}</b>"
        for label, value in (("version", s.version), ("environment", s.environment))
        if value
    )
    clear = (
        f" · <a href='{href(s.path(), {'since': w.since, 'until': w.until})}'>all versions "
        "and environments</a>"
        if s.version or s.environment
        else ""
    )
    body = (
        f"<nav><a href='{href('/', {'since': w.since, 'until': w.until})}'>firstwatch</a> / "
        "agents</nav>"
        f"<h1>{e(name)}</h1>"
        f"<div class='sub'>{scope_words}{clear} · "
        f"{window_links(s.path(), s.params(), w.since)}</div>"
        "<h2 id='status'>Status</h2>"
        + _status(request, who, s)
        + "<h2 id='errors'>Error classes</h2>"
        + _errors(report)
        + _error_chart(report)
        + _failed_steps(report)
        + "<h2 id='latency'>Latency</h2>"
        + _latency_totals(store.latency(runs_scope, by=("version", "environment")))
        + f"<p class='note'>Complete runs per {e(bucket)} bucket, {e(w.describe())}.</p>"
        + _latency_chart(store.latency(runs_scope, by=(), bucket_ns=size_ns), s, size_ns)
        + "<h2 id='dependencies'>Dependencies</h2>"
        + _dependencies(store, calls_scope, size_ns)
        + f"<h2 id='drift'>Input drift ({e(drift_env)} against its baseline)</h2>"
        + _drift(drift)
        + "<h2 id='runs'>Recent runs</h2>"
        + _runs(recent, s, status)
    )
    return HTMLResponse(page(f"{name} · firstwatch", body, signed_in=signed_in(request)))
