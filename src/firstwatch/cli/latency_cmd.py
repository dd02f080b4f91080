"""`firstwatch latency` and `firstwatch deps`: clients of the latency and dependency API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table

from firstwatch.cli.client import Client
from firstwatch.cli.options import (
    AgentOpt,
    EnvOpt,
    JsonOpt,
    KeyOpt,
    ServerOpt,
    SinceOpt,
    UntilOpt,
    VersionOpt,
)

out = Console()


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _print_latency(report: dict[str, Any]) -> None:
    keys = [*report["by"], *(["bucket_start"] if report["bucket_s"] else [])]
    runs = report["of"] == "runs"
    columns = [Column(k, no_wrap=True) for k in keys]
    columns += [Column(c, justify="right") for c in ("n", "p50", "p90", "p95", "p99", "max")]
    if runs:
        columns += [Column(c, justify="right") for c in ("1st p50", "1st p99", "retried ok")]
    columns += [Column(c, justify="right") for c in ("retry time", "errors")]
    title = f"{report['of']} latency, ms" + (
        f" ({report['since']} – {report['until'] or 'now'})" if report["since"] else ""
    )
    table = Table(*columns, title=title)
    for g in report["groups"]:
        cells = [str(g[k] or "") for k in keys]
        cells += [str(g["n"]), *(_ms(g[f"p{p}_ms"]) for p in (50, 90, 95, 99)), _ms(g["max_ms"])]
        if runs:
            first = g["first_attempt"] or {}
            cells += [
                _ms(first.get("p50_ms")),
                _ms(first.get("p99_ms")),
                f"{g['retried_ok']} ({_share(g['retried_ok'] / g['n'] if g['n'] else 0)})",
            ]
        cells += [_share(g["retry_time_share"]), _share(g["error_rate"])]
        table.add_row(*cells)
    out.print(table)
    if not report["groups"]:
        out.print("No runs in the window." if runs else "No steps in the window.")


def _print_retried(runs: list[dict[str, Any]]) -> None:
    if not runs:
        return
    table = Table(
        "start",
        "agent",
        "version",
        "env",
        Column("ms", justify="right"),
        Column("1st attempt", justify="right"),
        Column("lost", justify="right"),
        Column("retries", justify="right"),
        Column("trace", no_wrap=True),
        title="Runs that succeeded only after retries",
    )
    for r in runs:
        table.add_row(
            r["start_time"] or "",
            r["agent"] or "",
            r["version"] or "",
            r["environment"] or "",
            _ms(r["duration_ms"]),
            _ms(r["first_attempt_ms"]),
            _ms(r["retry_ms"]),
            str(r["retry_count"]),
            r["trace_id"],
        )
    out.print(table)


def latency(
    agent: AgentOpt = None,
    version: VersionOpt = None,
    environment: EnvOpt = None,
    steps: Annotated[bool, typer.Option("--steps", help="Steps instead of runs.")] = False,
    step: Annotated[str | None, typer.Option(help="Only steps of this name.")] = None,
    dependency: Annotated[str | None, typer.Option(help="Only steps calling this.")] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Groups, comma-separated: agent, version, environment; with --steps also step, "
            "kind, dependency (default: agent,version,environment; agent,step)."
        ),
    ] = None,
    bucket: Annotated[
        str | None, typer.Option(help="Also per time bucket: 1m, 1h, 1d (since defaults to 24h).")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    retried: Annotated[
        int, typer.Option(help="Also list this many runs that succeeded after retries (0: none).")
    ] = 5,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Exact p50/p90/p95/p99 per agent, version and environment (or step), first-attempt
    latency, and the runs that succeeded only after retries."""
    if retried < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--retried")
    of_steps = steps or step is not None or dependency is not None
    client = Client(server, key)
    cohort = {
        "agent": agent,
        "version": version,
        "environment": environment,
        "since": since,
        "until": until,
    }
    report = client.get(
        "/api/v1/latency",
        of="steps" if of_steps else "runs",
        by=by,
        step=step,
        dependency=dependency,
        bucket=bucket,
        **cohort,
    )
    slow: list[dict[str, Any]] | None = None
    if retried and not of_steps:
        slow = client.get("/api/v1/latency/retried-runs", limit=retried, **cohort)["runs"]
    if as_json:
        body = dict(report)
        if slow is not None:
            body["retried_runs"] = slow
        out.print_json(json.dumps(body))
        return
    _print_latency(report)
    if slow:
        _print_retried(slow)


def _print_deps(report: dict[str, Any], concurrency: dict[str, Any]) -> None:
    table = Table(
        Column("dependency", no_wrap=True),
        *(
            Column(c, justify="right")
            for c in ("calls", "p50", "p90", "p99", "max", "errors", "429", "timeouts")
        ),
        "top error classes",
        "slowest window",
        title=f"Dependencies, ms ({report['since']} – {report['until'] or 'now'})",
    )
    for d in report["dependencies"]:
        slowest = d["slowest"]
        table.add_row(
            d["dependency"],
            str(d["calls"]),
            *(_ms(d[f"p{p}_ms"]) for p in (50, 90, 99)),
            _ms(d["max_ms"]),
            _share(d["error_rate"]),
            _share(d["rate_limited_rate"]),
            _share(d["timeout_rate"]),
            ", ".join(f"{c['error_class']} {c['calls']}" for c in d["error_classes"][:3]),
            f"{slowest['bucket_start']} p50 {_ms(slowest['p50_ms'])}" if slowest else "",
        )
    out.print(table)
    if not report["dependencies"]:
        out.print("No dependency calls in the window.")
        return
    bands = Table(
        Column("dependency", no_wrap=True),
        Column("in flight", justify="right"),
        *(Column(c, justify="right") for c in ("calls", "errors", "429", "timeouts", "p50", "p99")),
        title="By calls in flight at the start (all agents)",
    )
    for b in concurrency["bands"]:
        low, high = b["band_low"], b["band_high"]
        bands.add_row(
            b["dependency"],
            str(low) if low == high else f"{low}–{high}",
            str(b["n"]),
            _share(b["error_rate"]),
            _share(b["rate_limited_rate"]),
            _share(b["timeout_rate"]),
            _ms(b["p50_ms"]),
            _ms(b["p99_ms"]),
        )
    out.print(bands)


def deps(
    dependency: Annotated[str | None, typer.Option(help="Only this dependency.")] = None,
    agent: Annotated[str | None, typer.Option(help="Only calls made by this agent.")] = None,
    environment: EnvOpt = None,
    bucket: Annotated[str, typer.Option(help="Time bucket of the series: 1h, 15m, 1d.")] = "1h",
    since: Annotated[
        str | None, typer.Option(help="RFC 3339 or relative (7d); default: 24h.")
    ] = None,
    until: UntilOpt = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Third-party dependencies: latency, error classes, 429 and timeout rates, the slowest
    hour, and how 429s and timeouts rise with the calls in flight."""
    client = Client(server, key)
    params = {
        "dependency": dependency,
        "agent": agent,
        "environment": environment,
        "since": since,
        "until": until,
    }
    report = client.get("/api/v1/dependencies", **params, bucket=bucket)
    concurrency = client.get("/api/v1/concurrency", of="calls", bucket=bucket, **params)
    if as_json:
        body = dict(report)
        body["concurrency_bands"] = concurrency["bands"]
        body["peaks"] = concurrency["peaks"]
        out.print_json(json.dumps(body))
        return
    _print_deps(report, concurrency)
